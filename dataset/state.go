package dataset

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/polyseg/polyseg/internal/atomicfile"
	"github.com/polyseg/polyseg/internal/lockfile"
)

// Status is a case's place on the worklist.
type Status string

// The statuses, in the order a worklist shows them. A case that nobody
// has touched is ToDo.
const (
	ToDo        Status = "todo"
	InProgress  Status = "in_progress"
	NeedsReview Status = "needs_review"
	Done        Status = "done"
	Skipped     Status = "skipped"
)

// Statuses lists every status.
var Statuses = []Status{ToDo, InProgress, NeedsReview, Done, Skipped}

// String returns the status for people: "to do", "in progress", ...
func (s Status) String() string {
	if s == ToDo {
		return "to do"
	}
	return strings.ReplaceAll(string(s), "_", " ")
}

// ParseStatus accepts a status as stored ("needs_review") or as String
// writes it ("needs review"), in any case; "todo" also as "to do".
func ParseStatus(s string) (Status, error) {
	k := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), " ", "_")
	if k == "to_do" {
		k = "todo"
	}
	for _, st := range Statuses {
		if string(st) == k {
			return st, nil
		}
	}
	return "", fmt.Errorf("unknown status %q (want one of to do, in progress, needs review, done, skipped)", s)
}

// State is a case's worklist state.
type State struct {
	Status Status
	// User and Host name who last changed the case (its labels or its
	// state); empty for a case nobody has touched.
	User, Host string
	// EditTime is the active editing time spent on the case, summed over
	// sessions as the app reports it.
	EditTime time.Duration
	Note     string
	// Updated is when the state was last written.
	Updated time.Time
}

// stateFile is State as stored in polyseg/cases/CASE.json.
type stateFile struct {
	Status      Status    `json:"status"`
	User        string    `json:"user,omitempty"`
	Host        string    `json:"host,omitempty"`
	EditSeconds float64   `json:"edit_seconds"`
	Note        string    `json:"note,omitempty"`
	Updated     time.Time `json:"updated,omitzero"`
}

// maxStateFile bounds the state file read; a note of a few pages fits.
const maxStateFile = 1 << 20

// maxEditSeconds bounds a stored editing time (a century), so that a
// hand-edited file cannot overflow a time.Duration.
const maxEditSeconds = 100 * 365 * 24 * 3600

func (d *Dataset) statePath(id string) string { return d.path(StateDir, casesDir, id+".json") }

// State returns the worklist state of case id: ToDo with nothing else for
// a case that has none stored (and for every case of a plain folder).
func (d *Dataset) State(id string) (State, error) {
	if d.Layout == Plain {
		return State{Status: ToDo}, nil
	}
	return readState(d.statePath(id))
}

func readState(path string) (State, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{Status: ToDo}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("read %s: %w", path, pathCause(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateFile+1))
	if err != nil {
		return State{}, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxStateFile {
		return State{}, fmt.Errorf("read %s: larger than %d bytes", path, maxStateFile)
	}
	var s stateFile
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("read %s: %w", path, err)
	}
	if _, err := ParseStatus(string(s.Status)); err != nil {
		return State{}, fmt.Errorf("read %s: %w", path, err)
	}
	if !(s.EditSeconds >= 0 && s.EditSeconds <= maxEditSeconds) {
		return State{}, fmt.Errorf("read %s: edit_seconds %g out of range", path, s.EditSeconds)
	}
	return State{Status: s.Status, User: s.User, Host: s.Host, Note: s.Note, Updated: s.Updated,
		EditTime: time.Duration(math.Round(s.EditSeconds * float64(time.Second)))}, nil
}

func writeState(path string, s State) error {
	if err := os.MkdirAll(filepath.Dir(path), dirPerm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	b, err := json.MarshalIndent(stateFile{Status: s.Status, User: s.User, Host: s.Host,
		EditSeconds: math.Round(s.EditTime.Seconds()*1000) / 1000, Note: s.Note, Updated: s.Updated}, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	err = atomicfile.WriteFile(path, 0o644, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Entry is one line of the worklist.
type Entry struct {
	Case  Case
	State State
	// Lock says whether the case is open in an app, whose, and whether
	// that holder looks gone.
	Lock LockStatus
	// Err is why State or Lock could not be read; the rest of the entry is
	// then the defaults.
	Err error
}

// Worklist returns every case with its state and lock, in case order.
func (d *Dataset) Worklist() []Entry {
	out := make([]Entry, len(d.Cases))
	for i, c := range d.Cases {
		e := Entry{Case: c}
		e.State, e.Err = d.State(c.ID)
		if e.Err == nil && d.Layout != Plain {
			e.Lock, e.Err = lockfile.Inspect(d.lockPath(c.ID), d.opt.lockOptions())
		}
		if e.Err != nil {
			e.State = State{Status: ToDo}
		}
		out[i] = e
	}
	return out
}
