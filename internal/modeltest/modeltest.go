// Package modeltest gives tests the process's ONNX Runtime and the bundled
// SAM, each loaded once per test binary. A test skips only when a file is
// really absent (the runtime or the SAM weights were never fetched, which
// scripts/setup.sh does) and says which; a file that is there and does not
// load fails the test, so that a regression in model loading cannot pass
// as a skip.
package modeltest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/sam"
)

var (
	rtOnce sync.Once
	rt     *onnxrt.Runtime
	rtErr  error

	samOnce sync.Once
	samM    *sam.Model
	samErr  error
)

// Runtime returns the process's Runtime (the default options: the cache's
// CPU library unless POLYSEG_ORT_LIB names another).
func Runtime(t testing.TB) *onnxrt.Runtime {
	t.Helper()
	if lib := os.Getenv("POLYSEG_ORT_LIB"); lib == "" {
		SkipIfAbsent(t, filepath.Join(onnxrt.DefaultCacheDir(), "runtime", "libonnxruntime.so.1"), "the ONNX Runtime library")
	}
	rtOnce.Do(func() { rt, rtErr = onnxrt.NewRuntime(onnxrt.Options{}) })
	if rtErr != nil {
		t.Fatalf("ONNX Runtime is there but does not load: %v", rtErr)
	}
	return rt
}

// SAM returns the bundled SAM, sharing the embedding cache with every
// other run on this machine so that only new slices cost the encoder.
func SAM(t testing.TB) *sam.Model {
	t.Helper()
	r := Runtime(t)
	for _, f := range []string{"sam-encoder.onnx", "sam-decoder.onnx"} {
		SkipIfAbsent(t, filepath.Join(r.ModelDir(), f), "the SAM weights")
	}
	samOnce.Do(func() { samM, samErr = sam.LoadDefault(r, sam.Options{}) })
	if samErr != nil {
		t.Fatalf("SAM's files are there but do not load: %v", samErr)
	}
	return samM
}

// SkipIfAbsent skips the test when path does not exist, naming what is
// missing; any other error reaching it fails the test.
func SkipIfAbsent(t testing.TB, path, what string) {
	t.Helper()
	_, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		t.Skipf("%s absent (%s): run scripts/setup.sh", what, path)
	case err != nil:
		t.Fatalf("%s: %v", what, err)
	}
}
