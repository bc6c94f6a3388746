package app

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polyseg/polyseg/dataset"
	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/unet"
	"github.com/polyseg/polyseg/internal/faketrainer"
	"github.com/polyseg/polyseg/internal/tinymodel"
	"github.com/polyseg/polyseg/trainjob"
)

// setStatus sets a case's worklist status as an annotator's app does.
func setStatus(t *testing.T, dir, id string, st dataset.Status) {
	t.Helper()
	d, err := dataset.Open(context.Background(), dir, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := d.Acquire(id)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if _, err := l.UpdateState(func(s *dataset.State) { s.Status = st }); err != nil {
		t.Fatal(err)
	}
}

// waitLog waits until the training's log has a line holding text.
func waitLog(t *testing.T, tr *Training, text string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range tr.Log() {
			if strings.Contains(l, text) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %q in the training's log:\n%s", text, strings.Join(tr.Log(), "\n"))
}

// TestWorkTrainsAndUsesTheModel trains (with the fake trainer) on the done
// cases: the open case's edits are saved into the dataset first, the
// trainer is given the worklist's done cases, and the model made becomes
// the session's segmentation model, listed as chosen; closing the dataset
// goes back to the default U-Net, and opening it again chooses its newest
// model.
func TestWorkTrainsAndUsesTheModel(t *testing.T) {
	dir := phantomDataset(t)
	setStatus(t, dir, "ph1", dataset.Done)
	setStatus(t, dir, "ph2", dataset.Done)
	a := newAnnotator(t, dir, "alice", WorkOptions{})
	a.open(t, "ph2")
	idx := paintSlab(t, a.s, 6)
	f := faketrainer.Install(t, faketrainer.OK, "")
	tr, err := a.w.Train(TrainOptions{Name: "m1", Python: f.Python, Trainer: f.Trainer})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Job.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(tr.Log(), "\n"))
	}
	d, _ := dataset.Open(context.Background(), dir, dataset.Options{})
	if l := readLabels(t, d, "ph2"); l.Data[idx[0]] != 6 {
		t.Error("the open case's edits were not saved into the dataset before training")
	}
	var done struct{ Done []string }
	if err := json.Unmarshal([]byte(f.DoneFile()), &done); err != nil || !slices.Equal(done.Done, []string{"ph1", "ph2"}) {
		t.Errorf("the trainer was given %q (%v), want ph1 and ph2", f.DoneFile(), err)
	}
	res := tr.Result()
	if res == nil || res.Manifest.Name != "m1" {
		t.Fatalf("result %+v", res)
	}
	if m := a.s.Models().ChosenUNet(); m == nil || m.Name != "m1" {
		t.Errorf("chosen model %v after training", m)
	}
	if st := a.s.ModelStatus(); st.UNet != "m1" {
		t.Errorf("model status names %q", st.UNet)
	}
	list, err := a.w.Models()
	if err != nil || len(list) != 1 || !list[0].Chosen || list[0].Training.ValidationCase != "c3" {
		t.Errorf("models %+v, %v", list, err)
	}
	if !slices.ContainsFunc(tr.Log(), func(l string) bool { return strings.Contains(l, "polyseg: model "+res.Dir+" written") }) {
		t.Errorf("log:\n%s", strings.Join(tr.Log(), "\n"))
	}
	if a.w.LastTraining() != tr {
		t.Error("the last training is not the one run")
	}

	// Choosing the default, then the model again.
	if err := a.w.UseModel(""); err != nil || a.s.Models().ChosenUNet() != nil {
		t.Errorf("back to the default: %v", err)
	}
	if err := a.w.UseModel(res.Dir); err != nil || a.s.Models().ChosenUNet().Name != "m1" {
		t.Errorf("the model again: %v", err)
	}
	if err := a.w.Close(context.Background(), LeaveOptions{}); err != nil {
		t.Fatal(err)
	}
	if m := a.s.Models().ChosenUNet(); m != nil {
		t.Errorf("the dataset's model %s stays chosen after the dataset closed", m.Name)
	}
	w2, err := OpenDataset(context.Background(), a.s, dir, WorkOptions{Dataset: dataset.Options{As: dataset.Holder{User: "alice"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close(context.Background(), LeaveOptions{Discard: true})
	if m := a.s.Models().ChosenUNet(); m == nil || m.Name != "m1" {
		t.Errorf("opening the dataset chose %v, want its newest model m1", m)
	}
}

// TestWorkTrainingCancelAndRefusals: a training runs as a cancellable job
// (cancelling leaves no model), one at a time, and closing the dataset
// cancels it; a dataset failing its check and a missing PyTorch are
// refused with errors saying what is wrong.
func TestWorkTrainingCancelAndRefusals(t *testing.T) {
	dir := phantomDataset(t)
	setStatus(t, dir, "ph1", dataset.Done)
	a := newAnnotator(t, dir, "alice", WorkOptions{})
	hang := faketrainer.Install(t, faketrainer.Hang, "")
	o := TrainOptions{Name: "m2", Python: hang.Python, Trainer: hang.Trainer, Grace: 300 * time.Millisecond, KillAfter: 300 * time.Millisecond}
	tr, err := a.w.Train(o)
	if err != nil {
		t.Fatal(err)
	}
	waitLog(t, tr, `"event": "step"`)
	if _, err := a.w.Train(o); !errors.Is(err, ErrTraining) {
		t.Errorf("a second training while one runs: %v", err)
	}
	if frac, stage := tr.Job.Progress(); frac < 0 || !strings.Contains(stage, "pre-training") {
		t.Errorf("the job reports %v %q", frac, stage)
	}
	tr.Job.Cancel()
	if err := tr.Job.Wait(); !Canceled(err) {
		t.Errorf("cancelled training ended with %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "models", "m2")); !os.IsNotExist(err) {
		t.Errorf("a cancelled training left its model: %v", err)
	}
	waitLog(t, tr, "sending interrupt")

	// A bad dataset: the label of a done case gone.
	setStatus(t, dir, "ph2", dataset.Done)
	if err := os.Remove(filepath.Join(dir, "labelsTr", "ph2.nii.gz")); err != nil {
		t.Fatal(err)
	}
	ok := faketrainer.Install(t, faketrainer.OK, "")
	tr, err = a.w.Train(TrainOptions{Python: ok.Python, Trainer: ok.Trainer})
	if err != nil {
		t.Fatal(err)
	}
	var ce *dataset.CheckError
	if err := tr.Job.Wait(); !errors.As(err, &ce) || !strings.Contains(ce.Report.Problems[0].String(), "case ph2") {
		t.Errorf("training a dataset with a label missing: %v", err)
	}
	if ok.Args() != nil {
		t.Error("the trainer ran on a dataset that fails its check")
	}

	// No PyTorch.
	bare := faketrainer.Install(t, faketrainer.OK, `{"python": "3.11.2", "missing": {"torch": "No module named 'torch'"}, "torch": "", "gpus": 0}`)
	tr, err = a.w.Train(TrainOptions{Python: bare.Python, Trainer: bare.Trainer})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Job.Wait(); !errors.Is(err, trainjob.ErrNoPyTorch) || !strings.Contains(err.Error(), "apt-get install python3-torch") {
		t.Errorf("training without PyTorch: %v", err)
	}

	// Closing the dataset cancels its training.
	other := phantomDataset(t)
	setStatus(t, other, "ph1", dataset.Done)
	b := newAnnotator(t, other, "bob", WorkOptions{})
	tr, err = b.w.Train(o)
	if err != nil {
		t.Fatal(err)
	}
	waitLog(t, tr, `"event": "step"`)
	if err := b.w.Close(context.Background(), LeaveOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Job.Wait(); !Canceled(err) {
		t.Errorf("closing the dataset left its training to end with %v", err)
	}
}

// tinyModels returns models for a test of its own (it chooses models) when
// the ONNX Runtime library is in the cache.
func tinyModels(t *testing.T) *Models {
	t.Helper()
	cache := onnxrt.DefaultCacheDir()
	if _, err := os.Stat(filepath.Join(cache, "runtime", "libonnxruntime.so.1")); err != nil {
		t.Skipf("ONNX Runtime not in %s (run scripts/fetch-runtime.sh): %v", cache, err)
	}
	m := NewModels(ModelOptions{Dirs: []string{repoModels}})
	t.Cleanup(func() { m.Close() })
	return m
}

// TestDatasetModelSegmentsAndOrdersByDoubt opens a dataset with a model
// the real trainer made: it becomes the segmentation model, Segment
// proposes its labels, and the worklist sorted by the model's doubt puts
// the remaining case the model is least sure of first, with doubts
// measured in the background, equal to the model's own confidence, and
// cached in the dataset for the next app.
func TestDatasetModelSegmentsAndOrdersByDoubt(t *testing.T) {
	dir := tinymodel.Dataset(t)
	models := tinyModels(t)
	setStatus(t, dir, "ph2", dataset.InProgress)
	s := New(Options{AutosaveDir: t.TempDir(), Models: models})
	t.Cleanup(s.Close)
	w, err := OpenDataset(context.Background(), s, dir, WorkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background(), LeaveOptions{Discard: true})
	man := models.ChosenUNet()
	if man == nil || man.Name != tinymodel.Name {
		t.Fatalf("opening the dataset chose %v, want its model", man)
	}
	if _, err := w.Open(context.Background(), tinymodel.ToDo, CaseOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	job, err := s.Segment()
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	info, ok := s.Preview()
	if !ok || !strings.Contains(info.Name, tinymodel.Name) || info.Voxels == 0 {
		t.Fatalf("preview %+v", info)
	}
	known := map[uint16]bool{}
	for _, l := range man.Labels {
		known[l.Value] = true
	}
	for _, v := range info.Values {
		if !known[v] {
			t.Errorf("Segment proposes value %d, which the model does not know", v)
		}
	}
	if u := models.LoadedUNet(); u == nil || u.Manifest().Name != tinymodel.Name {
		t.Error("the propagation's prior would not come from the dataset's model")
	}

	job, err = w.ComputeDoubts(false)
	if err != nil || job == nil {
		t.Fatalf("ComputeDoubts: %v, %v", job, err)
	}
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	doubts := w.Doubts()
	if len(doubts) != 2 {
		t.Fatalf("doubts %v, want ph2 and ph4, the cases left", doubts)
	}
	u, err := models.UNet()
	if err != nil {
		t.Fatal(err)
	}
	for id, d := range doubts {
		v, _, _, err := w.Dataset().OpenCase(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		c, err := u.Confidence(context.Background(), v, unet.ConfidenceOptions{MaxSlices: doubtSlices})
		if err != nil || d != c.Doubt() {
			t.Errorf("case %s: doubt %v, the model's confidence says %v (%v)", id, d, c.Doubt(), err)
		}
	}
	es := w.Worklist()
	SortEntriesBy(es, ByDoubt, doubts)
	first, second := es[0].Case.ID, es[1].Case.ID
	if doubts[first] < doubts[second] || !Remaining(es[1].State.Status) || Remaining(es[2].State.Status) {
		t.Errorf("sorted by doubt: %s (%v), %s (%v), then %s", first, doubts[first], second, doubts[second], es[2].Case.ID)
	}
	if j, err := w.ComputeDoubts(false); j != nil || err != nil {
		t.Errorf("measured again for the same model: %v, %v", j, err)
	}
	cached := filepath.Join(dir, dataset.StateDir, "doubt", modelKey(man), "ph4.json")
	st, err := os.Stat(cached)
	if err != nil {
		t.Fatal(err)
	}

	// Another app reads the doubts from the dataset.
	s2 := New(Options{AutosaveDir: t.TempDir(), Models: models})
	t.Cleanup(s2.Close)
	w2, err := OpenDataset(context.Background(), s2, dir, WorkOptions{Dataset: dataset.Options{As: dataset.Holder{User: "bob"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close(context.Background(), LeaveOptions{Discard: true})
	job, _ = w2.ComputeDoubts(false)
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := w2.Doubts(); got["ph4"] != doubts["ph4"] || got["ph2"] != doubts["ph2"] {
		t.Errorf("doubts read back %v, want %v", got, doubts)
	}
	if st2, _ := os.Stat(cached); !st2.ModTime().Equal(st.ModTime()) {
		t.Error("the cached doubt was measured again")
	}
}
