package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/trainjob"
)

// TrainOptions say how to train a model on the open dataset: what polyseg
// train's flags say (trainjob.Options), the cases being the worklist's
// done ones.
type TrainOptions struct {
	// Name is the model's name (DIR/models/NAME); empty means one made
	// from the date and time.
	Name string
	// Profile is the trainer's profile; empty picks one (trainjob).
	Profile string
	Seed    int
	// ValCase is the done case held out for validation; empty lets the
	// trainer draw one when at least three are done.
	ValCase string
	Force   bool
	// Python is the interpreter (empty: $POLYSEG_PYTHON, else Debian's
	// with torch), Trainer the training/ folder (empty: found beside the
	// executable, or $POLYSEG_TRAINING); Extra further trainer arguments.
	Python, Trainer string
	Extra           []string
	// Grace and KillAfter time a cancelled training's signals (trainjob).
	Grace, KillAfter time.Duration
}

// Training is a run of the trainer on the dataset, as a job of the
// dataset (it goes on while the user moves between cases; closing the
// dataset cancels it).
type Training struct {
	Job  *Job
	Name string

	mu     sync.Mutex
	lines  []string
	result *trainjob.Result
}

// trainLogLines bounds the log a Training keeps in memory; the whole log
// of a successful run is the model folder's train.log.
const trainLogLines = 20000

// Log returns the training's log so far: the trainer's messages and
// progress lines, and polyseg's notes.
func (t *Training) Log() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.lines)
}

// Result returns the model made, once the job has succeeded; nil before
// or otherwise.
func (t *Training) Result() *trainjob.Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.result
}

func (t *Training) logf(format string, a ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, fmt.Sprintf(format, a...))
	if len(t.lines) > trainLogLines {
		t.lines = slices.Delete(t.lines, 0, len(t.lines)-trainLogLines)
	}
}

// ErrTraining is returned by Train while the dataset's previous training
// still runs.
var ErrTraining = errors.New("a training of this dataset is running")

// FindPyTorch looks for an interpreter that can run the trainer
// (trainjob.FindPython, or python when not empty), so that the app can say
// what to install before the user asks for a training. The error wraps
// trainjob.ErrNoPyTorch and names the packages.
func FindPyTorch(ctx context.Context, python string) (*trainjob.Python, error) {
	if python != "" {
		return trainjob.Probe(ctx, python)
	}
	return trainjob.FindPython(ctx)
}

// Train trains a model on the dataset's done cases, as polyseg train
// does, as a job with progress and cancel. The open case's label edits
// are saved first, so that the trainer reads them. The dataset is checked
// before the trainer starts (a *dataset.CheckError refuses it); once the
// model is made it becomes the session's segmentation model (UseModel).
func (w *Work) Train(o TrainOptions) (*Training, error) {
	if err := w.usable(); err != nil {
		return nil, err
	}
	if w.d.ReadOnly() {
		return nil, fmt.Errorf("dataset %s: a plain folder of scans cannot be trained on: make it an nnU-Net dataset first (Dataset > Make nnU-Net dataset…)", w.d.Dir)
	}
	w.mu.Lock()
	if t := w.training; t != nil {
		select {
		case <-t.Job.Done():
		default:
			w.mu.Unlock()
			return nil, ErrTraining
		}
	}
	t := &Training{Name: o.Name}
	if t.Name == "" {
		t.Name = "model-" + time.Now().Format("20060102-150405")
	}
	w.training = t
	w.mu.Unlock()

	started := make(chan struct{})
	t.Job = w.RunJob("Train "+t.Name, func(ctx context.Context, p Progress) error {
		<-started
		return w.train(ctx, p, t, o)
	})
	close(started)
	w.notify()
	return t, nil
}

// LastTraining returns the dataset's latest training, nil when there was
// none since it was opened.
func (w *Work) LastTraining() *Training {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.training
}

