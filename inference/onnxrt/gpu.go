package onnxrt

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/polyseg/polyseg/internal/onnxgraph"
	"github.com/polyseg/polyseg/models"
)

// GPURuntime names the files of the GPU runtime "scripts/fetch-runtime.sh
// --gpu" puts in the cache: ONNX Runtime 1.29's core library (a CPU build)
// and its CUDA execution provider, a plugin library (docs/gpu.md).
type GPURuntime struct {
	Dir, Core, Shared, CUDA string
}

// GPURuntimePaths returns where the GPU runtime lives in cache folder cache.
func GPURuntimePaths(cache string) GPURuntime {
	d := filepath.Join(cache, "runtime-gpu")
	return GPURuntime{
		Dir:    d,
		Core:   filepath.Join(d, "libonnxruntime.so.1"),
		Shared: filepath.Join(d, "libonnxruntime_providers_shared.so"),
		CUDA:   filepath.Join(d, cudaProviderFile),
	}
}

// cudaProviderFile is the CUDA provider's file name in every ONNX Runtime
// distribution; beside the core library it is what enables CUDA.
const cudaProviderFile = "libonnxruntime_providers_cuda.so"

func (g GPURuntime) check() error {
	for _, f := range []string{g.Core, g.Shared, g.CUDA} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("no GPU runtime in %s (scripts/fetch-runtime.sh --gpu fetches it)", g.Dir)
		}
	}
	return nil
}

// hostGPUInfo is what the system says about NVIDIA GPUs, without loading
// any CUDA library.
type hostGPUInfo struct {
	driver string   // the kernel driver's version line
	gpus   []string // one description per GPU
	err    error    // why no GPU can be used
}

// hostGPU looks for NVIDIA GPUs where the kernel driver lists them.
func hostGPU() hostGPUInfo { return probeGPU("/proc/driver/nvidia", "/dev") }

// probeGPU reads the NVIDIA driver's proc folder and the device nodes
// under dev (parameters, so that tests can fake a machine).
func probeGPU(proc, dev string) hostGPUInfo {
	var h hostGPUInfo
	if b, err := os.ReadFile(filepath.Join(proc, "version")); err == nil {
		h.driver = strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
	}
	infos, _ := filepath.Glob(filepath.Join(proc, "gpus", "*", "information"))
	sort.Strings(infos)
	for _, f := range infos {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		model := ""
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "Model" {
				model = strings.TrimSpace(v)
			}
		}
		bus := filepath.Base(filepath.Dir(f))
		h.gpus = append(h.gpus, strings.TrimSpace(model+" "+bus))
	}
	nodes, _ := filepath.Glob(filepath.Join(dev, "nvidia[0-9]*"))
	_, ctlErr := os.Stat(filepath.Join(dev, "nvidiactl"))
	switch {
	case len(h.gpus) == 0 && len(nodes) == 0:
		h.err = errors.New("no NVIDIA GPU (the NVIDIA driver lists none)")
	case ctlErr != nil:
		h.err = fmt.Errorf("NVIDIA driver not usable here: %s/nvidiactl is missing", dev)
	case len(h.gpus) == 0:
		// Containers often expose the device nodes without the proc folder.
		for _, n := range nodes {
			h.gpus = append(h.gpus, filepath.Base(n))
		}
	}
	return h
}

// pluginUnsafeOps are the operators that crash ONNX Runtime 1.29's CUDA
// plugin inside Run (a segmentation fault no error handling can catch, so
// such a model must never be given to it): measured on the GPU machine,
// docs/gpu.md; scripts/gpu/opcheck measures them again for another
// runtime.
var pluginUnsafeOps = []string{"Slice"}

// cudaPlugin is the process's registration of the CUDA plugin library.
type cudaPlugin struct {
	tried   bool
	path    string
	devices []epDevice // CUDAExecutionProvider's
	err     error
	legacy  bool // the library is not a plugin: use AppendExecutionProviderCUDA
}

