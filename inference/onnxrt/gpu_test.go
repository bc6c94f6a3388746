package onnxrt

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/models"
)

// fakeMachine lays out files under a temporary root: a path ending in /
// is a folder, anything else a file with that content.
func fakeMachine(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if strings.HasSuffix(p, "/") {
			os.MkdirAll(full, 0o755)
			continue
		}
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestProbeGPU(t *testing.T) {
	h200 := "Model: \t\t NVIDIA H200\nIRQ: 42\n"
	tests := []struct {
		name    string
		files   map[string]string
		gpus    int
		wantErr string
	}{
		{"no driver", map[string]string{"dev/null": ""}, 0, "no NVIDIA GPU"},
		{"driver and GPU", map[string]string{
			"proc/version":                       "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65\nGCC version\n",
			"proc/gpus/0000:01:00.0/information": h200,
			"dev/nvidiactl":                      "", "dev/nvidia0": ""}, 1, ""},
		{"device nodes only (a container)", map[string]string{"dev/nvidiactl": "", "dev/nvidia0": "", "dev/nvidia1": ""}, 2, ""},
		{"GPU listed but no control node", map[string]string{"proc/gpus/0000:01:00.0/information": h200, "dev/nvidia0": ""}, 1, "nvidiactl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := fakeMachine(t, tc.files)
			h := probeGPU(filepath.Join(root, "proc"), filepath.Join(root, "dev"))
			if len(h.gpus) != tc.gpus {
				t.Errorf("GPUs %q, want %d", h.gpus, tc.gpus)
			}
			if tc.wantErr == "" && h.err != nil || tc.wantErr != "" && (h.err == nil || !strings.Contains(h.err.Error(), tc.wantErr)) {
				t.Errorf("error %v, want one containing %q", h.err, tc.wantErr)
			}
			if tc.gpus == 1 && tc.wantErr == "" && (!strings.Contains(h.gpus[0], "H200") || !strings.Contains(h.driver, "580.65")) {
				t.Errorf("GPU %q, driver %q", h.gpus, h.driver)
			}
		})
	}
}

func TestChooseLibrary(t *testing.T) {
	gpuFiles := map[string]string{
		"runtime/libonnxruntime.so.1": "", "runtime-gpu/libonnxruntime.so.1": "",
		"runtime-gpu/libonnxruntime_providers_shared.so": "", "runtime-gpu/libonnxruntime_providers_cuda.so": "",
	}
	withGPU := hostGPUInfo{gpus: []string{"NVIDIA H200"}}
	noGPU := hostGPUInfo{err: errors.New("no NVIDIA GPU (the NVIDIA driver lists none)")}
	tests := []struct {
		name    string
		files   map[string]string
		want    Provider
		host    hostGPUInfo
		wantGPU bool
		noteHas string
	}{
		{"cpu asked", gpuFiles, ProviderCPU, withGPU, false, ""},
		{"auto, GPU runtime and a GPU", gpuFiles, ProviderAuto, withGPU, true, ""},
		{"cuda, GPU runtime and a GPU", gpuFiles, ProviderCUDA, withGPU, true, ""},
		{"auto, no GPU runtime", map[string]string{"runtime/libonnxruntime.so.1": ""}, ProviderAuto, withGPU, false, "fetch-runtime.sh --gpu"},
		{"auto, GPU runtime without its plugin", map[string]string{"runtime/libonnxruntime.so.1": "", "runtime-gpu/libonnxruntime.so.1": ""}, ProviderAuto, withGPU, false, "no GPU runtime"},
		{"auto, GPU runtime, no GPU", gpuFiles, ProviderAuto, noGPU, false, "no NVIDIA GPU"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cache := fakeMachine(t, tc.files)
			lib, note := chooseLibrary(cache, tc.want, tc.host)
			gpu := lib == GPURuntimePaths(cache).Core
			if gpu != tc.wantGPU || (tc.noteHas == "") != (note == "") || !strings.Contains(note, tc.noteHas) {
				t.Errorf("library %s (GPU %v), note %q; want GPU %v, note with %q", lib, gpu, note, tc.wantGPU, tc.noteHas)
			}
		})
	}
}

