package archtest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/polyseg/polyseg/"

// forbidden lists, per package, import path prefixes that must not appear
// anywhere in its dependency graph.
var forbidden = map[string][]string{
	"volume":    {"fyne.io/", ort, module + "viewer", module + "app", module + "ui", module + "inference", module + "models"},
	"interp":    {"fyne.io/", ort, module + "viewer", module + "app", module + "ui", module + "inference", module + "models"},
	"viewer":    {"fyne.io/", ort, module + "app", module + "ui", module + "inference"},
	"assets":    {"fyne.io/", ort},
	"phantom":   {"fyne.io/", ort, module + "app", module + "ui"},
	"dicomseg":  {"fyne.io/", ort, module + "viewer", module + "app", module + "ui", module + "inference", module + "models"},
	"models":    {"fyne.io/", module + "app", module + "ui", module + "viewer"},
	"metrics":   {"fyne.io/", ort, module + "volume", module + "inference", module + "app", module + "ui"},
	"inference": {"fyne.io/", module + "app", module + "ui", module + "viewer"},
	// Inside inference, each room imports only those before it:
	// section, onnxrt and embedcache; then sam and unet; then propagate,
	// refine and sam2.
	"inference/section":    {ort, module + "inference/onnxrt", module + "inference/sam", module + "models"},
	"inference/embedcache": {ort, module + "inference/", module + "models", module + "volume"},
	"inference/onnxrt":     {module + "inference/section", module + "inference/sam", module + "inference/unet", module + "inference/propagate", module + "inference/refine", module + "inference/embedcache", module + "volume"},
	"inference/sam":        {module + "inference/unet", module + "inference/propagate", module + "inference/refine", module + "inference/sam2"},
	"inference/unet":       {module + "inference/sam", module + "inference/propagate", module + "inference/refine", module + "inference/sam2"},
	"inference/propagate":  {module + "inference/unet", module + "inference/refine", module + "inference/sam2"},
	"inference/refine":     {module + "inference/unet", module + "inference/propagate", module + "inference/sam2"},
	"inference/sam2":       {module + "inference/unet", module + "inference/refine"},
	"app":                  {"fyne.io/", module + "ui"},
	"app/tools":            {"fyne.io/", module + "ui"},
	// The robot annotator acts through app alone, as the UI does.
	"app/robot": {"fyne.io/", module + "ui"},
	// Datasets and their statistics are files and numbers: no window, no model.
	"dataset":           {"fyne.io/", ort, module + "viewer", module + "app", module + "ui", module + "inference", module + "models"},
	"stats":             {"fyne.io/", ort, module + "app", module + "ui", module + "inference", module + "models"},
	"internal/lockfile": {"fyne.io/", ort, module + "volume", module + "dataset", module + "app", module + "ui"},
	"internal/xdg":      {module},
	"internal/parallel": {module},
	// Settings are a file the app and the commands read: no model runs here.
	"internal/settings": {"fyne.io/", ort, module + "inference", module + "app", module + "ui", module + "viewer", module + "volume"},
	// Surfaces and the 3D view's renderer are headless: the UI shows their
	// images, they know nothing of it.
	"mesh":     {"fyne.io/", ort, module + "viewer", module + "app", module + "ui", module + "inference", module + "models"},
	"render3d": {"fyne.io/", ort, module + "viewer", module + "app", module + "ui", module + "inference", module + "models"},
	// Training runs PyTorch in another process: no window, no ONNX Runtime.
	"trainjob": {"fyne.io/", ort, module + "viewer", module + "app", module + "ui", module + "inference"},
	// The ONNX model editor works on files alone; running models is inference's.
	"internal/onnxgraph": {"fyne.io/", ort, module + "inference", module + "app", module + "ui"},
}

// ort is ONNX Runtime's Go binding.
const ort = "github.com/yalue/onnxruntime_go"

// direct lists, per package, import path prefixes it must not import
// itself (it may reach them through the packages it does import).
var direct = map[string][]string{
	// The UI is a thin layer over app: it knows no model, runtime or
	// model file.
	"ui": {ort, module + "inference", module + "models", module + "internal/onnxgraph"},
	// The commands are wiring: widgets and windows are the UI's.
	"cmd/polyseg": {"fyne.io/fyne/v2/widget", "fyne.io/fyne/v2/canvas", "fyne.io/fyne/v2/container", "fyne.io/fyne/v2/dialog", "fyne.io/fyne/v2/layout", ort},
}

// testOnly are packages for tests and benchmarks: no program may link
// them.
var testOnly = []string{module + "internal/modeltest", module + "internal/bareort", module + "internal/realdata", module + "internal/faketrainer", module + "internal/tinymodel"}

// scriptsOnly are packages for the evaluation scripts under scripts/: the
// app and the commands never link them.
var scriptsOnly = []string{module + "internal/evalkit"}

func TestLayers(t *testing.T) {
	deps := list(t, "{{.Deps}}")
	for pkg, bad := range forbidden {
		t.Run(pkg, func(t *testing.T) {
			all, ok := deps[module+pkg]
			if !ok {
				t.Fatalf("no package %s", pkg)
			}
			for _, dep := range all {
				for _, b := range bad {
					if dep != module+pkg && strings.HasPrefix(dep, b) {
						t.Errorf("%s depends on %s: the layering in docs/design forbids it", pkg, dep)
					}
				}
			}
		})
	}
}

// list runs go list once over the module and returns, per package, the
// import paths field (a template such as {{.Deps}} or {{.Imports}})
// lists.
func list(t *testing.T, field string) map[string][]string {
	t.Helper()
	tmpl := "{{.ImportPath}} {{join " + strings.Trim(field, "{}") + ` " "}}`
	out, err := exec.Command("go", "list", "-f", tmpl, module+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		m[f[0]] = f[1:]
	}
	return m
}

func TestDirectImports(t *testing.T) {
	imports := list(t, "{{.Imports}}")
	for pkg, bad := range direct {
		t.Run(pkg, func(t *testing.T) {
			for _, imp := range imports[module+pkg] {
				for _, b := range bad {
					if strings.HasPrefix(imp, b) {
						t.Errorf("%s imports %s: the layering in docs/design forbids it", pkg, imp)
					}
				}
			}
		})
	}
}

// TestTestSupportOnlyInTests checks that no package or command imports
// the test-support packages (their helpers skip and fail tests) outside
// its tests.
func TestTestSupportOnlyInTests(t *testing.T) {
	for pkg, imports := range list(t, "{{.Imports}}") {
		if slices.Contains(testOnly, pkg) {
			continue
		}
		for _, imp := range imports {
			if slices.Contains(testOnly, imp) {
				t.Errorf("%s imports the test-support package %s", pkg, imp)
			}
			if slices.Contains(scriptsOnly, imp) && !strings.HasPrefix(pkg, module+"scripts/") {
				t.Errorf("%s imports %s, which is for the evaluation scripts", pkg, imp)
			}
		}
	}
}
