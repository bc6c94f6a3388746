package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/polyseg/polyseg/"

// forbidden lists, per package, import path prefixes that must not appear
// anywhere in its dependency graph.
var forbidden = map[string][]string{
	"volume":    {"fyne.io/", "github.com/yalue/onnxruntime_go", module + "viewer", module + "app", module + "ui", module + "inference", module + "models"},
	"interp":    {"fyne.io/", "github.com/yalue/onnxruntime_go", module + "viewer", module + "app", module + "ui", module + "inference", module + "models"},
	"viewer":    {"fyne.io/", "github.com/yalue/onnxruntime_go", module + "app", module + "ui", module + "inference"},
	"assets":    {"fyne.io/", "github.com/yalue/onnxruntime_go"},
	"phantom":   {"fyne.io/", "github.com/yalue/onnxruntime_go", module + "app", module + "ui"},
	"models":    {"fyne.io/", module + "app", module + "ui", module + "viewer"},
	"inference": {"fyne.io/", module + "app", module + "ui", module + "viewer"},
	// Surfaces and the 3D view's renderer are headless: the UI shows their
	// images, they know nothing of it.
	"mesh":      {"fyne.io/", "github.com/yalue/onnxruntime_go", module + "viewer", module + "app", module + "ui", module + "inference", module + "models"},
	"render3d":  {"fyne.io/", "github.com/yalue/onnxruntime_go", module + "viewer", module + "app", module + "ui", module + "inference", module + "models"},
	"app":       {"fyne.io/", module + "ui"},
	"app/tools": {"fyne.io/", module + "ui"},
	// The ONNX model editor works on files alone; running models is inference's.
	"internal/onnxgraph": {"fyne.io/", "github.com/yalue/onnxruntime_go", module + "inference", module + "app", module + "ui"},
}

func TestLayers(t *testing.T) {
	for pkg, bad := range forbidden {
		t.Run(pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", module+pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list %s: %v\n%s", pkg, err, out)
			}
			for _, dep := range strings.Fields(string(out)) {
				for _, b := range bad {
					if strings.HasPrefix(dep, b) {
						t.Errorf("%s depends on %s: the layering in docs/design forbids it", pkg, dep)
					}
				}
			}
		})
	}
}
