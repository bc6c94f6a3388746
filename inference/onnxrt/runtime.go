package onnxrt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/polyseg/polyseg/models"
)

// Provider names an ONNX Runtime execution provider.
type Provider string

// Execution providers. ProviderAuto tries CUDA and falls back to the CPU.
const (
	ProviderAuto Provider = "auto"
	ProviderCPU  Provider = "cpu"
	ProviderCUDA Provider = "cuda"
)

// Options configure a Runtime. The zero value is usable.
type Options struct {
	// Library is the path of libonnxruntime. Empty: $POLYSEG_ORT_LIB;
	// else the library this process already loaded; else, when CUDA may be
	// used (Provider auto or cuda), the GPU runtime that
	// "scripts/fetch-runtime.sh --gpu" puts in runtime-gpu/ of the cache
	// folder, provided an NVIDIA device is present; else
	// runtime/libonnxruntime.so.1 in the cache folder.
	Library string
	// CacheDir holds the fetched runtime, the SAM weights and the embedding
	// cache. Empty: DefaultCacheDir().
	CacheDir string
	// Provider asks for an execution provider; empty means ProviderAuto.
	Provider Provider
	// Threads is the intra-op thread count of every session. Zero means
	// runtime.NumCPU(): inference is the only heavy work while it runs, and
	// ONNX Runtime's own default counts physical cores, which leaves half of
	// a hyper-threaded machine idle.
	Threads int
}

// MaxThreads bounds Options.Threads: ONNX Runtime starts every thread asked
// for, and 100000 of them took 16 GB before the first slice.
const MaxThreads = 1024

// Runtime is the ONNX Runtime as this program uses it: the shared library,
// the execution provider sessions get, and their thread count. Create one
// with NewRuntime and share it; sessions made from it are safe for
// concurrent use.
type Runtime struct {
	lib      string
	cacheDir string
	want     Provider
	threads  int
	libNote  string // why the library chosen cannot offer CUDA, if it cannot

	mu     sync.Mutex
	placed []Placement // one per model loaded, latest last
}

// Placement says where one model runs, and when that is not the provider
// asked for, why.
type Placement struct {
	Model    string // the manifest's name (a CUDA variant's, when one runs)
	Provider Provider
	Note     string
}

// ortEnv guards the process-wide ONNX Runtime environment. onnxruntime_go
// keeps its environment in package globals (one per process, bound to one
// shared library), so this package can only mirror that: the first
// NewRuntime initialises it, later ones reuse it and must not name another
// library. It is never destroyed: sessions of any Runtime may still be
// alive, and re-initialising ONNX Runtime in one process is not supported.
// The CUDA plugin, registered with the environment, is per process too.
var ortEnv struct {
	mu      sync.Mutex
	done    bool
	lib     string
	libNote string // why the library chosen implicitly cannot offer CUDA
	version string
	err     error

	cuda cudaPlugin
}

// ErrNoRuntime marks a missing ONNX Runtime library: the caller should tell
// the user to run scripts/fetch-runtime.sh or set POLYSEG_ORT_LIB.
var ErrNoRuntime = errors.New("ONNX Runtime library not found")

// NewRuntime loads the ONNX Runtime library (once per process) and returns
// a Runtime configured by opts.
func NewRuntime(opts Options) (*Runtime, error) {
	if opts.Threads > MaxThreads {
		return nil, fmt.Errorf("ONNX Runtime: %d threads asked for, at most %d", opts.Threads, MaxThreads)
	}
	cache := opts.CacheDir
	if cache == "" {
		cache = DefaultCacheDir()
	}
	want := opts.Provider
	switch want {
	case "":
		want = ProviderAuto
	case ProviderAuto, ProviderCPU, ProviderCUDA:
	default:
		return nil, fmt.Errorf("unknown execution provider %q (want auto, cpu or cuda)", want)
	}
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	explicit := opts.Library
	if explicit == "" {
		explicit = os.Getenv("POLYSEG_ORT_LIB")
	}

	ortEnv.mu.Lock()
	defer ortEnv.mu.Unlock()
	lib, libNote := explicit, ""
	switch {
	case explicit != "":
	case ortEnv.done:
		// One library per process: whatever was chosen first serves every
		// Runtime that does not name one (the GPU build runs CPU sessions
		// too).
		lib, libNote = ortEnv.lib, ortEnv.libNote
	default:
		lib, libNote = chooseLibrary(cache, want, hostGPU())
	}
	if abs, err := filepath.Abs(lib); err == nil {
		lib = abs
	}
	if _, err := os.Stat(lib); err != nil {
		return nil, fmt.Errorf("%w: %s (run scripts/fetch-runtime.sh or set POLYSEG_ORT_LIB): %w", ErrNoRuntime, lib, err)
	}
	if !ortEnv.done {
		ortEnv.done, ortEnv.lib, ortEnv.libNote = true, lib, libNote
		ort.SetSharedLibraryPath(lib)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			ortEnv.err = fmt.Errorf("initialise ONNX Runtime from %s: %w", lib, err)
		} else {
			ortEnv.version = ort.GetVersion()
		}
	}
	if ortEnv.err != nil {
		return nil, ortEnv.err
	}
	if ortEnv.lib != lib {
		return nil, fmt.Errorf("ONNX Runtime already loaded from %s in this process; cannot also load %s", ortEnv.lib, lib)
	}
	return &Runtime{lib: lib, cacheDir: cache, want: want, threads: threads, libNote: libNote}, nil
}

