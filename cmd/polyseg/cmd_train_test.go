package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/polyseg/polyseg/dataset"
	"github.com/polyseg/polyseg/internal/faketrainer"
	"github.com/polyseg/polyseg/internal/tinymodel"
	"github.com/polyseg/polyseg/volume"
)

// trainDataset makes, with the commands, a dataset of three phantoms
// (p1, p2, p3) with their labels, p1 and p2 marked done on the worklist.
func trainDataset(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	ph, dir := filepath.Join(tmp, "ph"), filepath.Join(tmp, "Dataset903_CLI")
	if code, out, errs := runVolumeCmd(t, "phantom", ph, "--count", "3", "--size", "48", "--slices", "10"); code != 0 {
		t.Fatalf("phantom: %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runVolumeCmd(t, "dataset", "init", "--name", "CLI", dir); code != 0 {
		t.Fatalf("dataset init: %d\n%s%s", code, out, errs)
	}
	for i, id := range []string{"p1", "p2", "p3"} {
		n := "phantom_A_000" + string(rune('1'+i)) + ".nii.gz"
		if code, out, errs := runVolumeCmd(t, "dataset", "add", "--case", id, "--labels", filepath.Join(ph, "labelsTr", n), dir, filepath.Join(ph, "imagesTr", n)); code != 0 {
			t.Fatalf("dataset add: %d\n%s%s", code, out, errs)
		}
	}
	d, err := dataset.Open(context.Background(), dir, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"p1", "p2"} {
		l, err := d.Acquire(id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.UpdateState(func(s *dataset.State) { s.Status = dataset.Done }); err != nil {
			t.Fatal(err)
		}
		l.Release()
	}
	return dir
}

// useFake makes the commands run the fake trainer in mode.
func useFake(t *testing.T, mode, probe string) faketrainer.Fake {
	t.Helper()
	f := faketrainer.Install(t, mode, probe)
	t.Setenv("POLYSEG_PYTHON", f.Python)
	t.Setenv("POLYSEG_TRAINING", f.Trainer)
	return f
}

// TestTrainRefusesBadDatasetsAsCheckDoes: labels on another grid, with
// undeclared values or missing are refused by train before Python starts,
// with the lines and the message of polyseg dataset check.
func TestTrainRefusesBadDatasetsAsCheckDoes(t *testing.T) {
	base := trainDataset(t)
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, dir string)
		says  string
	}{
		{"another grid", func(t *testing.T, dir string) {
			img, err := volume.Open(context.Background(), filepath.Join(dir, "imagesTr", "p1_0000.nii.gz"), volume.OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			g := img.Grid
			g.Dims[0] -= 8
			other := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
			if err := volume.WriteLabels(filepath.Join(dir, "labelsTr", "p2.nii.gz"), volume.NewLabels(g), other); err != nil {
				t.Fatal(err)
			}
		}, "PROBLEM: case p2: labelsTr/p2.nii.gz: label file not on its image's grid: shape 40x48x10, not 48x48x10"},
		{"undeclared value", func(t *testing.T, dir string) {
			img, err := volume.Open(context.Background(), filepath.Join(dir, "imagesTr", "p1_0000.nii.gz"), volume.OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			l := volume.NewLabels(img.Grid)
			l.Data[100], l.Data[101] = 300, 300
			if err := volume.WriteLabels(filepath.Join(dir, "labelsTr", "p1.nii.gz"), l, img); err != nil {
				t.Fatal(err)
			}
		}, "PROBLEM: case p1: labelsTr/p1.nii.gz: label values not declared in dataset.json: 300 (2 voxels)"},
		{"missing label", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "labelsTr", "p3.nii.gz")); err != nil {
				t.Fatal(err)
			}
		}, "PROBLEM: case p3: labelsTr/p3.nii.gz: label file missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "Dataset903_CLI")
			copyTree(t, base, dir)
			tc.spoil(t, dir)
			f := useFake(t, faketrainer.OK, "")
			ccode, cout, cerr := runVolumeCmd(t, "dataset", "check", dir)
			code, out, errs := runVolumeCmd(t, "train", dir)
			if ccode != 1 || code != 1 {
				t.Fatalf("exit %d (check: %d)\n%s%s", code, ccode, out, errs)
			}
			if !strings.Contains(out, tc.says) {
				t.Errorf("train does not say %q:\n%s", tc.says, out)
			}
			if out != cout {
				t.Errorf("train's report differs from dataset check's:\n%s\n---\n%s", out, cout)
			}
			if strings.Replace(errs, "polyseg train: ", "polyseg dataset: ", 1) != cerr {
				t.Errorf("train's message %q, dataset check's %q", errs, cerr)
			}
			if f.Args() != nil {
				t.Errorf("the trainer ran: %q", f.Args())
			}
		})
	}
}

