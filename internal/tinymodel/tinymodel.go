// Package tinymodel is for tests only: a tiny multi-organ U-Net made by the
// real trainer of training/ (python3 -m polycl train-dataset, the smoke
// profile with a few more fine-tuning epochs) on a dataset of four small
// phantoms, three of them done on the worklist, so that the Go side is
// tested on a model exactly as the learning loop exports it (a softmax over
// background and every label of dataset.json).
//
// Training takes seconds; the result is kept under the system's temporary
// folder, keyed by the trainer's sources and this package's recipe, so
// that the packages testing with it train once between them. Tests get a
// copy of the dataset, model included, to change as they like. Without
// PyTorch the tests that need it are skipped, saying so.
package tinymodel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/polyseg/polyseg/dataset"
	"github.com/polyseg/polyseg/phantom"
	"github.com/polyseg/polyseg/trainjob"
)

// Name is the model's name: its folder is DIR/models/tiny.
const Name = "tiny"

// Cases are the dataset's cases; Done those marked done (and trained on,
// one of them held out for validation); ToDo the one still to do.
var (
	Cases = []string{"ph1", "ph2", "ph3", "ph4"}
	Done  = []string{"ph1", "ph2", "ph3"}
	ToDo  = "ph4"
)

// recipe changes whenever what is built here changes, so that an old
// cache is not used.
const recipe = "tinymodel/1: phantom A 64x64x16, seeds 1-4, smoke profile, --epochs 20, seed 0"

// Dataset returns a copy, in a folder of the test's own, of the dataset
// with its trained model in models/tiny; it skips the test when PyTorch
// is not installed and fails it when the trainer fails.
func Dataset(t testing.TB) string {
	t.Helper()
	src := build(t)
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := copyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

// build returns the cached dataset, training it first if need be.
func build(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	trainer := filepath.Join(root, "training")
	key, err := sourceKey(trainer)
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(os.TempDir(), "polyseg-tinymodel-"+key)
	ds := filepath.Join(cache, "Dataset902_Tiny")
	if _, err := os.Stat(filepath.Join(ds, "models", Name, Name+".json")); err == nil {
		return ds
	}
	// Test binaries run in parallel: one trains, the others wait for it
	// (a lock the kernel releases if its holder dies).
	unlock, err := lock(cache + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(ds, "models", Name, Name+".json")); err == nil {
		return ds
	}
	py, err := trainjob.FindPython(context.Background())
	if errors.Is(err, trainjob.ErrNoPyTorch) {
		t.Skipf("PyTorch is not installed, so no model can be trained for this test: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	work, err := os.MkdirTemp(os.TempDir(), "polyseg-tinymodel-build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(work)
	wds := filepath.Join(work, filepath.Base(ds))
	if err := makeDataset(wds); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OMP_NUM_THREADS", "1")
	var log []string
	_, err = trainjob.Run(context.Background(), trainjob.Options{Dataset: wds, Name: Name, Profile: "smoke", Python: py,
		Trainer: trainer, Device: "cpu", Extra: []string{"--epochs", "20"},
		OnLine: func(l trainjob.Line) { log = append(log, l.Text) }})
	if err != nil {
		t.Fatalf("training the tiny model: %v\n%s", err, lastLines(log, 30))
	}
	// The slice cache is the trainer's, not the model's.
	_ = os.RemoveAll(filepath.Join(wds, "models", ".cache"))
	_ = os.RemoveAll(cache) // a build cut short
	if err := os.Rename(work, cache); err != nil {
		t.Fatalf("keep the tiny model in %s: %v", cache, err)
	}
	return ds
}

// makeDataset writes the phantoms as an nnU-Net dataset in dir, the Done
// cases marked done.
func makeDataset(dir string) error {
	ctx := context.Background()
	sc := phantom.ScannerA()
	sc.Matrix, sc.Slices = 64, 16
	d, err := dataset.Init(ctx, dir, "Tiny", dataset.Options{})
	if err != nil {
		return err
	}
	for i, id := range Cases {
		v, l, err := phantom.Generate(ctx, phantom.Options{Seed: int64(i + 1), Scanner: sc})
		if err != nil {
			return err
		}
		if _, err := d.AddCase(ctx, id, v, l, nil); err != nil {
			return err
		}
	}
	for _, id := range Done {
		l, err := d.Acquire(id)
		if err != nil {
			return err
		}
		_, err = l.UpdateState(func(s *dataset.State) { s.Status = dataset.Done })
		if rerr := l.Release(); err == nil {
			err = rerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// sourceKey hashes the trainer's Python sources and the recipe.
func sourceKey(trainer string) (string, error) {
	h := sha256.New()
	io.WriteString(h, recipe)
	var files []string
	err := filepath.WalkDir(filepath.Join(trainer, "polycl"), func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && filepath.Ext(p) == ".py" {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("trainer sources: %w", err)
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		io.WriteString(h, f[len(trainer):])
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// repoRoot finds the repository's root from the working directory: the
// folder with go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = up
	}
}

// copyTree copies the folder src to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
}

func lastLines(lines []string, n int) string {
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := ""
	for _, l := range lines {
		out += l + "\n"
	}
	return out
}
