package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
	"slices"
	"time"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/propagate"
	"github.com/polyseg/polyseg/internal/atomicfile"
	"github.com/polyseg/polyseg/volume"
)

// Provenance says what made one edit of the labels: the tool or model, its
// prompts and options, and when. Every export and autosave carries the
// provenance of the edits in effect in a JSON sidecar, so that a label file
// used to train a model can say which voxels a person drew and which a
// model proposed.
type Provenance struct {
	// Tool names what made the edit: "brush", "eraser", "sam-box",
	// "propagate", "segment", "sam-refine", "load", "restore-autosave"...
	Tool string `json:"tool"`
	// Labels are the label values the edit wrote.
	Labels []uint16 `json:"labels,omitempty"`
	// Models are the model files that ran, with their checksums and
	// execution providers.
	Models []onnxrt.ModelRef `json:"models,omitempty"`
	// Engine is the propagation engine and its options, for propagation.
	Engine *propagate.EngineInfo `json:"engine,omitempty"`
	// Prompts are what the user gave the tool or model.
	Prompts *Prompts `json:"prompts,omitempty"`
	// Options are the tool's settings (brush size, HU range, thresholds).
	Options map[string]any `json:"options,omitempty"`
	// Source is the file the labels came from, for loads.
	Source string `json:"source,omitempty"`
	// Earlier is the record that came with restored labels (an
	// autosave's sidecar): what made them in an earlier session.
	Earlier []ProvenanceEntry `json:"earlier,omitempty"`
	// Started and Finished bound the computation; the edit's own time is
	// when it was applied (accepted).
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
}

// Prompts are the user's inputs to a tool or model, in voxel indices of
// the scan (i, j, k) and the views' slice numbers (from 0).
type Prompts struct {
	Boxes        []BoxPrompt   `json:"boxes,omitempty"`
	AnchorSlices []int         `json:"anchor_slices,omitempty"`
	Plane        string        `json:"plane,omitempty"`
	Points       []PointPrompt `json:"points,omitempty"`
	Strokes      int           `json:"strokes,omitempty"`
}

// BoxPrompt is a box drawn on one slice: two opposite corners.
type BoxPrompt struct {
	Plane string `json:"plane"`
	Slice int    `json:"slice"`
	A     [3]int `json:"a"`
	B     [3]int `json:"b"`
}

// PointPrompt is a click: positive for "this is the structure".
type PointPrompt struct {
	Voxel    [3]int `json:"voxel"`
	Positive bool   `json:"positive"`
}

// ProvenanceEntry is one edit in a session's record: what made it, when it
// was applied, how many voxels it changed, and whether it is undone now.
type ProvenanceEntry struct {
	ID      int        `json:"id"`
	Name    string     `json:"name"`
	Applied time.Time  `json:"applied"`
	Voxels  int        `json:"voxels"`
	Undone  bool       `json:"undone,omitempty"`
	What    Provenance `json:"what"`
}

// provenanceFormat names the sidecar's format; the number changes when its
// meaning does.
const provenanceFormat = "polyseg-provenance/1"

// ProvenanceSuffix is added to a label file's name to name its sidecar.
const ProvenanceSuffix = ".provenance.json"

// provenanceFile is the sidecar written beside every export and autosave.
type provenanceFile struct {
	Format  string            `json:"format"`
	Labels  string            `json:"labels_file"`
	Scan    provenanceScan    `json:"scan"`
	Written time.Time         `json:"written"`
	Program string            `json:"program"`
	Edits   []ProvenanceEntry `json:"edits"`
}

type provenanceScan struct {
	Path   string `json:"path,omitempty"`
	SHA256 string `json:"content_sha256"`
	Dims   [3]int `json:"dims"`
}

// programVersion names this build for provenance records.
func programVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "polyseg"
	}
	v := "polyseg " + bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			v += " " + s.Value
		}
	}
	return v
}

// provenanceLog is the session's record of edits, kept apart from the undo
// history: the history forgets old steps to bound memory, the record
// must not.
type provenanceLog struct {
	entries []ProvenanceEntry
	next    int
}

func (l *provenanceLog) clear() { *l = provenanceLog{} }

// add records an applied edit and returns its id.
func (l *provenanceLog) add(name string, p *Provenance, voxels int) int {
	l.next++
	what := Provenance{Tool: name}
	if p != nil {
		what = *p
	}
	l.entries = append(l.entries, ProvenanceEntry{ID: l.next, Name: name, Applied: time.Now().UTC(), Voxels: voxels, What: what})
	return l.next
}

// setUndone marks entry id undone or redone.
func (l *provenanceLog) setUndone(id int, undone bool) {
	for i := range l.entries {
		if l.entries[i].ID == id {
			l.entries[i].Undone = undone
		}
	}
}

// snapshot copies the entries; the lock is held.
func (l *provenanceLog) snapshot() []ProvenanceEntry { return slices.Clone(l.entries) }

// ProvenanceLog returns the record of the session's edits since the scan
// was opened, oldest first, undone ones marked.
func (s *Session) ProvenanceLog() []ProvenanceEntry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.prov.snapshot()
}

// writeProvenance writes the sidecar of the label file labels atomically.
func writeProvenance(labels string, scan provenanceScan, entries []ProvenanceEntry, perm os.FileMode) error {
	f := provenanceFile{
		Format:  provenanceFormat,
		Labels:  labels,
		Scan:    scan,
		Written: time.Now().UTC(),
		Program: programVersion(),
		Edits:   entries,
	}
	if f.Edits == nil {
		f.Edits = []ProvenanceEntry{}
	}
	path := labels + ProvenanceSuffix
	err := atomicfile.WriteFile(path, perm, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(f)
	})
	if err != nil {
		return fmt.Errorf("write provenance %s: %w", path, err)
	}
	return nil
}

// ReadProvenance reads the sidecar of label file labels.
func ReadProvenance(labels string) ([]ProvenanceEntry, error) {
	path := labels + ProvenanceSuffix
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read provenance: %w", err)
	}
	var f provenanceFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("read provenance %s: %w", path, err)
	}
	if f.Format != provenanceFormat {
		return nil, fmt.Errorf("read provenance %s: format %q, want %q", path, f.Format, provenanceFormat)
	}
	return f.Edits, nil
}

// removeProvenance removes the sidecar of labels, if there is one.
func removeProvenance(labels string) error {
	err := os.Remove(labels + ProvenanceSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// provenanceScan describes the open scan for a sidecar; the lock is held.
func (s *Session) provenanceScan() provenanceScan {
	return provenanceScan{Path: s.path, SHA256: s.scanHash, Dims: s.vol.Dims}
}

// WriteProvenance writes the sidecar of a label file that one operation
// named name made from scan v (read from scanPath) without a session: the
// command line's outputs get the same record as the app's exports.
func WriteProvenance(labels string, v *volume.Volume, scanPath, name string, p Provenance, voxels int) error {
	e := ProvenanceEntry{ID: 1, Name: name, Applied: time.Now().UTC(), Voxels: voxels, What: p}
	scan := provenanceScan{Path: scanPath, SHA256: scanHash(v), Dims: v.Dims}
	return writeProvenance(labels, scan, []ProvenanceEntry{e}, 0o644)
}