// cudaRoute registers the CUDA provider beside the loaded library as a
// plugin, once per process, and returns the registration.
func (r *Runtime) cudaRoute() (*cudaPlugin, error) {
	ortEnv.mu.Lock()
	defer ortEnv.mu.Unlock()
	c := &ortEnv.cuda
	if c.tried {
		return c, c.err
	}
	c.tried = true
	c.path = filepath.Join(filepath.Dir(ortEnv.lib), cudaProviderFile)
	if _, err := os.Stat(c.path); err != nil {
		// No provider library: only a library with CUDA built in can work.
		c.legacy = true
		return c, nil
	}
	if err := ort.RegisterExecutionProviderLibrary("CUDA", c.path); err != nil {
		if strings.Contains(err.Error(), "CreateEpFactories") {
			// A provider for the built-in route (ONNX Runtime's own GPU
			// packages), not a plugin.
			c.legacy = true
			return c, nil
		}
		c.err = fmt.Errorf("CUDA provider %s cannot be loaded: %s", c.path, firstLine(err.Error()))
		return c, c.err
	}
	devs, err := epDevices(ortEnv.lib)
	if err != nil {
		c.err = fmt.Errorf("CUDA provider: list devices: %s", firstLine(err.Error()))
		return c, c.err
	}
	for _, d := range devs {
		if d.Provider == "CUDAExecutionProvider" {
			c.devices = append(c.devices, d)
		}
	}
	if len(c.devices) == 0 {
		c.err = errors.New("the CUDA provider found no CUDA device")
		return c, c.err
	}
	return c, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// cudaSession creates a CUDA session for model m (file path), or says why
// it cannot. On the plugin route, a model whose graph has an operator the
// plugin crashes on runs as its CUDA variant (made by polyseg gpu-prepare)
// when there is one, and is refused otherwise; that manifest is returned.
func (r *Runtime) cudaSession(m *models.Manifest, path string, in, out []string) (*ort.DynamicAdvancedSession, *models.Manifest, error) {
	if r.libNote != "" {
		return nil, nil, fmt.Errorf("CUDA not used: %s", r.libNote)
	}
	c, err := r.cudaRoute()
	if err != nil {
		return nil, nil, err
	}
	if c.legacy {
		if r.want == ProviderAuto {
			// Appending CUDA to a build without it can only fail, and
			// ONNX Runtime would log that on stderr.
			return nil, nil, fmt.Errorf("CUDA not used: no %s beside %s", cudaProviderFile, r.lib)
		}
		sess, err := r.newSession(path, in, out, func(o *ort.SessionOptions) error {
			co, err := ort.NewCUDAProviderOptions()
			if err != nil {
				return err
			}
			defer co.Destroy()
			return o.AppendExecutionProviderCUDA(co)
		})
		if err != nil {
			return nil, nil, fmt.Errorf("CUDA unavailable: %s", firstLine(err.Error()))
		}
		return sess, m, nil
	}
	use, usePath, census, err := r.pluginModel(m, path)
	if err != nil {
		return nil, nil, err
	}
	devices := c.devices[:1]
	sess, err := r.newSession(usePath, in, out, func(o *ort.SessionOptions) error {
		if census["Range"] > 0 {
			// ONNX Runtime's extended optimisations fuse Range→Gather
			// into Slice on CUDA nodes (GatherToSliceFusion), which would
			// bring back the operator the plugin crashes on.
			if err := o.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableBasic); err != nil {
				return err
			}
		}
		return appendEP(r.lib, o, devices, nil)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("CUDA plugin: %s", firstLine(err.Error()))
	}
	return sess, use, nil
}

// censusCache holds the operator counts of model files already read, by
// sha256 (reading a SAM encoder takes a tenth of a second).
var censusCache sync.Map

func opCensus(m *models.Manifest, path string) (map[string]int, error) {
	if c, ok := censusCache.Load(m.SHA256); ok {
		return c.(map[string]int), nil
	}
	g, err := onnxgraph.Read(path)
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", m.Name, err)
	}
	c := onnxgraph.OpTypes(g)
	censusCache.Store(m.SHA256, c)
	return c, nil
}

func unsafeOps(census map[string]int) []string {
	var bad []string
	for _, op := range pluginUnsafeOps {
		if census[op] > 0 {
			bad = append(bad, fmt.Sprintf("%d %s", census[op], op))
		}
	}
	return bad
}

