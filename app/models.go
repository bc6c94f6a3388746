package app

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/propagate"
	"github.com/polyseg/polyseg/inference/refine"
	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/inference/sam2"
	"github.com/polyseg/polyseg/inference/unet"
	"github.com/polyseg/polyseg/internal/settings"
	"github.com/polyseg/polyseg/models"
)

// DefaultUNet is the segmentation model a session runs unless told
// otherwise: the seven-organ U-Net of the learning loop, compiled in
// (models/polycl-abdomen; docs/learning-loop.md says how it was trained
// and measured).
const DefaultUNet = "polycl-abdomen"

// ErrNoModel marks a model that could not be found or loaded: a missing
// manifest, a missing or damaged weights file. Scan viewing goes on.
var ErrNoModel = errors.New("no model found")

// ErrNoRuntime marks a missing ONNX Runtime library (the error of
// package onnxrt, here so that the UI need not know the runtime): the user
// should run scripts/setup.sh or set POLYSEG_ORT_LIB.
var ErrNoRuntime = onnxrt.ErrNoRuntime

// ModelOptions say where a session's models come from. The zero value is
// usable.
type ModelOptions struct {
	// Runtime configures ONNX Runtime (library, cache folder, provider).
	Runtime onnxrt.Options
	// Dirs are searched, in order, for the U-Net's manifest, and only
	// they. Empty means models.SearchDirs ($POLYSEG_MODELS, else the models
	// folder next to the executable, ./models and the runtime cache's),
	// falling back to the model compiled into the binary.
	Dirs []string
	// UNet names the segmentation model (a name looked up in Dirs, or a
	// manifest path). Empty means DefaultUNet.
	UNet string
	// SAM configures the Segment Anything runner (embedding cache,
	// encoder variant); SAMOptions makes it from the settings.
	SAM sam.Options
	// Settings are the user's settings (internal/settings); the session
	// takes the segments' SAM windows from them.
	Settings settings.Settings
	// Propagation tunes the "sam" propagation engine; nil means
	// propagate.DefaultSAMOptions.
	Propagation *propagate.SAMOptions
	// Clicks tunes how SAM clicks are asked (refine.ClickOptions; the zero
	// value gives its defaults): for the measurements that chose them.
	Clicks refine.ClickOptions
	// SAM2Dir is the folder of a SAM 2 export with its manifests (see
	// docs/sam2.md); empty means the "sam2" engine is unavailable.
	SAM2Dir string
	// UNetGuard lets a loaded U-Net that segments a structure of the
	// segment's name guard SAM's boxes, clicks and propagations with its
	// probabilities. Off by default: on the real patients it cut real
	// organ more than it stopped leaks (docs/interactive.md; the liver
	// U-Net's own Dice there is 0.77 and 0.93).
	UNetGuard bool
}

// ModelStatus is what a session knows about its models, for menus and the
// status line. Errors say why a model cannot be used; a nil error with an
// empty name means it has not been looked for yet.
type ModelStatus struct {
	// RuntimeErr is set when ONNX Runtime cannot be loaded; it wraps
	// ErrNoRuntime when the library is missing.
	RuntimeErr error
	// Provider is the execution provider models actually run on ("CPU",
	// "CUDA"), empty until a model has been loaded.
	Provider string
	// ProviderNote says why the provider differs from the one asked for.
	ProviderNote string
	// UNet is the name of the segmentation model, once found; UNetErr why
	// there is none (wrapping ErrNoModel when it was not found).
	UNet    string
	UNetErr error
	// SAM reports whether SAM's manifests were found (the weights are
	// checked when it is first loaded); SAMErr why not.
	SAM    bool
	SAMErr error
}

// Models holds the ONNX Runtime and the models a session runs, loading each
// the first time it is needed and keeping it: loading checks the weights'
// sha256 and builds ONNX Runtime sessions, which takes seconds. Several
// sessions may share one Models (tests do); it is safe for concurrent use.
// Failures are not remembered: a model fetched after a failed attempt is
// found on the next.
type Models struct {
	opts ModelOptions

	load sync.Mutex // serialises loading, which may take seconds

	mu     sync.Mutex // guards what follows; never held while loading
	rt     *onnxrt.Runtime
	unet   *unet.Model
	sam    *sam.Model
	sam2   *sam2.Model
	status ModelStatus
	pick   unetPick // a U-Net chosen at run time (unetpick.go)
}

// NewModels returns a holder that loads models as opts say, when first
// needed.
func NewModels(opts ModelOptions) *Models {
	if opts.UNet == "" {
		opts.UNet = DefaultUNet
	}
	return &Models{opts: opts}
}

