package trainjob

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polyseg/polyseg/dataset"
	"github.com/polyseg/polyseg/internal/faketrainer"
	"github.com/polyseg/polyseg/volume"
)

// collector records what a run reports.
type collector struct {
	mu     sync.Mutex
	events []Event
	lines  []Line
}

func (c *collector) options(o Options) Options {
	o.OnEvent = func(e Event) {
		c.mu.Lock()
		c.events = append(c.events, e)
		c.mu.Unlock()
	}
	o.OnLine = func(l Line) {
		c.mu.Lock()
		c.lines = append(c.lines, l)
		c.mu.Unlock()
	}
	return o
}

func (c *collector) kinds() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, e := range c.events {
		out = append(out, e.Event)
	}
	return out
}

func (c *collector) notes() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, l := range c.lines {
		if l.Stream == "polyseg" {
			out = append(out, l.Text)
		}
	}
	return strings.Join(out, "\n")
}

// fakeOptions are the options of a run of the fake trainer f on dir.
func fakeOptions(t *testing.T, f faketrainer.Fake, dir string) Options {
	t.Helper()
	py, err := Probe(context.Background(), f.Python)
	if err != nil {
		t.Fatal(err)
	}
	return Options{Dataset: dir, Name: "m1", Python: py, Trainer: f.Trainer, Grace: 300 * time.Millisecond, KillAfter: 300 * time.Millisecond}
}

// TestRunReadsProgressAndMakesTheModel runs the fake trainer to the end:
// the command it gets (the worklist's done cases in its done file, the
// profile, the validation case), its progress events in order with the
// fraction and null losses, and the model folder checked and described.
func TestRunReadsProgressAndMakesTheModel(t *testing.T) {
	dir := makeDataset(t, 4, "c1", "c2", "c3")
	f := faketrainer.Install(t, faketrainer.OK, "")
	var c collector
	opt := c.options(fakeOptions(t, f, dir))
	opt.ValCase, opt.Seed, opt.Profile = "c3", 7, "smoke"
	res, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "models", "m1")
	if res.Dir != out || res.Manifest.Name != "m1" || res.ValidationCase != "c3" {
		t.Errorf("result %+v", res)
	}
	if v := res.Validation["spleen"]; v == nil || *v != 0.91 {
		t.Errorf("validation %v", res.Validation)
	}
	if v, ok := res.Validation["liver"]; !ok || v != nil {
		t.Errorf("liver's validation should be there and null: %v", res.Validation)
	}
	if _, err := os.Stat(partialDir(out)); !os.IsNotExist(err) {
		t.Errorf("work folder left: %v", err)
	}

	args := f.Args()
	want := []string{"-m", "polycl", "train-dataset", "--dataset", dir, "--out", out, "--profile", "smoke", "--seed", "7"}
	if !slices.Equal(args[:len(want)], want) {
		t.Errorf("trainer arguments %q, want them to start %q", args, want)
	}
	if i := slices.Index(args, "--val-case"); i < 0 || args[i+1] != "c3" {
		t.Errorf("no --val-case c3 in %q", args)
	}
	var doneFile struct{ Done []string }
	if err := json.Unmarshal([]byte(f.DoneFile()), &doneFile); err != nil || !slices.Equal(doneFile.Done, []string{"c1", "c2", "c3"}) {
		t.Errorf("done file %q (%v), want c1, c2, c3: c4 is still to do", f.DoneFile(), err)
	}
	if _, err := os.Stat(args[slices.Index(args, "--done-file")+1]); !os.IsNotExist(err) {
		t.Errorf("the done file was not removed: %v", err)
	}

	kinds := c.kinds()
	if kinds[0] != "start" || kinds[len(kinds)-1] != "done" {
		t.Errorf("events %v", kinds)
	}
	var fractions []float64
	var nullLoss bool
	for _, e := range c.events {
		if e.Event == "step" {
			fractions = append(fractions, *e.Fraction)
			nullLoss = nullLoss || e.Loss == nil
		}
	}
	if !slices.Equal(fractions, []float64{0.2, 0.4, 0.6, 0.8, 1.0}) || !nullLoss {
		t.Errorf("step fractions %v (a null loss read: %v)", fractions, nullLoss)
	}
	if !strings.Contains(c.notes(), "running "+f.Python+" -m polycl train-dataset") {
		t.Errorf("the log does not give the command:\n%s", c.notes())
	}
}

