package trainjob

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/polyseg/polyseg/dataset"
	"github.com/polyseg/polyseg/phantom"
	"github.com/polyseg/polyseg/volume"
)

// phantoms are small labelled phantoms, made once per test binary.
var phantoms struct {
	once   sync.Once
	scans  [3]*volume.Volume
	labels [3]*volume.Labels
	err    error
}

// makeDataset makes an nnU-Net dataset of n phantom cases c1..cn with
// their labels (liver, spleen, kidneys...), the cases in done marked done
// on the worklist, and returns its folder.
func makeDataset(t testing.TB, n int, done ...string) string {
	t.Helper()
	phantoms.once.Do(func() {
		sc := phantom.ScannerA()
		sc.Matrix, sc.Slices = 64, 12
		for i := range phantoms.scans {
			phantoms.scans[i], phantoms.labels[i], phantoms.err = phantom.Generate(context.Background(),
				phantom.Options{Seed: int64(i + 1), Scanner: sc})
			if phantoms.err != nil {
				return
			}
		}
	})
	if phantoms.err != nil {
		t.Fatal(phantoms.err)
	}
	ctx := context.Background()
	d, err := dataset.Init(ctx, filepath.Join(t.TempDir(), "Dataset901_Train"), "Train", dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		k := (i - 1) % len(phantoms.scans)
		if _, err := d.AddCase(ctx, caseID(i), phantoms.scans[k], phantoms.labels[k], nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range done {
		markDone(t, d, id)
	}
	return d.Dir
}

func caseID(i int) string { return "c" + string(rune('0'+i)) }

// markDone marks case id done, as Ctrl+Enter in the app does.
func markDone(t testing.TB, d *dataset.Dataset, id string) {
	t.Helper()
	l, err := d.Acquire(id)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if _, err := l.UpdateState(func(s *dataset.State) { s.Status = dataset.Done }); err != nil {
		t.Fatal(err)
	}
}

// deadPID returns the pid of a process that has ended.
func deadPID(t testing.TB) string {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(cmd.Process.Pid)
}