// chooseLibrary picks the library a process loads when none is named: the
// GPU runtime when CUDA may be used and both it and an NVIDIA device are
// there, else the CPU runtime. note says why CUDA will not be offered.
func chooseLibrary(cache string, want Provider, gpu hostGPUInfo) (lib, note string) {
	cpu := filepath.Join(cache, "runtime", "libonnxruntime.so.1")
	if want == ProviderCPU {
		return cpu, ""
	}
	g := GPURuntimePaths(cache)
	if err := g.check(); err != nil {
		return cpu, err.Error()
	}
	if gpu.err != nil {
		return cpu, gpu.err.Error()
	}
	return g.Core, ""
}

// DefaultCacheDir returns $POLYSEG_CACHE when set; else the .cache folder
// of the nearest directory enclosing the working directory, or else the
// executable, that has one with the fetched runtime in it (the checkout,
// where scripts/fetch-runtime.sh puts it: so commands and tests run
// anywhere inside it, and a binary built into it runs from anywhere); else
// the user's cache folder.
func DefaultCacheDir() string {
	if d := os.Getenv("POLYSEG_CACHE"); d != "" {
		return d
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err := filepath.EvalSymlinks(exe); err == nil {
			starts = append(starts, filepath.Dir(exe))
		}
	}
	for _, start := range starts {
		for d := start; ; d = filepath.Dir(d) {
			c := filepath.Join(d, ".cache")
			if _, err := os.Stat(filepath.Join(c, "runtime", "libonnxruntime.so.1")); err == nil {
				return c
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "polyseg")
	}
	return ".cache"
}

// CacheDir returns the cache folder of this runtime.
func (r *Runtime) CacheDir() string { return r.cacheDir }

// ModelDir returns the folder where scripts/fetch-runtime.sh puts the SAM
// weights and their manifests.
func (r *Runtime) ModelDir() string { return filepath.Join(r.cacheDir, "models") }

// Library returns the path of the loaded ONNX Runtime library.
func (r *Runtime) Library() string { return r.lib }

// Threads returns the intra-op thread count sessions get.
func (r *Runtime) Threads() int { return r.threads }

// Version returns the loaded ONNX Runtime's version, e.g. "1.30.0".
func (r *Runtime) Version() string {
	ortEnv.mu.Lock()
	defer ortEnv.mu.Unlock()
	return ortEnv.version
}

// Requested returns the execution provider asked for.
func (r *Runtime) Requested() Provider { return r.want }

// Provider sums up where the models loaded so far run: CUDA when any runs
// there, else the CPU (the provider asked for before any model is loaded),
// and a note naming each model that runs elsewhere than asked, and why.
func (r *Runtime) Provider() (Provider, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.placed) == 0 {
		return r.want, ""
	}
	p := ProviderCPU
	for _, pl := range r.placed {
		if pl.Provider == ProviderCUDA {
			p = ProviderCUDA
		}
	}
	// One reason for every model (no GPU runtime, no GPU) is said once;
	// otherwise each model that is not where asked is named with its own.
	same := true
	for _, pl := range r.placed {
		same = same && pl.Provider == r.placed[0].Provider && pl.Note == r.placed[0].Note
	}
	if same {
		return p, r.placed[0].Note
	}
	var notes []string
	seen := map[string]bool{}
	for _, pl := range r.placed {
		if pl.Note == "" || seen[pl.Model+pl.Note] {
			continue
		}
		seen[pl.Model+pl.Note] = true
		notes = append(notes, fmt.Sprintf("%s on %s: %s", pl.Model, pl.Provider, pl.Note))
	}
	return p, strings.Join(notes, "; ")
}

// Placements returns where each model loaded so far runs, in load order
// (a model loaded twice appears twice).
func (r *Runtime) Placements() []Placement {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Placement(nil), r.placed...)
}

// Session is one ONNX model loaded for repeated runs. It is safe for
// concurrent use (ONNX Runtime's Run is).
type Session struct {
	// Manifest describes the model file that runs: on CUDA, possibly a
	// variant made for it (polyseg gpu-prepare) of the manifest asked for.
	Manifest *models.Manifest
	provider Provider
	note     string
	inNames  []string
	outNames []string
	s        *ort.DynamicAdvancedSession
}

// Provider returns the execution provider this session runs on.
func (s *Session) Provider() Provider { return s.provider }

// Note says why the session runs elsewhere than asked, or is empty.
func (s *Session) Note() string { return s.note }

