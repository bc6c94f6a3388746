package trainjob

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/polyseg/polyseg/dataset"
)

// TestRealTrainerEndToEnd runs the trainer of training/ itself (PyTorch,
// the smoke profile: seconds) on a phantom dataset whose worklist has
// three cases done and one still to do: the model folder it makes holds a
// checked manifest with the dataset's labels, the done cases (one held out
// for validation, as three are done), the case not done among the
// unlabelled, and no work folder is left. It is skipped only where no
// Python imports torch.
func TestRealTrainerEndToEnd(t *testing.T) {
	py, err := FindPython(context.Background())
	if errors.Is(err, ErrNoPyTorch) {
		t.Skipf("PyTorch is not installed, so the real trainer cannot run: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("OMP_NUM_THREADS", "1") // a shared two-core machine
	dir := makeDataset(t, 4, "c1", "c2", "c3")
	var c collector
	opt := c.options(Options{Dataset: dir, Name: "tiny", Profile: "smoke", Seed: 1, Python: py, Trainer: "../training", Device: "cpu"})
	res, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, c.notes())
	}
	m := res.Manifest
	d, err := dataset.Open(context.Background(), dir, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	declared := d.Labels()[1:] // without the background
	if m.Activation != "softmax" || len(m.Labels) != len(declared) {
		t.Fatalf("manifest: %s with %d labels, the dataset declares %d", m.Activation, len(m.Labels), len(declared))
	}
	for i, l := range m.Labels {
		if l.Value != declared[i].Value || l.Name != declared[i].Name || l.Channel != i+1 {
			t.Errorf("manifest label %d is %+v, want channel %d, value %d, %q", i, l, i+1, declared[i].Value, declared[i].Name)
		}
	}
	tr := m.Training()
	all := append(slices.Clone(tr.Cases), tr.ValidationCase)
	slices.Sort(all)
	if !slices.Equal(all, []string{"c1", "c2", "c3"}) || tr.ValidationCase == "" || tr.Profile != "smoke" {
		t.Errorf("trained on %v, validated on %q, profile %q", tr.Cases, tr.ValidationCase, tr.Profile)
	}
	if !slices.Contains(tr.Unlabelled, "c4") {
		t.Errorf("c4, not done, is not among the unlabelled cases %v", tr.Unlabelled)
	}
	if len(res.Validation) != len(declared) || res.ValidationCase != tr.ValidationCase {
		t.Errorf("validation %v on %q", res.Validation, res.ValidationCase)
	}
	for _, f := range []string{"tiny.onnx", "tiny.json", "train.log"} {
		if _, err := os.Stat(filepath.Join(res.Dir, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(partialDir(res.Dir)); !os.IsNotExist(err) {
		t.Errorf("work folder left: %v", err)
	}
	var phases []string
	for _, e := range c.events {
		if e.Event == "phase" {
			phases = append(phases, e.Phase)
		}
	}
	if want := []string{"check", "cache", "pretrain", "finetune", "validate", "export"}; !slices.Equal(phases, want) {
		t.Errorf("phases %v, want %v", phases, want)
	}
}
