package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// A model folder is what the trainer's learning loop (training/, python3 -m
// polycl train-dataset) writes into a dataset: DIR/models/NAME/ holding
// NAME.onnx, its manifest NAME.json, and the training's logs. The folder
// is the model: it is named by it, chosen by it, and never changed once
// written (the trainer renames it into place whole).

// LoadFolder reads the manifest of the model folder dir: dir/NAME.json,
// NAME being the folder's own name.
func LoadFolder(dir string) (*Manifest, error) {
	name := filepath.Base(filepath.Clean(dir))
	p := filepath.Join(dir, name+".json")
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("model folder %s: no %s.json in it (a model folder DIR/models/NAME holds NAME.onnx and NAME.json)", dir, name)
		}
		return nil, fmt.Errorf("model folder %s: %w", dir, err)
	}
	return Load(p)
}

// Trained is one model folder found by ListFolders.
type Trained struct {
	// Dir is the model folder; its base name is the model's name.
	Dir string
	// Manifest is nil when Err is set.
	Manifest *Manifest
	// Err is why the model cannot be used: a manifest that does not load,
	// a missing ONNX file.
	Err error
	// Time is when the manifest was written: the model's age, by which
	// the newest model of a dataset is chosen.
	Time time.Time
}

// Name returns the model's name: its folder's.
func (t Trained) Name() string { return filepath.Base(t.Dir) }

// ListFolders lists the model folders in dir (a dataset's models folder),
// newest first (ties by name). Hidden entries (the trainer's .NAME.partial
// work folders and its .cache) and loose files are not models. A missing dir
// is no error: a dataset without models. A folder whose manifest does not
// load is listed with its error, so that a damaged model is reported
// rather than silently passed over.
func ListFolders(dir string) ([]Trained, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list models in %s: %w", dir, err)
	}
	var out []Trained
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		t := Trained{Dir: filepath.Join(dir, e.Name())}
		if st, err := os.Stat(filepath.Join(t.Dir, e.Name()+".json")); err == nil {
			t.Time = st.ModTime()
		} else if errors.Is(err, fs.ErrNotExist) {
			continue // a folder of something else
		}
		t.Manifest, t.Err = LoadFolder(t.Dir)
		if t.Err == nil {
			if _, err := os.Stat(t.Manifest.ModelPath()); err != nil {
				t.Err = fmt.Errorf("model %q: %w", t.Manifest.Name, err)
			}
		}
		out = append(out, t)
	}
	slices.SortStableFunc(out, func(a, b Trained) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name(), b.Name())
	})
	return out, nil
}

// Training is what a manifest written by the learning loop says about how
// the model was made: the parts of its provenance and metrics people
// choose a model by. Fields the manifest lacks are zero.
type Training struct {
	// Cases are the cases it was fine-tuned on; ValidationCase the one
	// held out ("" when none was); Unlabelled the scans it saw only in
	// pre-training.
	Cases          []string
	ValidationCase string
	Unlabelled     []string
	// Profile names the training profile (cpu30, gpu, smoke); Seed its
	// seed; Pretraining the pre-training strategy ("none": from scratch).
	Profile     string
	Seed        *int
	Pretraining string
	// Validation is the held-out case's 3D Dice per label name; nil when
	// nothing was held out. A label's value is nil where the trainer
	// could not compute one.
	Validation map[string]*float64
}

// Training reads what the manifest's provenance and metrics say about the
// model's training. A manifest of another origin (the bundled models)
// gives a mostly empty Training, and a block that does not read as the
// learning loop writes it gives nothing: these blocks are free-form.
func (m *Manifest) Training() Training {
	var t Training
	var prov struct {
		Cases          []string        `json:"cases"`
		ValidationCase *string         `json:"validation_case"`
		Unlabelled     []string        `json:"unlabelled_cases"`
		Profile        json.RawMessage `json:"profile"`
		Seed           *int            `json:"seed"`
		Strategy       string          `json:"strategy"`
	}
	if len(m.Provenance) > 0 && json.Unmarshal(m.Provenance, &prov) == nil {
		t.Cases, t.Unlabelled, t.Seed, t.Pretraining = prov.Cases, prov.Unlabelled, prov.Seed, prov.Strategy
		if prov.ValidationCase != nil {
			t.ValidationCase = *prov.ValidationCase
		}
		var p struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(prov.Profile, &p) == nil && p.Name != "" {
			t.Profile = p.Name
		} else {
			_ = json.Unmarshal(prov.Profile, &t.Profile)
		}
	}
	var met struct {
		Validation map[string]*float64 `json:"validation"`
	}
	if len(m.Metrics) > 0 && json.Unmarshal(m.Metrics, &met) == nil {
		t.Validation = met.Validation
	}
	return t
}

// isModelFolder reports whether ref, as a command line gives it, means a
// model folder: an existing folder named with a path (DIR/models/NAME),
// or one holding its NAME.json. A bare name that happens to be a folder
// in the working directory is otherwise still a model name.
func isModelFolder(ref string) bool {
	st, err := os.Stat(ref)
	if err != nil || !st.IsDir() {
		return false
	}
	if strings.ContainsRune(ref, os.PathSeparator) {
		return true
	}
	_, err = os.Stat(filepath.Join(ref, filepath.Base(filepath.Clean(ref))+".json"))
	return err == nil
}