// LoadModel verifies the manifest's model file (sha256), checks its
// signature against the manifest and creates a session for it. kind, when
// not empty, is the model kind the caller needs.
func (r *Runtime) LoadModel(m *models.Manifest, kind string) (*Session, error) {
	if kind != "" && m.Kind != kind {
		return nil, fmt.Errorf("model %q (%s) is a %s, need a %s", m.Name, m.Path, m.Kind, kind)
	}
	if err := m.Verify(); err != nil {
		return nil, err
	}
	path := m.ModelPath()
	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		return nil, fmt.Errorf("model %q: read signature of %s: %w", m.Name, path, err)
	}
	if err := m.CheckSignature(tensorsOf(ins), tensorsOf(outs)); err != nil {
		return nil, err
	}
	s := &Session{Manifest: m}
	for _, t := range m.Inputs {
		s.inNames = append(s.inNames, t.Name)
	}
	for _, t := range m.Outputs {
		s.outNames = append(s.outNames, t.Name)
	}

	var note string
	if r.want != ProviderCPU {
		// CUDA first; every way it can fail ends on the CPU with a reason.
		cs, cm, err := r.cudaSession(m, path, s.inNames, s.outNames)
		if err == nil {
			s.s, s.provider, s.Manifest = cs, ProviderCUDA, cm
		} else {
			note = err.Error()
		}
	}
	if s.s == nil {
		sess, err := r.newSession(path, s.inNames, s.outNames, nil)
		if err != nil {
			return nil, fmt.Errorf("model %q: create session for %s: %w", m.Name, path, err)
		}
		s.s, s.provider, s.note = sess, ProviderCPU, note
	}
	r.mu.Lock()
	r.placed = append(r.placed, Placement{Model: s.Manifest.Name, Provider: s.provider, Note: s.note})
	r.mu.Unlock()
	return s, nil
}

// newSession creates a session with the runtime's threads; ep, when not
// nil, appends an execution provider to its options.
func (r *Runtime) newSession(path string, in, out []string, ep func(*ort.SessionOptions) error) (*ort.DynamicAdvancedSession, error) {
	o, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer o.Destroy()
	if err := o.SetIntraOpNumThreads(r.threads); err != nil {
		return nil, err
	}
	// One model runs at a time per call; parallelism lives inside operators.
	if err := o.SetInterOpNumThreads(1); err != nil {
		return nil, err
	}
	// ONNX Runtime's memory pattern plans one block for a run's
	// intermediate values and keeps it beside what its arena already
	// holds: for the SAM encoder that is 210 MB more resident memory for
	// no measurable speed (0.98 of the time with it; docs/benchmarks.md,
	// memory).
	if err := o.SetMemPattern(false); err != nil {
		return nil, err
	}
	if ep != nil {
		if err := ep(o); err != nil {
			return nil, err
		}
	}
	return ort.NewDynamicAdvancedSession(path, in, out, o)
}

// Close releases the session.
func (s *Session) Close() error {
	if s == nil || s.s == nil {
		return nil
	}
	err := s.s.Destroy()
	s.s = nil
	return err
}

// Run runs the model on inputs (in manifest order); nil outputs are
// allocated by ONNX Runtime and must be destroyed by the caller. Cancelling
// ctx terminates a run in progress.
func (s *Session) Run(ctx context.Context, inputs, outputs []ort.Value) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ro, err := ort.NewRunOptions()
	if err != nil {
		return fmt.Errorf("model %q: %w", s.Manifest.Name, err)
	}
	// The watcher must have exited before the run options are destroyed,
	// or a late cancellation would terminate freed options.
	stop, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-ctx.Done():
			ro.Terminate()
		case <-stop:
		}
	}()
	defer func() {
		close(stop)
		<-exited
		ro.Destroy()
	}()
	if err := s.s.RunWithOptions(inputs, outputs, ro); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("run model %q: %w", s.Manifest.Name, err)
	}
	return nil
}

// Signature reads the inputs and outputs an ONNX model file declares, in
// the manifest's terms. The runtime must have been loaded (NewRuntime).
func Signature(path string) (inputs, outputs []models.Tensor, err error) {
	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		return nil, nil, err
	}
	return tensorsOf(ins), tensorsOf(outs), nil
}

func tensorsOf(infos []ort.InputOutputInfo) []models.Tensor {
	out := make([]models.Tensor, len(infos))
	for i, in := range infos {
		t := models.Tensor{Name: in.Name, Type: typeName(in.DataType)}
		if in.OrtValueType != ort.ONNXTypeTensor {
			t.Type = in.OrtValueType.String()
		}
		t.Shape = append([]int64(nil), in.Dimensions...)
		out[i] = t
	}
	return out
}

func typeName(t ort.TensorElementDataType) string {
	switch t {
	case ort.TensorElementDataTypeFloat:
		return "float32"
	case ort.TensorElementDataTypeFloat16:
		return "float16"
	case ort.TensorElementDataTypeDouble:
		return "float64"
	case ort.TensorElementDataTypeInt64:
		return "int64"
	case ort.TensorElementDataTypeInt32:
		return "int32"
	case ort.TensorElementDataTypeUint8:
		return "uint8"
	case ort.TensorElementDataTypeBool:
		return "bool"
	}
	return t.String()
}
