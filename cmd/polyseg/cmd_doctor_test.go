package main

import (
	"strings"
	"testing"

	"github.com/polyseg/polyseg/internal/modeltest"
)

// With the fetched runtime and models, doctor names the library and its
// version, the devices, every model with its checksum, the cache and the
// display, and exits 0 whatever the display.
func TestDoctorHealthy(t *testing.T) {
	modeltest.SAM(t) // skips only when a file was never fetched
	code, out, errs := runVolumeCmd(t, "doctor")
	for _, want := range []string{
		"ONNX Runtime", "library: ", "version: 1.", "device: CPUExecutionProvider on CPU", "CUDA: ",
		"polycl-liver", "sam-encoder (sam-encoder): ", "sam-decoder (sam-decoder): ", "sha256 ", "ok",
		"Cache", " MB", "Display",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code != 0 {
		t.Errorf("exit %d with the runtime and models present; stderr %q\n%s", code, errs, out)
	}
}

// A missing library and missing SAM weights are problems: each is named,
// and the exit status is 1 with one line on stderr.
func TestDoctorMissing(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("POLYSEG_CACHE", dir)
	code, out, errs := runVolumeCmd(t, "doctor", "--ort-lib", dir+"/libonnxruntime.so.1")
	if code != 1 || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, "missing") {
		t.Errorf("exit %d, stderr %q; want 1 and one line", code, errs)
	}
	for _, want := range []string{"PROBLEM: ONNX Runtime library not found", "PROBLEM: model \"sam-encoder\"", "PROBLEM: model \"sam-decoder\"", "fetch-runtime.sh", "problem(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestDoctorUsage(t *testing.T) {
	for _, args := range [][]string{{"doctor", "extra"}, {"doctor", "--provider", "tpu"}, {"doctor", "--threads", "-1"}} {
		if code, _, _ := runVolumeCmd(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}