// pluginModel returns the model file to give the CUDA plugin for m: m's own
// when its graph is safe there, else its CUDA variant.
func (r *Runtime) pluginModel(m *models.Manifest, path string) (*models.Manifest, string, map[string]int, error) {
	census, err := opCensus(m, path)
	if err != nil {
		return nil, "", nil, err
	}
	bad := unsafeOps(census)
	if len(bad) == 0 {
		return m, path, census, nil
	}
	v, err := r.FindCUDAVariant(m)
	if err != nil {
		return nil, "", nil, fmt.Errorf("CUDA plugin would crash on its %s nodes and %v", strings.Join(bad, ", "), err)
	}
	vpath := v.ModelPath()
	vc, err := opCensus(v, vpath)
	if err != nil {
		return nil, "", nil, err
	}
	if bad := unsafeOps(vc); len(bad) > 0 {
		return nil, "", nil, fmt.Errorf("CUDA variant %s still has %s nodes", v.Path, strings.Join(bad, ", "))
	}
	return v, vpath, vc, nil
}

// VariantSuffix ends the name of a model's CUDA variant: sam-encoder's is
// sam-encoder-cuda.
const VariantSuffix = "-cuda"

// VariantProvenance is the provenance block of a CUDA variant's manifest.
type VariantProvenance struct {
	DerivedFrom  string         `json:"derived_from"`
	SourceSHA256 string         `json:"source_sha256"`
	MadeBy       string         `json:"made_by"`
	ORTVersion   string         `json:"onnxruntime"`
	FixedDims    map[string]int `json:"fixed_dims,omitempty"`
	Folded       int            `json:"folded_values"`
	Pruned       int            `json:"pruned_nodes"`
	Slices       int            `json:"slices_replaced"`
	Strategy     string         `json:"slice_strategy"`
	Check        *VariantCheck  `json:"check,omitempty"`
}

// VariantCheck records the comparison of a variant with its source on the
// CPU when it was made.
type VariantCheck struct {
	Inputs     string  `json:"inputs"`
	MaxAbsDiff float64 `json:"max_abs_diff"`
}

// ErrNoVariant marks a model without a usable CUDA variant.
var ErrNoVariant = errors.New("no CUDA variant")

// FindCUDAVariant finds the CUDA variant of m (NAME-cuda.json beside m's
// manifest, else in the cache's model folder), checks that it was made from
// exactly m's file, that its own file matches its sha256, and that its
// signature is its manifest's.
func (r *Runtime) FindCUDAVariant(m *models.Manifest) (*models.Manifest, error) {
	name := m.Name + VariantSuffix
	dirs := []string{filepath.Dir(m.Path)}
	if d := r.ModelDir(); d != dirs[0] {
		dirs = append(dirs, d)
	}
	var v *models.Manifest
	for _, d := range dirs {
		p := filepath.Join(d, name+".json")
		if _, err := os.Stat(p); err != nil {
			continue
		}
		var err error
		if v, err = models.Load(p); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNoVariant, err)
		}
		break
	}
	if v == nil {
		how := "polyseg gpu-prepare"
		if m.Kind == models.KindSAMDecoder {
			how += " --decoder"
		}
		return nil, fmt.Errorf("%w: no %s.json (%s makes it)", ErrNoVariant, name, how)
	}
	var prov VariantProvenance
	if err := json.Unmarshal(v.Provenance, &prov); err != nil || prov.SourceSHA256 != m.SHA256 || v.Kind != m.Kind {
		return nil, fmt.Errorf("%w: %s was not made from %s (sha256 %.12s…); run polyseg gpu-prepare again", ErrNoVariant, v.Path, m.Path, m.SHA256)
	}
	if err := v.Verify(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoVariant, err)
	}
	ins, outs, err := ort.GetInputOutputInfo(v.ModelPath())
	if err != nil {
		return nil, fmt.Errorf("%w: read signature of %s: %w", ErrNoVariant, v.ModelPath(), err)
	}
	if err := v.CheckSignature(tensorsOf(ins), tensorsOf(outs)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoVariant, err)
	}
	return v, nil
}

// HostGPU reports what the NVIDIA kernel driver says, without loading any
// CUDA library: its version line, one description per GPU, and why no GPU
// can be used (nil when one can).
func HostGPU() (driver string, gpus []string, err error) {
	h := hostGPU()
	return h.driver, h.gpus, h.err
}