// Status returns what is known now, without loading anything.
func (m *Models) Status() ModelStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status
}

// Probe loads the runtime and the U-Net and looks for SAM's manifests,
// so that menus can be enabled and the status line can name the provider;
// SAM's weights are left for its first use. It returns the status.
func (m *Models) Probe() ModelStatus {
	rt, err := m.Runtime()
	if err != nil {
		return m.Status()
	}
	_, _ = m.UNet() // its error goes into the status
	samErr := findSAM(rt.ModelDir())
	m.mu.Lock()
	if m.sam == nil {
		m.status.SAM, m.status.SAMErr = samErr == nil, samErr
	}
	m.mu.Unlock()
	return m.Status()
}

// findSAM checks that dir holds SAM's encoder and decoder manifests and
// the model files they name, without reading the weights.
func findSAM(dir string) error {
	entries, err := models.Scan(dir)
	if err != nil {
		return fmt.Errorf("%w: SAM: %w", ErrNoModel, err)
	}
	for _, name := range []string{"sam-encoder", "sam-decoder"} {
		i := slices.IndexFunc(entries, func(e models.Entry) bool { return filepath.Base(e.Path) == name+".json" })
		switch {
		case i < 0:
			return fmt.Errorf("%w: no %s.json in %s (run scripts/fetch-runtime.sh)", ErrNoModel, name, dir)
		case entries[i].Err != nil:
			return fmt.Errorf("%w: %w", ErrNoModel, entries[i].Err)
		}
	}
	return nil
}

// Runtime returns the ONNX Runtime, loading the library the first time.
func (m *Models) Runtime() (*onnxrt.Runtime, error) {
	m.load.Lock()
	defer m.load.Unlock()
	return m.runtimeLocked()
}

func (m *Models) runtimeLocked() (*onnxrt.Runtime, error) {
	m.mu.Lock()
	rt := m.rt
	m.mu.Unlock()
	if rt != nil {
		return rt, nil
	}
	rt, err := onnxrt.NewRuntime(m.opts.Runtime)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status.RuntimeErr = err
	if err != nil {
		// inference's errors name the library and the way to fetch it.
		m.status.UNetErr, m.status.SAMErr = err, err
		return nil, err
	}
	m.rt = rt
	return rt, nil
}

// Dirs returns the folders searched for the U-Net's manifest.
func (m *Models) Dirs() []string {
	m.mu.Lock()
	rt := m.rt
	m.mu.Unlock()
	return modelDirs(m.opts.Dirs, rt)
}

func modelDirs(dirs []string, rt *onnxrt.Runtime) []string {
	if len(dirs) > 0 {
		return dirs
	}
	cache := ""
	if rt != nil {
		cache = rt.ModelDir()
	}
	return models.SearchDirs(cache)
}

// UNet returns the segmentation model, loading it the first time.
func (m *Models) UNet() (*unet.Model, error) {
	if u, ok, err := m.pickedUNet(); ok {
		return u, err
	}
	return loadOnce(m, &m.unet, m.loadUNet, func(u *unet.Model, err error) {
		m.status.UNetErr = err
		if err == nil {
			m.status.UNet = u.Manifest().Name
		}
	})
}

func (m *Models) loadUNet(rt *onnxrt.Runtime) (*unet.Model, error) {
	var man *models.Manifest
	var err error
	if len(m.opts.Dirs) > 0 {
		// Folders chosen by the caller are searched alone.
		man, err = models.Find(m.opts.UNet, m.opts.Dirs...)
	} else {
		man, err = models.Resolve(m.opts.UNet, rt.ModelDir(), modelDirs(nil, rt)...)
	}
	if err == nil {
		var u *unet.Model
		if u, err = unet.Load(rt, man); err == nil {
			return u, nil
		}
	}
	// A damaged manifest or weights file leaves no usable model either.
	return nil, fmt.Errorf("%w: %w", ErrNoModel, err)
}

// SAM returns Segment Anything, loading it the first time.
func (m *Models) SAM() (*sam.Model, error) {
	return loadOnce(m, &m.sam, func(rt *onnxrt.Runtime) (*sam.Model, error) {
		s, err := sam.LoadDefault(rt, m.opts.SAM)
		if err != nil {
			err = fmt.Errorf("%w: SAM (run scripts/fetch-runtime.sh): %w", ErrNoModel, err)
		}
		return s, err
	}, func(_ *sam.Model, err error) { m.status.SAM, m.status.SAMErr = err == nil, err })
}

