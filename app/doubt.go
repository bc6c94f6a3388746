package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/polyseg/polyseg/dataset"
	"github.com/polyseg/polyseg/inference/unet"
	"github.com/polyseg/polyseg/internal/atomicfile"
	"github.com/polyseg/polyseg/models"
)

// The model's doubt about a case orders the worklist for active learning
// (ByDoubt): the case the current segmentation model is least sure of is
// the one whose labels teach it most. Measuring it means reading the scan
// and running the model, seconds per case, so it is computed in the
// background (ComputeDoubts) and kept per case and model in the dataset,
// polyseg/doubt/MODEL-SHA/CASE.json, for every annotator sharing it: a
// value stands while the model (its sha256) and the case's image (size and
// time) are the same.

// doubtSlices bounds the slices a doubt is measured on, evenly spread:
// enough for a scan's mean, and a second or two per case on a CPU.
const doubtSlices = 64

// DoubtJobName names the job that measures the model's doubt.
const DoubtJobName = "Model's doubt"

// doubtState is what a Work knows of its cases' doubts.
type doubtState struct {
	start  sync.Mutex         // one ComputeDoubts starts a job at a time
	model  string             // the key of the model the values are of; Work.mu guards it and what follows
	values map[string]float64 // case -> doubt
	job    *Job
	ranFor string // the key of the model job measured
}

// doubtRecord is a doubt as it is cached.
type doubtRecord struct {
	Case       string  `json:"case"`
	Model      string  `json:"model"`
	SHA256     string  `json:"sha256"`
	Image      string  `json:"image"`
	ImageSize  int64   `json:"image_size"`
	ImageTime  int64   `json:"image_mtime_ns"`
	Confidence float64 `json:"confidence"`
	Doubt      float64 `json:"doubt"`
	Pixels     int     `json:"pixels"`
	Slices     int     `json:"slices"`
	Computed   string  `json:"computed"`
}

// modelKey names a model's doubts: its name and the start of its sha256.
func modelKey(m *models.Manifest) string {
	sha := m.SHA256
	if len(sha) > 16 {
		sha = sha[:16]
	}
	return m.Name + "-" + sha
}

// currentModel returns the manifest of the session's segmentation model
// as far as it is known without loading: the chosen one, else the default
// once loaded.
func (w *Work) currentModel() *models.Manifest {
	if m := w.s.models.ChosenUNet(); m != nil {
		return m
	}
	if u := w.s.models.LoadedUNet(); u != nil {
		return u.Manifest()
	}
	return nil
}

// Doubts returns the current segmentation model's doubt about each case
// (1 - its mean confidence, unet.Confidence), as far as ComputeDoubts has
// measured it or read it from the cache; a case not in the map is not
// known yet.
func (w *Work) Doubts() map[string]float64 {
	m := w.currentModel()
	w.mu.Lock()
	defer w.mu.Unlock()
	if m == nil || w.doubt.model != modelKey(m) {
		return nil
	}
	return maps.Clone(w.doubt.values)
}

// ComputeDoubts measures, as a job of the dataset, the current
// segmentation model's doubt about every case still to do or in progress
// whose doubt is not known, reading the cache first. One runs at a time:
// while one runs, it is returned. Once one has run for the current model,
// it returns nil, until the model changes (the app may ask on every
// change) or force asks again (the worklist was reloaded). OnChange hears
// of each value.
func (w *Work) ComputeDoubts(force bool) (*Job, error) {
	if err := w.usable(); err != nil {
		return nil, err
	}
	w.doubt.start.Lock()
	defer w.doubt.start.Unlock()
	key := ""
	if m := w.currentModel(); m != nil {
		key = modelKey(m)
	}
	w.mu.Lock()
	j, ranFor := w.doubt.job, w.doubt.ranFor
	w.mu.Unlock()
	if j != nil {
		select {
		case <-j.Done():
			if !force && key != "" && ranFor == key {
				return nil, nil
			}
		default:
			return j, nil
		}
	}
	j = w.RunJob(DoubtJobName, w.computeDoubts)
	w.mu.Lock()
	w.doubt.job = j
	w.mu.Unlock()
	return j, nil
}

func (w *Work) computeDoubts(ctx context.Context, p Progress) error {
	p.Report(-1, "loading the U-Net")
	u, err := w.s.models.UNet()
	w.s.changed(ChangeModels)
	if err != nil {
		return err
	}
	man := u.Manifest()
	key := modelKey(man)
	w.mu.Lock()
	if w.doubt.model != key {
		w.doubt.model, w.doubt.values = key, map[string]float64{}
	}
	w.doubt.ranFor = key
	w.mu.Unlock()
	var todo []dataset.Case
	for _, e := range w.d.Worklist() {
		if Remaining(e.State.Status) {
			todo = append(todo, e.Case)
		}
	}
	dir := filepath.Join(w.d.Dir, dataset.StateDir, "doubt", key)
	var failed []error
	for i, c := range todo {
		if err := ctx.Err(); err != nil {
			return err
		}
		w.mu.Lock()
		_, known := w.doubt.values[c.ID]
		w.mu.Unlock()
		if known {
			continue
		}
		p.Report(float64(i)/float64(len(todo)), fmt.Sprintf("case %d/%d: %s", i+1, len(todo), c.ID))
		d, err := w.caseDoubt(ctx, u, man, dir, c)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed = append(failed, fmt.Errorf("case %s: %w", c.ID, err))
			continue
		}
		w.mu.Lock()
		if w.doubt.model == key {
			w.doubt.values[c.ID] = d
		}
		w.mu.Unlock()
		w.notify()
	}
	return errors.Join(failed...)
}

// caseDoubt returns the model's doubt about case c: the cached value
// when it is still that of the case's image, else measured and cached.
func (w *Work) caseDoubt(ctx context.Context, u *unet.Model, man *models.Manifest, dir string, c dataset.Case) (float64, error) {
	if len(c.Images) == 0 {
		return 0, errors.New("no image")
	}
	st, err := os.Stat(c.Images[0])
	if err != nil {
		return 0, err
	}
	path := filepath.Join(dir, c.ID+".json")
	if b, err := os.ReadFile(path); err == nil {
		var r doubtRecord
		if json.Unmarshal(b, &r) == nil && r.SHA256 == man.SHA256 && r.ImageSize == st.Size() && r.ImageTime == st.ModTime().UnixNano() {
			return r.Doubt, nil
		}
	}
	v, _, _, err := w.d.OpenCase(ctx, c.ID)
	if err != nil {
		return 0, err
	}
	conf, err := u.Confidence(ctx, v, unet.ConfidenceOptions{MaxSlices: doubtSlices})
	if err != nil {
		return 0, err
	}
	r := doubtRecord{Case: c.ID, Model: man.Name, SHA256: man.SHA256, Image: filepath.Base(c.Images[0]), ImageSize: st.Size(),
		ImageTime: st.ModTime().UnixNano(), Confidence: conf.Mean, Doubt: conf.Doubt(), Pixels: conf.Pixels, Slices: conf.Slices,
		Computed: time.Now().UTC().Format(time.RFC3339)}
	// The cache is a convenience: a folder others cannot write in costs
	// only the time to measure again.
	if err := os.MkdirAll(dir, 0o755); err == nil || errors.Is(err, fs.ErrExist) {
		b, _ := json.MarshalIndent(r, "", "  ")
		_ = atomicfile.WriteFile(path, 0o644, func(wr io.Writer) error {
			_, err := wr.Write(append(b, '\n'))
			return err
		})
	}
	return r.Doubt, nil
}
