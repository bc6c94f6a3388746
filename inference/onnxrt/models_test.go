package onnxrt

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/models"
)

// copyModel copies the real SAM decoder and its manifest into a temporary
// model directory, letting edit change the copy's bytes.
func copyModel(t *testing.T, rt *Runtime, name string, edit func(b []byte)) *models.Manifest {
	t.Helper()
	m := findModel(t, rt, name)
	dir := t.TempDir()
	src, err := os.Open(m.ModelPath())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	b, err := io.ReadAll(src)
	if err != nil {
		t.Fatal(err)
	}
	edit(b)
	if err := os.WriteFile(filepath.Join(dir, m.File), b, 0o644); err != nil {
		t.Fatal(err)
	}
	c := *m
	c.Path = filepath.Join(dir, name+".json")
	return &c
}

func TestLoadModelChecksum(t *testing.T) {
	rt := testRuntime(t)
	m := copyModel(t, rt, "sam-decoder", func(b []byte) { b[len(b)/2] ^= 0x40 })
	_, err := rt.LoadModel(m, models.KindSAMDecoder)
	if !errors.Is(err, models.ErrChecksum) {
		t.Fatalf("flipped byte in the decoder: got %v, want a checksum error", err)
	}
	if !strings.Contains(err.Error(), "sam-decoder") {
		t.Errorf("error %q does not name the model", err)
	}
}

func TestLoadModelSignature(t *testing.T) {
	rt := testRuntime(t)
	tests := []struct {
		name string
		edit func(m *models.Manifest)
	}{
		{"other input name", func(m *models.Manifest) { m.Inputs[1].Name = "points" }},
		{"missing input", func(m *models.Manifest) { m.Inputs = m.Inputs[:5] }},
		{"other embedding size", func(m *models.Manifest) { m.Inputs[0].Shape = []int64{1, 256, 32, 32} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := copyModel(t, rt, "sam-decoder", func([]byte) {})
			m.Inputs = append([]models.Tensor(nil), m.Inputs...)
			tc.edit(m)
			_, err := rt.LoadModel(m, models.KindSAMDecoder)
			if !errors.Is(err, models.ErrSignature) {
				t.Fatalf("got %v, want a signature error", err)
			}
		})
	}
	// The intact copy loads, and the runtime says where it runs.
	m := copyModel(t, rt, "sam-decoder", func([]byte) {})
	s, err := rt.LoadModel(m, models.KindSAMDecoder)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if p, _ := rt.Provider(); p != s.Provider() || (p != ProviderCPU && p != ProviderCUDA) {
		t.Errorf("runtime provider %q, session provider %q", p, s.Provider())
	}
	if _, err := rt.LoadModel(m, models.KindUNet); err == nil {
		t.Errorf("a SAM decoder was accepted as a U-Net")
	}
}

func TestNewRuntimeMissingLibrary(t *testing.T) {
	_, err := NewRuntime(Options{Library: filepath.Join(t.TempDir(), "libonnxruntime.so.1")})
	if !errors.Is(err, ErrNoRuntime) {
		t.Fatalf("got %v, want ErrNoRuntime", err)
	}
}

// Asking for CUDA from a library without the CUDA provider (the CPU build
// fetch-runtime.sh installs) falls back to the CPU and says why.
func TestProviderFallback(t *testing.T) {
	base := testRuntime(t)
	rt, err := NewRuntime(Options{Provider: ProviderCUDA, CacheDir: base.CacheDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(rt.Library()), "libonnxruntime_providers_cuda.so")); err == nil {
		t.Skip("this ONNX Runtime has the CUDA provider; the fallback is not exercised")
	}
	m, err := models.Find("sam-decoder", rt.ModelDir())
	if err != nil {
		t.Skipf("model not fetched (run scripts/fetch-runtime.sh): %v", err)
	}
	s, err := rt.LoadModel(m, models.KindSAMDecoder)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, note := rt.Provider()
	if s.Provider() != ProviderCPU || p != ProviderCPU || !strings.Contains(note, "CUDA") {
		t.Errorf("session on %q, runtime says %q (%q); want cpu and a note about CUDA", s.Provider(), p, note)
	}
	if _, err := NewRuntime(Options{Provider: "tpu"}); err == nil {
		t.Errorf("unknown provider accepted")
	}
}