// loadOnce returns the model in slot, loading it with load the first time
// it is asked for. Loads are serialised by m.load, so that two callers
// never build the same sessions twice; record, when not nil, notes the
// outcome in the status, with m.mu held. A failure is not kept: a model
// fetched after it is found on the next call.
func loadOnce[T comparable](m *Models, slot *T, load func(*onnxrt.Runtime) (T, error), record func(T, error)) (T, error) {
	var zero T
	m.load.Lock()
	defer m.load.Unlock()
	m.mu.Lock()
	v := *slot
	m.mu.Unlock()
	if v != zero {
		return v, nil
	}
	rt, err := m.runtimeLocked()
	if err != nil {
		return zero, err
	}
	v, err = load(rt)
	m.mu.Lock()
	defer m.mu.Unlock()
	if record != nil {
		record(v, err)
	}
	if err != nil {
		return zero, err
	}
	*slot = v
	m.noteProvider(rt)
	return v, nil
}

// noteProvider records the provider of the model just loaded; m.mu is held.
func (m *Models) noteProvider(rt *onnxrt.Runtime) {
	p, note := rt.Provider()
	m.status.Provider, m.status.ProviderNote = strings.ToUpper(string(p)), note
}

// Close releases the loaded models. The runtime library stays loaded: ONNX
// Runtime cannot be unloaded from a process.
func (m *Models) Close() error {
	m.load.Lock()
	defer m.load.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	errs := m.closePickedLocked()
	if m.unet != nil {
		errs = append(errs, m.unet.Close())
		m.unet = nil
	}
	if m.sam != nil {
		errs = append(errs, m.sam.Close())
		m.sam = nil
	}
	if m.sam2 != nil {
		errs = append(errs, m.sam2.Close())
		m.sam2 = nil
	}
	return errors.Join(errs...)
}

// LoadedUNet returns the segmentation model if it is loaded already, nil
// otherwise: for uses that are worth it only when it costs nothing.
func (m *Models) LoadedUNet() *unet.Model {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, ok := m.loadedPickLocked(); ok {
		return u
	}
	return m.unet
}

// Engine returns the propagation engine named name (EngineSAM or
// EngineSAM2), loading what it runs the first time.
func (m *Models) Engine(name string) (propagate.Engine, error) {
	switch name {
	case "", EngineSAM:
		s, err := m.SAM()
		if err != nil {
			return nil, err
		}
		return propagate.NewSAMEngine(s, m.PropagationOptions()), nil
	case EngineSAM2:
		return m.SAM2()
	}
	return nil, fmt.Errorf("unknown propagation engine %q (want sam or sam2)", name)
}

// SAM2 returns the SAM 2 engine of the folder ModelOptions.SAM2Dir names,
// loading it the first time.
func (m *Models) SAM2() (*sam2.Model, error) {
	if m.opts.SAM2Dir == "" {
		return nil, fmt.Errorf("%w: engine sam2: no SAM 2 folder given (polyseg view --sam2 DIR; docs/sam2.md)", ErrNoModel)
	}
	return loadOnce(m, &m.sam2, func(rt *onnxrt.Runtime) (*sam2.Model, error) {
		s, err := sam2.Load(rt, m.opts.SAM2Dir, sam2.Options{})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNoModel, err)
		}
		return s, nil
	}, nil)
}

// HasSAM2 reports whether a SAM 2 folder was given.
func (m *Models) HasSAM2() bool { return m.opts.SAM2Dir != "" }

// LoadedSAM returns SAM if it is loaded already, nil otherwise.
func (m *Models) LoadedSAM() *sam.Model {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sam
}

// PropagationOptions returns the options the "sam" propagation engine runs
// with: ModelOptions.Propagation, else propagate.DefaultSAMOptions.
func (m *Models) PropagationOptions() propagate.SAMOptions {
	if m.opts.Propagation != nil {
		return *m.opts.Propagation
	}
	return propagate.DefaultSAMOptions()
}

// ClickOptions returns how SAM clicks are asked (ModelOptions.Clicks).
func (m *Models) ClickOptions() refine.ClickOptions { return m.opts.Clicks }

// DoubtBelow is the confidence under which a propagated slice is doubtful:
// the "sam" engine's option, whichever engine ran, so that every part of
// the app means the same by "doubtful".
func (m *Models) DoubtBelow() float64 { return m.PropagationOptions().DoubtBelow }

// UNetGuard reports whether a loaded U-Net guards SAM (ModelOptions).
func (m *Models) UNetGuard() bool { return m.opts.UNetGuard }