// With "auto" on a machine where CUDA cannot be had, every model runs on
// the CPU, and the runtime says why in one line.
func TestAutoFallsBackWithReason(t *testing.T) {
	rt := testRuntime(t)
	if p, _ := rt.Provider(); p == ProviderCUDA {
		t.Skip("CUDA is available here")
	}
	a, err := NewRuntime(Options{Provider: ProviderAuto, CacheDir: rt.CacheDir()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.Resolve("polycl-liver", a.ModelDir(), models.SearchDirs(a.ModelDir())...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.LoadModel(m, models.KindUNet)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, note := a.Provider()
	if s.Provider() != ProviderCPU || p != ProviderCPU || note == "" || strings.Contains(note, "\n") || !strings.Contains(note, "CUDA") {
		t.Errorf("session on %s, runtime %s, note %q: want the CPU and a one-line reason", s.Provider(), p, note)
	}
	if pl := a.Placements(); len(pl) != 1 || pl[0].Model != "polycl-liver" || pl[0].Note != s.Note() {
		t.Errorf("placements %+v", pl)
	}
}

// The GPU runtime (ONNX Runtime 1.29 and its CUDA plugin) on a machine
// without an NVIDIA driver: the plugin cannot be loaded, and the model
// runs on the 1.29 core's CPU provider with that reason, instead of
// crashing. A process holds one ONNX Runtime, so this runs in a child
// process of the test binary.
func TestGPURuntimeWithoutDevice(t *testing.T) {
	if os.Getenv("POLYSEG_TEST_GPU_CHILD") == "1" {
		gpuRuntimeChild(t)
		return
	}
	g := GPURuntimePaths(DefaultCacheDir())
	if err := g.check(); err != nil {
		t.Skipf("%v", err)
	}
	if h := hostGPU(); h.err == nil {
		t.Skip("this machine has an NVIDIA GPU: scripts/gpu/check.sh tests the plugin for real")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestGPURuntimeWithoutDevice$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "POLYSEG_TEST_GPU_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

func gpuRuntimeChild(t *testing.T) {
	g := GPURuntimePaths(DefaultCacheDir())
	rt, err := NewRuntime(Options{Library: g.Core, Provider: ProviderCUDA})
	if err != nil {
		t.Fatal(err)
	}
	if v := rt.Version(); v != "1.29.0" {
		t.Errorf("GPU runtime version %q, want 1.29.0", v)
	}
	m, err := models.Resolve("polycl-liver", rt.ModelDir(), models.SearchDirs(rt.ModelDir())...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := rt.LoadModel(m, models.KindUNet)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Provider() != ProviderCPU || !strings.Contains(s.Note(), "cannot be loaded") {
		t.Errorf("session on %s, note %q: want the CPU because the plugin cannot be loaded", s.Provider(), s.Note())
	}
	t.Logf("note: %s", s.Note())
	devs, provs, err := rt.Devices()
	if err != nil || len(devs) == 0 || devs[0].Provider != "CPUExecutionProvider" || devs[0].Hardware != "CPU" {
		t.Errorf("devices %+v, %v: want the CPU provider's", devs, err)
	}
	if !strings.Contains(strings.Join(provs, ","), "CPUExecutionProvider") {
		t.Errorf("providers %v", provs)
	}
	checkAppendRoundTrip(t, rt)
}

// The runtime's summary says a reason shared by every model once, and
// names the models when they differ.
func TestProviderSummary(t *testing.T) {
	tests := []struct {
		name     string
		placed   []Placement
		want     Provider
		wantNote string
	}{
		{"nothing loaded", nil, ProviderAuto, ""},
		{"one reason", []Placement{{"polycl-liver", ProviderCPU, "no GPU"}, {"sam-encoder", ProviderCPU, "no GPU"}}, ProviderCPU, "no GPU"},
		{"all on CUDA", []Placement{{"polycl-liver", ProviderCUDA, ""}, {"sam-encoder-cuda", ProviderCUDA, ""}}, ProviderCUDA, ""},
		{"mixed", []Placement{{"sam-encoder-cuda", ProviderCUDA, ""}, {"sam-decoder", ProviderCPU, "Slice"}}, ProviderCUDA, "sam-decoder on cpu: Slice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &Runtime{want: ProviderAuto, placed: tc.placed}
			p, note := r.Provider()
			if p != tc.want || note != tc.wantNote {
				t.Errorf("got %s %q, want %s %q", p, note, tc.want, tc.wantNote)
			}
		})
	}
}
