package trainjob

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/internal/faketrainer"
)

func TestParseLine(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		ok, bad    bool
		check      func(Event) bool
	}{
		{"step", `{"event": "step", "phase": "finetune", "epoch": 3, "epochs": 40, "step": 7, "steps": 25, "loss": 0.81, "fraction": 0.42, "time": 1.5, "elapsed_s": 3.0}`,
			true, false, func(e Event) bool {
				return e.Phase == "finetune" && e.Epoch == 3 && e.Steps == 25 && *e.Loss == 0.81 && *e.Fraction == 0.42 && e.Elapsed == 3
			}},
		{"torchrun prefix", `[default0]:{"event": "phase", "phase": "cache"}`, true, false, func(e Event) bool { return e.Phase == "cache" }},
		{"null loss and dice", `{"event": "epoch", "loss": null, "val_dice": [0.5, null]}`, true, false,
			func(e Event) bool {
				return e.Loss == nil && len(e.ValDice) == 2 && e.ValDice[1] == nil && *e.ValDice[0] == 0.5
			}},
		{"done", `{"event": "done", "model": "/d/models/m", "manifest": "/d/models/m/m.json", "validation": {"liver": 0.93, "spleen": null}}`, true, false,
			func(e Event) bool {
				return e.Model == "/d/models/m" && *e.Validation["liver"] == 0.93 && e.Validation["spleen"] == nil
			}},
		{"error", `{"event": "error", "kind": "dataset", "message": "dataset d: case x: label file missing"}`, true, false,
			func(e Event) bool { return e.Kind == "dataset" && strings.Contains(e.Message, "case x") }},
		{"crlf", "{\"event\": \"start\", \"pid\": 12}\r\n", true, false, func(e Event) bool { return e.PID == 12 }},
		{"message", "pre-trained (polycl-o+s, presence of liver on 24 of 36 slices)", false, false, nil},
		{"warning text", "[default1]:/x/common.py:175: UserWarning: Tight layout not applied.", false, false, nil},
		{"empty", "", false, false, nil},
		{"broken json", `{"event": "step", "loss": `, false, true, nil},
		{"no event", `{"phase": "check"}`, false, true, nil},
		{"NaN", `{"event": "step", "loss": NaN}`, false, true, nil},
		{"wrong type", `{"event": "step", "epoch": "three"}`, false, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, ok, err := ParseLine([]byte(tc.line))
			if ok != tc.ok || (err != nil) != tc.bad {
				t.Fatalf("ParseLine(%q) = %v, %v; want ok %v, error %v", tc.line, ok, err, tc.ok, tc.bad)
			}
			if tc.check != nil && !tc.check(e) {
				t.Errorf("ParseLine(%q) = %+v", tc.line, e)
			}
		})
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		`{"event": "step", "phase": "pretrain", "epoch": 1, "epochs": 8, "step": 2, "steps": 20, "loss": 1.59, "fraction": 0.3}`,
		`[default0]:{"event": "done", "model": "m", "validation": {"liver": null}}`,
		`{"event": "epoch", "val_dice": [null, 1.0]}`,
		`not json`, `{`, `[x]:{}`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if len(line) > 1<<16 {
			return
		}
		e, ok, err := ParseLine(line)
		if ok && (err != nil || e.Event == "") {
			t.Fatalf("ParseLine(%q) = %+v, %v, %v", line, e, ok, err)
		}
		_ = e.Describe()
	})
}

// TestLineWriter: lines split over writes, several lines in one write, a
// last line without a newline, and a line too long, cut once.
func TestLineWriter(t *testing.T) {
	var got []string
	w := &lineWriter{fn: func(b []byte) { got = append(got, string(b)) }}
	for _, s := range []string{"ab", "c\nde\n\nf", "g\n", "tail"} {
		w.Write([]byte(s))
	}
	w.flush()
	if want := []string{"abc", "de", "", "fg", "tail"}; !slices.Equal(got, want) {
		t.Errorf("lines %q, want %q", got, want)
	}
	got = nil
	long := strings.Repeat("x", maxLine+10)
	w.Write([]byte(long[:maxLine/2]))
	w.Write([]byte(long[maxLine/2:] + "\nnext\n"))
	if len(got) != 2 || len(got[0]) != maxLine || got[1] != "next" {
		t.Errorf("%d lines of lengths %v after a long one", len(got), lens(got))
	}
	if _, ok, err := ParseLine([]byte(got[0])); ok || err != nil {
		t.Errorf("a cut line parsed: %v %v", ok, err)
	}
}

func lens(ss []string) []int {
	var out []int
	for _, s := range ss {
		out = append(out, len(s))
	}
	return out
}

// TestProbe: the probe reads torch's version and the GPUs; an interpreter
// without torch, or one that does not run, is refused naming what to
// install.
func TestProbe(t *testing.T) {
	f := faketrainer.Install(t, faketrainer.OK, `{"python": "3.11.2", "missing": {}, "torch": "2.3.0", "gpus": 4}`)
	py, err := Probe(context.Background(), f.Python)
	if err != nil || py.Torch != "2.3.0" || py.GPUs != 4 || py.Version != "3.11.2" {
		t.Fatalf("probe: %+v, %v", py, err)
	}
	bare := faketrainer.Install(t, faketrainer.OK, `{"python": "3.11.2", "missing": {"torch": "No module named 'torch'", "onnx": "No module named 'onnx'"}, "torch": "", "gpus": 0}`)
	_, err = Probe(context.Background(), bare.Python)
	if !errors.Is(err, ErrNoPyTorch) || !strings.Contains(err.Error(), "apt-get install python3-torch python3-onnx") ||
		!strings.Contains(err.Error(), "No module named 'torch'") {
		t.Errorf("without torch: %v", err)
	}
	_, err = Probe(context.Background(), filepath.Join(t.TempDir(), "no-python"))
	if !errors.Is(err, ErrNoPyTorch) || !strings.Contains(err.Error(), "apt-get install python3-torch") {
		t.Errorf("no interpreter: %v", err)
	}
	// $POLYSEG_PYTHON is the only interpreter tried when it is set.
	t.Setenv(EnvPython, bare.Python)
	if _, err := FindPython(context.Background()); !errors.Is(err, ErrNoPyTorch) || !strings.Contains(err.Error(), EnvPython+"="+bare.Python) {
		t.Errorf("FindPython with %s=%s: %v", EnvPython, bare.Python, err)
	}
	t.Setenv(EnvPython, f.Python)
	if py, err := FindPython(context.Background()); err != nil || py.Exe != f.Python {
		t.Errorf("FindPython with %s set: %+v, %v", EnvPython, py, err)
	}
}

// TestFindTrainer: $POLYSEG_TRAINING wins when it holds the trainer and
// is refused when it does not; the repository's training/ is found from
// its root.
func TestFindTrainer(t *testing.T) {
	f := faketrainer.Install(t, faketrainer.OK, "")
	t.Setenv(EnvTraining, f.Trainer)
	if got, err := FindTrainer(); err != nil || got != f.Trainer {
		t.Errorf("FindTrainer = %q, %v; want %s", got, err, f.Trainer)
	}
	t.Setenv(EnvTraining, t.TempDir())
	if _, err := FindTrainer(); !errors.Is(err, ErrNoTrainer) || !strings.Contains(err.Error(), EnvTraining) {
		t.Errorf("an empty %s: %v", EnvTraining, err)
	}
	t.Setenv(EnvTraining, "")
	t.Chdir("..")
	got, err := FindTrainer()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(got, "polycl", "loop.py")); err != nil {
		t.Errorf("FindTrainer from the repository root = %s: %v", got, err)
	}
}
