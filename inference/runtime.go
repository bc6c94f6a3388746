package inference

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
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
	// Library is the path of libonnxruntime. Empty: $POLYSEG_ORT_LIB, else
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

	mu       sync.Mutex
	provider Provider // what the last session created actually got
	note     string   // why the provider differs from the request, if it does
}

// ortEnv guards the process-wide ONNX Runtime environment. onnxruntime_go
// keeps its environment in package globals (one per process, bound to one
// shared library), so this package can only mirror that: the first
// NewRuntime initialises it, later ones reuse it and must name the same
// library. It is never destroyed: sessions of any Runtime may still be
// alive, and re-initialising ONNX Runtime in one process is not supported.
var ortEnv struct {
	once sync.Once
	lib  string
	err  error
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
	lib := opts.Library
	if lib == "" {
		lib = os.Getenv("POLYSEG_ORT_LIB")
	}
	if lib == "" {
		lib = filepath.Join(cache, "runtime", "libonnxruntime.so.1")
	}
	if abs, err := filepath.Abs(lib); err == nil {
		lib = abs
	}
	if _, err := os.Stat(lib); err != nil {
		return nil, fmt.Errorf("%w: %s (run scripts/fetch-runtime.sh or set POLYSEG_ORT_LIB): %w", ErrNoRuntime, lib, err)
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

	ortEnv.once.Do(func() {
		ortEnv.lib = lib
		ort.SetSharedLibraryPath(lib)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			ortEnv.err = fmt.Errorf("initialise ONNX Runtime from %s: %w", lib, err)
		}
	})
	if ortEnv.err != nil {
		return nil, ortEnv.err
	}
	if ortEnv.lib != lib {
		return nil, fmt.Errorf("ONNX Runtime already loaded from %s in this process; cannot also load %s", ortEnv.lib, lib)
	}
	return &Runtime{lib: lib, cacheDir: cache, want: want, threads: threads, provider: want}, nil
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

// Provider returns the execution provider the most recent session actually
// got, and when it differs from the one asked for, why.
func (r *Runtime) Provider() (Provider, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.provider, r.note
}

// Session is one ONNX model loaded for repeated runs. It is safe for
// concurrent use (ONNX Runtime's Run is).
type Session struct {
	Manifest *models.Manifest
	provider Provider
	inNames  []string
	outNames []string
	s        *ort.DynamicAdvancedSession
}

// Provider returns the execution provider this session runs on.
func (s *Session) Provider() Provider { return s.provider }

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

	try := []Provider{ProviderCPU}
	switch {
	case r.want == ProviderCUDA:
		try = []Provider{ProviderCUDA, ProviderCPU}
	case r.want == ProviderAuto && r.hasCUDAProvider():
		try = []Provider{ProviderCUDA, ProviderCPU}
	}
	var note string
	for _, p := range try {
		sess, err := r.newSession(path, s.inNames, s.outNames, p)
		if err != nil {
			if p == ProviderCUDA {
				note = fmt.Sprintf("CUDA unavailable (%v); running on the CPU", err)
				continue
			}
			return nil, fmt.Errorf("model %q: create session for %s: %w", m.Name, path, err)
		}
		s.s, s.provider = sess, p
		break
	}
	r.mu.Lock()
	r.provider, r.note = s.provider, note
	r.mu.Unlock()
	return s, nil
}

// hasCUDAProvider reports whether the library's folder holds the CUDA
// provider plugin. Without it appending CUDA can only fail (the CPU build
// fetched by scripts/fetch-runtime.sh lists CUDA but lacks the plugin), and
// ONNX Runtime logs that failure on stderr, so "auto" does not try.
func (r *Runtime) hasCUDAProvider() bool {
	_, err := os.Stat(filepath.Join(filepath.Dir(r.lib), "libonnxruntime_providers_cuda.so"))
	return err == nil
}

func (r *Runtime) newSession(path string, in, out []string, p Provider) (*ort.DynamicAdvancedSession, error) {
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
	if p == ProviderCUDA {
		co, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return nil, err
		}
		defer co.Destroy()
		if err := o.AppendExecutionProviderCUDA(co); err != nil {
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
