package viewer

import (
	"go/build"
	"path/filepath"
	"strings"
	"testing"
)

// TestLayering keeps the viewer free of the GUI toolkit and the inference
// runtime (see docs/design.md): no package it builds on, inside this module,
// may import them.
func TestLayering(t *testing.T) {
	const module = "github.com/polyseg/polyseg/"
	forbidden := []string{"fyne.io/", "github.com/yalue/onnxruntime_go"}
	seen := map[string]bool{}
	var visit func(dir, name string)
	visit = func(dir, name string) {
		if seen[dir] {
			return
		}
		seen[dir] = true
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, imp := range pkg.Imports {
			for _, f := range forbidden {
				if strings.HasPrefix(imp, f) {
					t.Errorf("%s imports %s", name, imp)
				}
			}
			if rest, ok := strings.CutPrefix(imp, module); ok {
				visit(filepath.Join("..", filepath.FromSlash(rest)), imp)
			}
		}
	}
	visit(".", module+"viewer")
	if !seen[filepath.Join("..", "volume")] || !seen[filepath.Join("..", "assets")] {
		t.Errorf("walked %v, want volume and assets among them", seen)
	}
}
