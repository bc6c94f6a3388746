package onnxrt

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
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
