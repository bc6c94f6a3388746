package trainjob

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Event is one progress line of the trainer (training/polycl/loop.py,
// PROGRESS_FORMAT): a JSON object per line on its stdout. Members a kind
// of event does not carry are zero; numbers the trainer may write as null
// are pointers.
type Event struct {
	// Event is the kind: start, phase, step, epoch, warning, done, error.
	Event string `json:"event"`
	// Phase is check, cache, pretrain, finetune, validate or export.
	Phase string `json:"phase"`
	// Epoch and Step count from 1, of Epochs and Steps.
	Epoch  int      `json:"epoch"`
	Epochs int      `json:"epochs"`
	Step   int      `json:"step"`
	Steps  int      `json:"steps"`
	Loss   *float64 `json:"loss"` // null where PyTorch's was NaN
	// Fraction estimates the share of the run's training done, 0..1.
	Fraction *float64 `json:"fraction"`
	// ValDice is an epoch's validation Dice, one per label.
	ValDice []*float64 `json:"val_dice"`
	// Message is a warning's or an error's text; Kind an error's kind:
	// dataset, usage, interrupted or failed.
	Message string `json:"message"`
	Kind    string `json:"kind"`
	// Model and Manifest are a done event's model folder and manifest;
	// Validation its held-out Dice per label name (nil: none held out).
	Model      string              `json:"model"`
	Manifest   string              `json:"manifest"`
	Validation map[string]*float64 `json:"validation"`
	// Out, Dataset, Seed and PID are the start event's.
	Out     string `json:"out"`
	Dataset string `json:"dataset"`
	Seed    *int   `json:"seed"`
	PID     int    `json:"pid"`
	// Time is Unix seconds; Elapsed the seconds since the trainer started.
	Time    float64 `json:"time"`
	Elapsed float64 `json:"elapsed_s"`
}

// rankPrefix is what torchrun's --tee puts before each line of a worker:
// "[default0]:".
var rankPrefix = regexp.MustCompile(`^\[[A-Za-z_]*[0-9]+\]:`)

// maxLine bounds the lines read from the trainer; a longer one is cut
// there and is not an event.
const maxLine = 1 << 20

// ParseLine reads one line of the trainer's output. It reports ok when the
// line is a progress event; any other line (a message, a warning Python
// printed) is not one, and is no error. A line that looks like an event (a
// JSON object) but does not parse, or has no "event", is an error.
func ParseLine(line []byte) (e Event, ok bool, err error) {
	line = bytes.TrimSpace(rankPrefix.ReplaceAll(bytes.TrimRight(line, "\r\n"), nil))
	if len(line) == 0 || line[0] != '{' {
		return Event{}, false, nil
	}
	if len(line) >= maxLine {
		return Event{}, false, fmt.Errorf("progress line of %d bytes: too long", len(line))
	}
	if err := json.Unmarshal(line, &e); err != nil {
		return Event{}, false, fmt.Errorf("progress line %.80q: %w", line, err)
	}
	if e.Event == "" {
		return Event{}, false, fmt.Errorf("progress line %.80q: no \"event\"", line)
	}
	return e, true, nil
}

// phaseNames are the phases as people read them.
var phaseNames = map[string]string{
	"check": "checking the dataset", "cache": "reading the scans", "pretrain": "pre-training (PolyCL)",
	"finetune": "fine-tuning", "validate": "validating", "export": "exporting the model",
}

// Describe says what the event reports, in a few words, for a progress
// line: "fine-tuning epoch 3/40, step 7/25, loss 0.812".
func (e Event) Describe() string {
	phase := phaseNames[e.Phase]
	if phase == "" {
		phase = e.Phase
	}
	switch e.Event {
	case "start":
		return "starting"
	case "phase":
		return phase
	case "step":
		s := fmt.Sprintf("%s epoch %d/%d, step %d/%d", phase, e.Epoch, e.Epochs, e.Step, e.Steps)
		if e.Loss != nil {
			s += fmt.Sprintf(", loss %.3f", *e.Loss)
		}
		return s
	case "epoch":
		s := fmt.Sprintf("%s epoch %d/%d done", phase, e.Epoch, e.Epochs)
		if e.Loss != nil {
			s += fmt.Sprintf(", loss %.3f", *e.Loss)
		}
		if m, n := meanOf(e.ValDice); n > 0 {
			s += fmt.Sprintf(", validation Dice %.3f", m)
		}
		return s
	case "warning":
		return "warning: " + e.Message
	case "done":
		return "done: " + e.Model
	case "error":
		return e.Kind + " error: " + e.Message
	}
	return e.Event
}

func meanOf(xs []*float64) (float64, int) {
	sum, n := 0.0, 0
	for _, x := range xs {
		if x != nil {
			sum += *x
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

// FormatDice writes a per-label Dice map as "liver 0.931, spleen 0.802":
// the labels named in order first (a manifest's order), then any others by
// name; a label without a value says "n/a".
func FormatDice(m map[string]*float64, order ...string) string {
	var names []string
	for _, n := range order {
		if _, ok := m[n]; ok && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	var rest []string
	for n := range m {
		if !slices.Contains(names, n) {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	names = append(names, rest...)
	parts := make([]string, len(names))
	for i, n := range names {
		if v := m[n]; v != nil {
			parts[i] = fmt.Sprintf("%s %.3f", n, *v)
		} else {
			parts[i] = n + " n/a"
		}
	}
	return strings.Join(parts, ", ")
}