// TestExitStatusesMapToErrors runs the fake trainer in each of its ways
// of failing: each gives a *TrainerError wrapping the error for its exit
// status and saying why in the trainer's own words, and no model folder.
func TestExitStatusesMapToErrors(t *testing.T) {
	dir := makeDataset(t, 3, "c1", "c2")
	for _, tc := range []struct {
		mode string
		want error
		says string
	}{
		{faketrainer.Dataset, ErrRefused, "case c1: label file missing"},
		{faketrainer.ArgParse, ErrRefused, "unrecognized arguments: --bogus"},
		{faketrainer.Fail, ErrFailed, "RuntimeError: CUDA out of memory"},
		{faketrainer.Crash, ErrFailed, "MemoryError: cannot allocate 9 GB"},
		{faketrainer.NoEvent, ErrFailed, "without reporting a model"},
		{faketrainer.Killed, ErrInterrupted, "signal: killed"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			f := faketrainer.Install(t, tc.mode, "")
			var c collector
			opt := c.options(fakeOptions(t, f, dir))
			opt.Name = "m_" + tc.mode
			_, err := Run(context.Background(), opt)
			var te *TrainerError
			if !errors.As(err, &te) || !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want a *TrainerError wrapping %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), "no model written") {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
			out := filepath.Join(dir, "models", opt.Name)
			for _, p := range []string{out, partialDir(out)} {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Errorf("%s is there after the failure: %v", p, err)
				}
			}
			if tc.mode == faketrainer.Killed && !strings.Contains(c.notes(), "removed "+partialDir(out)) {
				t.Errorf("the killed run's work folder was removed without saying so:\n%s", c.notes())
			}
		})
	}
}

// TestCancelStopsTheProcessGroup cancels a running training: the trainer
// (SIGINT, as Ctrl+C) and its worker, which ignores SIGINT, are gone when
// Run returns; a trainer that ignores SIGINT and SIGTERM gets SIGKILL and
// its work folder is removed by polyseg. No model folder either way.
func TestCancelStopsTheProcessGroup(t *testing.T) {
	dir := makeDataset(t, 3, "c1", "c2")
	for _, tc := range []struct {
		mode, signals string
	}{
		{faketrainer.Hang, "interrupt"},
		{faketrainer.Stubborn, "killed"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			f := faketrainer.Install(t, tc.mode, "")
			var c collector
			opt := c.options(fakeOptions(t, f, dir))
			opt.Name = "m_" + tc.mode
			ctx, cancel := context.WithCancel(context.Background())
			stepped := make(chan struct{})
			var once sync.Once
			inner := opt.OnEvent
			opt.OnEvent = func(e Event) {
				inner(e)
				if e.Event == "step" {
					once.Do(func() { close(stepped) })
				}
			}
			errc := make(chan error, 1)
			go func() {
				_, err := Run(ctx, opt)
				errc <- err
			}()
			select {
			case <-stepped:
			case err := <-errc:
				t.Fatalf("the fake ended before its first step: %v", err)
			case <-time.After(20 * time.Second):
				t.Fatal("no step in 20 s")
			}
			out := filepath.Join(dir, "models", opt.Name)
			if _, err := os.Stat(partialDir(out)); err != nil {
				t.Fatalf("the fake's work folder is not there while it runs: %v", err)
			}
			worker := f.Worker()
			if worker == 0 || !processAlive(worker) {
				t.Fatalf("the fake's worker %d is not running", worker)
			}
			cancel()
			err := <-errc
			if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "no model written") {
				t.Errorf("error %v, want one wrapping context.Canceled saying no model was written", err)
			}
			if processAlive(worker) {
				t.Errorf("the trainer's worker %d outlived the cancelled run", worker)
			}
			for _, p := range []string{out, partialDir(out)} {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Errorf("%s is there after the cancel: %v", p, err)
				}
			}
			notes := c.notes()
			if !strings.Contains(notes, "sending interrupt") {
				t.Errorf("no SIGINT sent:\n%s", notes)
			}
			if tc.mode == faketrainer.Stubborn && (!strings.Contains(notes, "sending killed") || !strings.Contains(notes, "removed "+partialDir(out))) {
				t.Errorf("the stubborn trainer was not killed and cleaned up after:\n%s", notes)
			}
		})
	}
}

// TestTorchrunWithSeveralGPUs: a probe that sees two GPUs runs the trainer
// under torch.distributed.run, one process per GPU, with the --redirects
// Debian's torchrun needs, and the "[default0]:" prefixes of its lines are
// read through; the gpu profile is chosen.
func TestTorchrunWithSeveralGPUs(t *testing.T) {
	dir := makeDataset(t, 3, "c1", "c2")
	f := faketrainer.Install(t, faketrainer.OK, `{"python": "3.11.2", "missing": {}, "torch": "2.3.0", "gpus": 2}`)
	var c collector
	opt := c.options(fakeOptions(t, f, dir))
	p, err := Prepare(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if p.Processes != 2 || p.Profile != "gpu" {
		t.Errorf("%d processes, profile %s; want 2 and gpu", p.Processes, p.Profile)
	}
	res, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "--redirects", "1", "--tee", "1", "-m", "polycl", "train-dataset"}
	if args := f.Args(); !slices.Equal(args[:len(want)], want) {
		t.Errorf("arguments %q, want them to start %q", args, want)
	}
	if k := c.kinds(); k[0] != "start" || k[len(k)-1] != "done" || res.Manifest == nil {
		t.Errorf("events %v through torchrun's prefixes", k)
	}
}