// TestTrainCommand runs polyseg train with the fake trainer: the model
// folder and its validation are reported; usage errors exit 2; the
// trainer's failures and a missing PyTorch exit 1 saying why.
func TestTrainCommand(t *testing.T) {
	dir := trainDataset(t)
	f := useFake(t, faketrainer.OK, "")
	code, out, errs := runVolumeCmd(t, "train", "--name", "m1", "--profile", "smoke", "--seed", "3", dir, "--", "--pretrain", "none")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	model := filepath.Join(dir, "models", "m1")
	for _, want := range []string{"training m1 on 2 done cases", "(p1, p2): profile smoke, seed 3", "wrote " + model,
		"validation on c3 (3D Dice, largest component): spleen 0.910, liver n/a", "polyseg segment --model " + model} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"checking the dataset", "fine-tuning", "pre-training (fake)"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if args := strings.Join(f.Args(), " "); !strings.HasSuffix(args, "--pretrain none") || !strings.Contains(args, "--profile smoke --seed 3") {
		t.Errorf("trainer arguments %q", args)
	}

	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"train"}, 2, "want one dataset DIR"},
		{[]string{"train", "--profile", "fast", dir}, 2, `--profile "fast": want one of cpu30, gpu, smoke`},
		{[]string{"train", "--processes", "-1", dir}, 2, "--processes -1"},
		{[]string{"train", "--cases", ",", dir}, 2, "names no case"},
		{[]string{"train", "--name", "m1", dir}, 1, "exists: choose another name, or replace it (--force)"},
		{[]string{"train", "--val-case", "p3", dir}, 1, `validation case "p3" is not among the cases trained on (p1, p2)`},
		{[]string{"train", filepath.Join(dir, "nothing")}, 1, "nothing"},
	} {
		code, out, errs := runVolumeCmd(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.says) {
			t.Errorf("%q: exit %d, stderr %q; want %d saying %q\n%s", tc.args, code, errs, tc.code, tc.says, out)
		}
	}

	for _, tc := range []struct {
		mode, probe, says string
	}{
		{faketrainer.Fail, "", "the training failed (exit status 1): RuntimeError: CUDA out of memory; no model written"},
		{faketrainer.ArgParse, "", "refused the dataset or its arguments (exit status 2): polycl train-dataset: error: unrecognized arguments"},
		{faketrainer.OK, `{"python": "3.11.2", "missing": {"torch": "No module named 'torch'"}, "torch": "", "gpus": 0}`,
			"PyTorch not found: " + "__PY__" + " cannot import torch (No module named 'torch'); install with apt-get install python3-torch"},
	} {
		f := useFake(t, tc.mode, tc.probe)
		tc.says = strings.ReplaceAll(tc.says, "__PY__", f.Python)
		code, out, errs := runVolumeCmd(t, "train", "--name", "m_"+tc.mode, dir)
		if code != 1 || !strings.Contains(errs, tc.says) {
			t.Errorf("%s: exit %d, stderr %q; want 1 saying %q\n%s", tc.mode, code, errs, tc.says, out)
		}
	}
}

// TestTrainInterrupted: Ctrl+C (SIGINT to polyseg, as a terminal sends
// it) and kill (SIGTERM) stop the trainer's whole process group and exit
// 130 and 143; kill -9, which polyseg cannot catch, has the kernel send
// the trainer SIGTERM, so that it removes its work folder itself. Either
// way models/ is left empty.
func TestTrainInterrupted(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("signals and the parent-death signal are Linux's")
	}
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}, {syscall.SIGKILL, -1}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			dir := trainDataset(t)
			f := useFake(t, faketrainer.Hang, "")
			cmd := exec.Command(os.Args[0], "-test.run=^TestMainChild$", "--", "train", "--name", "m", dir)
			cmd.Env = append(os.Environ(), "POLYSEG_MAIN_CHILD=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for f.Worker() == 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			worker := f.Worker()
			if worker == 0 {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("the trainer never started:\n%s", stderr.String())
			}
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			code := cmd.ProcessState.ExitCode()
			if code != tc.code || (tc.code > 0 && !strings.Contains(stderr.String(), "polyseg train: interrupted")) {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			models := filepath.Join(dir, "models")
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if entries, _ := os.ReadDir(models); len(entries) == 0 && syscall.Kill(worker, 0) != nil {
					break
				}
			}
			if syscall.Kill(worker, 0) == nil {
				t.Errorf("the trainer's worker %d outlived polyseg", worker)
				syscall.Kill(worker, syscall.SIGKILL)
			}
			entries, _ := os.ReadDir(models)
			for _, e := range entries {
				t.Errorf("models/ holds %s after %v", e.Name(), tc.sig)
			}
		})
	}
}

// TestSegmentWithDatasetModel: polyseg segment --model DIR/models/NAME
// runs a model the trainer made, writing only labels it knows.
func TestSegmentWithDatasetModel(t *testing.T) {
	dir := tinymodel.Dataset(t)
	model := filepath.Join(dir, "models", tinymodel.Name)
	in := filepath.Join(dir, "imagesTr", tinymodel.ToDo+"_0000.nii.gz")
	out := filepath.Join(t.TempDir(), "seg.nii.gz")
	code, stdout, stderr := runVolumeCmd(t, "segment", "--model", model, in, out)
	if code != 0 {
		if strings.Contains(stderr, "ONNX Runtime library not found") {
			t.Skip(stderr)
		}
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "model "+tinymodel.Name+" on") {
		t.Errorf("stderr does not name the model:\n%s", stderr)
	}
	v, err := volume.Open(context.Background(), in, volume.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l, _, err := volume.LoadLabels(out, v.Grid)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := dataset.Open(context.Background(), dir, dataset.Options{})
	declared := map[uint16]bool{}
	for _, x := range d.Labels() {
		declared[x.Value] = true
	}
	found := 0
	for _, x := range l.Data {
		if x != 0 {
			found++
		}
		if !declared[x] {
			t.Fatalf("value %d is none of the dataset's labels", x)
		}
	}
	if found == 0 {
		t.Error("the model segmented nothing")
	}
}
