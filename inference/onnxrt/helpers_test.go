package onnxrt

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/polyseg/polyseg/models"
)

const realData = "../../../shared/data/real/totalsegmentator"

var (
	rtOnce   sync.Once
	rtShared *Runtime
	rtErr    error
)

// testRuntime returns the process's Runtime. It skips only when the
// library was never fetched (scripts/setup.sh fetches it); a library that
// is there and does not load fails the test. (Other packages use
// internal/modeltest, which imports this one.)
func testRuntime(t testing.TB) *Runtime {
	t.Helper()
	if os.Getenv("POLYSEG_ORT_LIB") == "" {
		lib := filepath.Join(DefaultCacheDir(), "runtime", "libonnxruntime.so.1")
		if _, err := os.Stat(lib); errors.Is(err, fs.ErrNotExist) {
			t.Skipf("the ONNX Runtime library is absent (%s): run scripts/setup.sh", lib)
		}
	}
	rtOnce.Do(func() { rtShared, rtErr = NewRuntime(Options{}) })
	if rtErr != nil {
		t.Fatalf("ONNX Runtime is there but does not load: %v", rtErr)
	}
	return rtShared
}

// findModel finds the fetched model name in the runtime's model folder. It
// skips only when its files were never fetched; a manifest that is there
// and does not load fails the test.
func findModel(t testing.TB, rt *Runtime, name string) *models.Manifest {
	t.Helper()
	for _, f := range []string{name + ".json", name + ".onnx"} {
		if _, err := os.Stat(filepath.Join(rt.ModelDir(), f)); errors.Is(err, fs.ErrNotExist) {
			t.Skipf("model %s not fetched (%s absent): run scripts/setup.sh", name, f)
		}
	}
	m, err := models.Find(name, rt.ModelDir())
	if err != nil {
		t.Fatalf("model %s is there but does not load: %v", name, err)
	}
	return m
}