// cudaLibraries are the shared libraries ONNX Runtime 1.29's CUDA provider
// loads (its ELF dependencies, and cuDNN, which it opens at run time).
var cudaLibraries = []string{"libcuda.so.1", "libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10", "libcudnn.so.9"}

// CUDALibrary is one library the CUDA provider needs, and where the
// dynamic linker would find it (empty: nowhere).
type CUDALibrary struct {
	Name, Path string
}

// CUDALibraries looks up the libraries the CUDA provider needs where the
// dynamic linker looks: $LD_LIBRARY_PATH, then its cache (ldconfig -p).
func CUDALibraries() []CUDALibrary {
	cache := ldconfigCache()
	out := make([]CUDALibrary, len(cudaLibraries))
	for i, name := range cudaLibraries {
		out[i].Name = name
		for _, d := range filepath.SplitList(os.Getenv("LD_LIBRARY_PATH")) {
			if d == "" {
				continue
			}
			if _, err := os.Stat(filepath.Join(d, name)); err == nil {
				out[i].Path = filepath.Join(d, name)
				break
			}
		}
		if out[i].Path == "" {
			out[i].Path = cache[name]
		}
	}
	return out
}

// ldconfigCache maps library names to paths from "ldconfig -p".
func ldconfigCache() map[string]string {
	m := map[string]string{}
	var out []byte
	for _, exe := range []string{"/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig"} {
		if b, err := exec.Command(exe, "-p").Output(); err == nil {
			out = b
			break
		}
	}
	for _, line := range strings.Split(string(out), "\n") {
		// "	libcudart.so.13 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcudart.so.13"
		name, rest, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		if _, path, ok := strings.Cut(rest, "=> "); ok {
			if _, seen := m[name]; !seen {
				m[name] = strings.TrimSpace(path)
			}
		}
	}
	return m
}

// Device is one (execution provider, hardware device) pair the loaded
// ONNX Runtime offers.
type Device struct {
	Provider       string // e.g. CUDAExecutionProvider
	ProviderVendor string // e.g. Microsoft
	Hardware       string // CPU, GPU or NPU
	Vendor         string // the hardware's vendor, e.g. NVIDIA
	// VendorID and DeviceID are the hardware's PCI ids (0x10de is
	// NVIDIA), 0 when unknown.
	VendorID, DeviceID uint32
}

// CUDA says whether sessions of this runtime can run on CUDA: nil when the
// CUDA plugin is registered and found a device; otherwise why not. It
// registers the plugin if that was not done yet (no model needs loading).
// For a library with CUDA built in, only loading a model tells.
func (r *Runtime) CUDA() error {
	if r.libNote != "" {
		return errors.New(r.libNote)
	}
	c, err := r.cudaRoute()
	if err != nil {
		return err
	}
	if c.legacy {
		return fmt.Errorf("no %s beside %s (CUDA built into the library is tried when a model loads with --provider cuda)", cudaProviderFile, r.lib)
	}
	return nil
}

// Devices lists the devices the loaded ONNX Runtime offers (after trying
// the CUDA plugin), and the providers compiled into the library.
func (r *Runtime) Devices() (devices []Device, builtin []string, err error) {
	if r.want != ProviderCPU {
		_ = r.CUDA() // registers the plugin, if there is one
	}
	devs, err := epDevices(r.lib)
	if err != nil {
		return nil, nil, err
	}
	for _, d := range devs {
		devices = append(devices, d.Device)
	}
	builtin, err = availableProviders(r.lib)
	if err != nil {
		return devices, nil, err
	}
	return devices, builtin, nil
}

// AppendCUDA appends the CUDA provider to session options o as this
// runtime would for a model (the plugin's first device, or the built-in
// route), or says why it cannot. It does not check the model: it is for
// tools that try operators on CUDA on purpose (scripts/gpu/gpucheck
// opcheck), in a process that may crash.
func (r *Runtime) AppendCUDA(o *ort.SessionOptions) error {
	if r.libNote != "" {
		return errors.New(r.libNote)
	}
	c, err := r.cudaRoute()
	if err != nil {
		return err
	}
	if c.legacy {
		co, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return err
		}
		defer co.Destroy()
		return o.AppendExecutionProviderCUDA(co)
	}
	return appendEP(r.lib, o, c.devices[:1], nil)
}