func (w *Work) train(ctx context.Context, p Progress, t *Training, o TrainOptions) error {
	if info, ok := w.Current(); ok && info.Unsaved && !info.ReadOnly {
		p.Report(-1, "saving case "+info.ID)
		if err := w.Save(ctx); err != nil {
			// What is in the dataset trains; the edits stay open.
			t.logf("polyseg: case %s not saved before training: %v", info.ID, err)
		}
	}
	opt := trainjob.Options{Dataset: w.d.Dir, Name: t.Name, Profile: o.Profile, Seed: o.Seed, ValCase: o.ValCase,
		Force: o.Force, Trainer: o.Trainer, Extra: o.Extra, Grace: o.Grace, KillAfter: o.KillAfter}
	p.Report(-1, "looking for PyTorch")
	var err error
	if opt.Python, err = FindPyTorch(ctx, o.Python); err != nil {
		t.logf("polyseg: %v", err)
		return err
	}
	t.logf("polyseg: PyTorch %s (%s), %d GPUs", opt.Python.Torch, opt.Python.Exe, opt.Python.GPUs)
	opt.OnCheck = func(done, total int) {
		p.Report(float64(done)/float64(max(total, 1)), fmt.Sprintf("checking the dataset, case %d/%d", done, total))
	}
	fraction := -1.0
	opt.OnLine = func(l trainjob.Line) {
		if l.Stream == "polyseg" {
			t.logf("polyseg: %s", l.Text)
		} else {
			t.logf("%s", l.Text)
		}
	}
	opt.OnEvent = func(e trainjob.Event) {
		if e.Fraction != nil {
			fraction = *e.Fraction
		}
		p.Report(fraction, e.Describe())
	}
	plan, err := trainjob.Prepare(ctx, opt)
	if err != nil {
		t.logf("polyseg: %v", err)
		return err
	}
	t.logf("polyseg: training %s on %d done cases (%v), profile %s", plan.Name, len(plan.Cases), plan.Cases, plan.Profile)
	p.Report(-1, "starting the trainer")
	res, err := plan.Run(ctx)
	if err != nil {
		t.logf("polyseg: %v", err)
		return err
	}
	t.mu.Lock()
	t.result = res
	t.mu.Unlock()
	t.logf("polyseg: model %s written in %s", res.Dir, res.Elapsed.Round(time.Second))
	w.s.models.UseUNet(res.Manifest)
	w.s.changed(ChangeModels)
	w.notify()
	return nil
}

// ModelInfo describes one of the dataset's models (DIR/models/NAME).
type ModelInfo struct {
	Name, Dir string
	// Time is when it was made.
	Time time.Time
	// Labels are the names of the labels it segments.
	Labels []string
	// Training is what its manifest says of its training: cases,
	// validation Dice, profile.
	Training models.Training
	// Err is why it cannot be used; nil when it can.
	Err error
	// Chosen reports the session's segmentation model.
	Chosen bool
}

// ModelsDir returns the folder of the dataset's models.
func (w *Work) ModelsDir() string { return filepath.Join(w.d.Dir, trainjob.ModelsDir) }

// Models lists the dataset's models, newest first.
func (w *Work) Models() ([]ModelInfo, error) {
	list, err := models.ListFolders(w.ModelsDir())
	if err != nil {
		return nil, err
	}
	chosen := w.s.models.ChosenUNet()
	out := make([]ModelInfo, len(list))
	for i, t := range list {
		mi := ModelInfo{Name: t.Name(), Dir: t.Dir, Time: t.Time, Err: t.Err}
		if t.Manifest != nil {
			for _, l := range t.Manifest.Labels {
				mi.Labels = append(mi.Labels, l.Name)
			}
			mi.Training = t.Manifest.Training()
			mi.Chosen = chosen != nil && sameFile(chosen.Path, t.Manifest.Path)
		}
		out[i] = mi
	}
	return out, nil
}

// UseModel makes the dataset's model in folder dir the session's
// segmentation model; "" goes back to the app's default U-Net.
func (w *Work) UseModel(dir string) error {
	if dir == "" {
		w.s.models.UseUNet(nil)
	} else {
		m, err := models.LoadFolder(dir)
		if err != nil {
			return err
		}
		w.s.models.UseUNet(m)
	}
	w.s.changed(ChangeModels)
	w.notify()
	return nil
}

// useNewestModel chooses the dataset's newest usable model, if it has
// one; the app's default U-Net stays otherwise.
func (w *Work) useNewestModel() {
	list, err := models.ListFolders(w.ModelsDir())
	if err != nil {
		return
	}
	for _, t := range list {
		if t.Err == nil {
			w.s.models.UseUNet(t.Manifest)
			w.s.changed(ChangeModels)
			return
		}
	}
}

// forgetModel goes back to the default U-Net when the chosen one is one
// of this dataset's, as the dataset closes.
func (w *Work) forgetModel() {
	if m := w.s.models.ChosenUNet(); m != nil && isUnder(m.Path, w.ModelsDir()) {
		w.s.models.UseUNet(nil)
		w.s.changed(ChangeModels)
	}
}

// isUnder reports whether path lies inside folder dir.
func isUnder(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
