package sam

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/polyseg/polyseg/inference/onnxrt"
)

const realData = "../../../shared/data/real/totalsegmentator"

var (
	rtOnce   sync.Once
	rtShared *onnxrt.Runtime
	rtErr    error

	samOnce   sync.Once
	samShared *Model
	samErr    error
)

// skipIfAbsent skips the test when a file scripts/setup.sh fetches into
// the cache was never fetched.
func skipIfAbsent(t testing.TB, files ...string) {
	t.Helper()
	cache := onnxrt.DefaultCacheDir()
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(cache, f)); errors.Is(err, fs.ErrNotExist) {
			t.Skipf("%s is absent from %s: run scripts/setup.sh", f, cache)
		}
	}
}

// testRuntime and testSAM are internal/modeltest's Runtime and SAM (which
// import this package, so its own tests cannot use them): they skip only
// when a file was never fetched, and fail when one is there and does not
// load.
func testRuntime(t testing.TB) *onnxrt.Runtime {
	t.Helper()
	if os.Getenv("POLYSEG_ORT_LIB") == "" {
		skipIfAbsent(t, "runtime/libonnxruntime.so.1")
	}
	rtOnce.Do(func() { rtShared, rtErr = onnxrt.NewRuntime(onnxrt.Options{}) })
	if rtErr != nil {
		t.Fatalf("ONNX Runtime is there but does not load: %v", rtErr)
	}
	return rtShared
}

func testSAM(t testing.TB) *Model {
	t.Helper()
	rt := testRuntime(t)
	skipIfAbsent(t, "models/sam-encoder.onnx", "models/sam-decoder.onnx")
	samOnce.Do(func() { samShared, samErr = LoadDefault(rt, Options{}) })
	if samErr != nil {
		t.Fatalf("SAM's files are there but do not load: %v", samErr)
	}
	return samShared
}
