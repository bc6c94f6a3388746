package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/internal/modeltest"
)

// With the fetched runtime and models, doctor names the library and its
// version, the devices, every model with its checksum, the cache and the
// display, and exits 0 whatever the display.
func TestDoctorHealthy(t *testing.T) {
	modeltest.SAM(t) // skips only when a file was never fetched
	// The defaults, whatever this machine's user has set.
	t.Setenv("POLYSEG_SETTINGS", filepath.Join(t.TempDir(), "none.json"))
	t.Setenv("POLYSEG_EMBED_CACHE_MB", "")
	t.Setenv("POLYSEG_EMBED_CACHE_DIR", "")
	code, out, errs := runVolumeCmd(t, "doctor")
	for _, want := range []string{
		"ONNX Runtime", "library: ", "version: 1.", "device: CPUExecutionProvider on CPU", "CUDA: ",
		"polycl-abdomen", "polycl-liver", "sam-encoder (sam-encoder): ", "sam-decoder (sam-decoder): ", "sha256 ", "ok",
		"Cache", " MB", "Display", "SAM embeddings: ", "(bound 2048 MB;", "SAM encoder: float32",
		"sam-encoder-int8",
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

// doctor reports the embedding cache as the settings file says, and the
// SAM windows it gives segments by name; a settings file that does not
// parse is a problem naming it.
func TestDoctorSettings(t *testing.T) {
	modeltest.Runtime(t) // skips only when the library was never fetched
	dir := t.TempDir()
	p := filepath.Join(dir, "settings.json")
	t.Setenv("POLYSEG_SETTINGS", p)
	t.Setenv("POLYSEG_EMBED_CACHE_MB", "")
	t.Setenv("POLYSEG_EMBED_CACHE_DIR", "")
	emb := filepath.Join(dir, "emb")
	os.WriteFile(p, []byte(`{"embedding_cache": {"dir": "`+emb+`", "max_mb": 300}, "sam_windows": {"liver": {"level": 30, "width": 150}}}`), 0o600)
	_, out, _ := runVolumeCmd(t, "doctor")
	for _, want := range []string{"settings: " + p, "SAM embeddings: " + emb + ": 0 slices, 0.0 MB (bound 300 MB", `segments named "liver": level 30, width 150`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	os.WriteFile(p, []byte(`{"embedding_cache": {"max_mb": "lots"}}`), 0o600)
	code, out, _ := runVolumeCmd(t, "doctor")
	if code != 1 || !strings.Contains(out, "PROBLEM: settings "+p) {
		t.Errorf("exit %d with a bad settings file:\n%s", code, out)
	}
	os.WriteFile(p, []byte(`{"sam_encoder": "int8", "embedding_cache": {"dir": "`+emb+`"}}`), 0o600)
	if _, out, _ := runVolumeCmd(t, "doctor"); !strings.Contains(out, "SAM encoder: int8") && !strings.Contains(out, "PROBLEM: SAM encoder: int8 chosen in the settings, but") {
		t.Errorf("int8 chosen: the encoder line is missing:\n%s", out)
	}
}

func TestDoctorUsage(t *testing.T) {
	for _, args := range [][]string{{"doctor", "extra"}, {"doctor", "--provider", "tpu"}, {"doctor", "--threads", "-1"}} {
		if code, _, _ := runVolumeCmd(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}
