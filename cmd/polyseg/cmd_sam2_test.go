package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/internal/modeltest"
)

func TestSAM2ManifestsUsage(t *testing.T) {
	for _, args := range [][]string{{"sam2-manifests"}, {"sam2-manifests", "a", "b"}} {
		code, _, stderr := runCmd(args...)
		if code != 2 || !strings.Contains(stderr, "usage: polyseg sam2-manifests") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and the usage", args, code, stderr)
		}
	}
}

// A folder without the export is refused naming the first file missing
// (the inference tests load real stand-in exports).
func TestSAM2ManifestsMissingFiles(t *testing.T) {
	modeltest.Runtime(t) // the command loads it before reading the folder
	dir := t.TempDir()
	code, _, stderr := runCmd("sam2-manifests", dir)
	if code != 1 || !strings.Contains(stderr, filepath.Join(dir, "image_encoder.onnx")) {
		t.Errorf("exit %d, stderr %q; want 1 naming image_encoder.onnx", code, stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.json")); len(m) != 0 {
		t.Errorf("manifests written: %v", m)
	}
}