// TestPrepareRefusesBadDatasets: labels on another grid, undeclared
// values and missing labels are refused before Python starts, with the
// report of dataset.Check (polyseg dataset check's); so are a dataset
// without done cases, a validation case that is not done, an existing
// model and a model another live training writes.
func TestPrepareRefusesBadDatasets(t *testing.T) {
	other, _ := phantoms.scans[0], phantoms.labels[0]
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, dir string)
		says  string
	}{
		{"another grid", func(t *testing.T, dir string) {
			g := other.Grid
			g.Dims[2] = 5
			v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
			if err := volume.WriteLabels(filepath.Join(dir, "labelsTr", "c2.nii.gz"), volume.NewLabels(g), v); err != nil {
				t.Fatal(err)
			}
		}, "case c2: labelsTr/c2.nii.gz: label file not on its image's grid"},
		{"undeclared value", func(t *testing.T, dir string) {
			l := volume.NewLabels(other.Grid)
			l.Data[7] = 200
			if err := volume.WriteLabels(filepath.Join(dir, "labelsTr", "c1.nii.gz"), l, other); err != nil {
				t.Fatal(err)
			}
		}, "case c1: labelsTr/c1.nii.gz: label values not declared in dataset.json: 200 (1 voxels)"},
		{"missing label", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "labelsTr", "c3.nii.gz")); err != nil {
				t.Fatal(err)
			}
		}, "case c3: labelsTr/c3.nii.gz: label file missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := makeDataset(t, 3, "c1", "c2", "c3")
			tc.spoil(t, dir)
			f := faketrainer.Install(t, faketrainer.OK, "")
			_, err := Run(context.Background(), fakeOptions(t, f, dir))
			var ce *dataset.CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a *dataset.CheckError", err)
			}
			d, _ := dataset.Open(context.Background(), dir, dataset.Options{})
			r, _ := d.Check(context.Background(), nil)
			if err.Error() != r.Err().Error() || !slices.Equal(ce.Report.Problems, r.Problems) {
				t.Errorf("refusal %q %v differs from the check's %q %v", err, ce.Report.Problems, r.Err(), r.Problems)
			}
			var found bool
			for _, p := range ce.Report.Problems {
				found = found || strings.HasPrefix(p.String(), tc.says)
			}
			if !found {
				t.Errorf("problems %v do not say %q", ce.Report.Problems, tc.says)
			}
			if f.Args() != nil {
				t.Errorf("the trainer ran: %q", f.Args())
			}
		})
	}

	t.Run("refusals", func(t *testing.T) {
		dir := makeDataset(t, 3, "c1")
		f := faketrainer.Install(t, faketrainer.OK, "")
		for _, tc := range []struct {
			name string
			opt  func(*Options)
			says string
		}{
			{"val case not done", func(o *Options) { o.ValCase = "c2" }, `validation case "c2" is not among the cases trained on`},
			{"no such case", func(o *Options) { o.Cases = []string{"c1", "c9"} }, `no case "c9"`},
			{"bad name", func(o *Options) { o.Name = "../up" }, `model name "../up"`},
		} {
			opt := fakeOptions(t, f, dir)
			tc.opt(&opt)
			if _, err := Prepare(context.Background(), opt); err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("%s: error %v, want it to say %q", tc.name, err, tc.says)
			}
		}
		// No case done at all.
		empty := makeDataset(t, 2)
		if _, err := Prepare(context.Background(), fakeOptions(t, f, empty)); !errors.Is(err, ErrNoDoneCase) {
			t.Errorf("error %v, want ErrNoDoneCase", err)
		}
		// An existing model, then another training's work folder.
		out := filepath.Join(dir, "models", "m1")
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := Prepare(context.Background(), fakeOptions(t, f, dir)); err == nil || !strings.Contains(err.Error(), "exists") {
			t.Errorf("an existing model: %v", err)
		}
		opt := fakeOptions(t, f, dir)
		opt.Force = true
		if err := os.MkdirAll(partialDir(out), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(partialDir(out), "pid"), []byte("1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Prepare(context.Background(), opt); err == nil || !strings.Contains(err.Error(), "(process 1) is writing") {
			t.Errorf("a live training's work folder: %v", err)
		}
	})
}

// TestLeftoversOfAKilledRunAreRemoved: a work folder whose process is
// gone (polyseg and the trainer killed with -9) is removed by the next
// run, which says so.
func TestLeftoversOfAKilledRunAreRemoved(t *testing.T) {
	dir := makeDataset(t, 3, "c1", "c2")
	f := faketrainer.Install(t, faketrainer.OK, "")
	out := filepath.Join(dir, "models", "m1")
	if err := os.MkdirAll(partialDir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(partialDir(out), "m1.onnx"), []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	dead := deadPID(t)
	if err := os.WriteFile(filepath.Join(partialDir(out), "pid"), []byte(dead+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var c collector
	res, err := Run(context.Background(), c.options(fakeOptions(t, f, dir)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Removed, partialDir(out)) || !strings.Contains(c.notes(), "left by a training that was killed") {
		t.Errorf("removed %v; notes:\n%s", res.Removed, c.notes())
	}
}
