package models

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/polyseg/polyseg/internal/atomicfile"
)

// Format is the manifest format this package reads.
const Format = "polyseg-model/1"

// Kinds of model a manifest can describe.
const (
	KindUNet       = "unet"
	KindSAMEncoder = "sam-encoder"
	KindSAMDecoder = "sam-decoder"

	// The four parts of a SAM 2 export (docs/sam2.md), which the "sam2"
	// propagation engine runs together.
	KindSAM2ImageEncoder    = "sam2-image-encoder"
	KindSAM2MemoryAttention = "sam2-memory-attention"
	KindSAM2MemoryEncoder   = "sam2-memory-encoder"
	KindSAM2MaskDecoder     = "sam2-mask-decoder"
)

// knownKinds lists every kind docs/model-manifest.md defines.
var knownKinds = map[string]bool{
	KindUNet: true, KindSAMEncoder: true, KindSAMDecoder: true,
	KindSAM2ImageEncoder: true, KindSAM2MemoryAttention: true,
	KindSAM2MemoryEncoder: true, KindSAM2MaskDecoder: true,
}

// Normalisations a manifest's preprocess block can ask for.
const (
	NormWindow01 = "window01"
	NormSAM      = "sam"
)

// Manifest describes one ONNX model file (docs/model-manifest.md).
type Manifest struct {
	Format     string          `json:"format"`
	Name       string          `json:"name"`
	Kind       string          `json:"kind"`
	File       string          `json:"file"`
	SHA256     string          `json:"sha256"`
	Inputs     []Tensor        `json:"inputs"`
	Outputs    []Tensor        `json:"outputs"`
	Preprocess Preprocess      `json:"preprocess"`
	Activation string          `json:"activation,omitempty"`
	Threshold  float64         `json:"threshold,omitempty"`
	Labels     []Label         `json:"labels,omitempty"`
	Licence    string          `json:"licence,omitempty"`
	Provenance json.RawMessage `json:"provenance,omitempty"`
	Metrics    json.RawMessage `json:"metrics,omitempty"`

	// Path is the manifest file this was read from (not part of the JSON).
	Path string `json:"-"`
}

// Tensor is one input or output of the ONNX graph. -1 (or any negative
// value) in Shape marks a dynamic dimension; an empty Shape ([] in JSON) is
// a scalar, a missing one an error.
type Tensor struct {
	Name  string  `json:"name"`
	Shape []int64 `json:"shape"`
	Type  string  `json:"type"`
}

// Preprocess says how a slice becomes the model's input.
type Preprocess struct {
	Plane       string `json:"plane,omitempty"`
	Orientation string `json:"orientation,omitempty"`
	Window      Window `json:"window"`
	Normalize   string `json:"normalize,omitempty"`
	Size        [2]int `json:"size"`
	Resize      string `json:"resize,omitempty"`
	// Mean and Std are per-channel, for normalize "sam" (SAM's ImageNet
	// values when absent). An extension of the documented format.
	Mean []float64 `json:"mean,omitempty"`
	Std  []float64 `json:"std,omitempty"`
}

// Window is a CT display window in Hounsfield units.
type Window struct {
	Level float64 `json:"level"`
	Width float64 `json:"width"`
}

// Range returns the HU interval the window maps to black..white.
func (w Window) Range() (lo, hi float64) {
	return w.Level - w.Width/2, w.Level + w.Width/2
}

// Label maps an output channel to the label value written into label
// volumes.
type Label struct {
	Channel int    `json:"channel"`
	Value   uint16 `json:"value"`
	Name    string `json:"name"`
}

// ModelPath returns the path of the ONNX file the manifest describes: the
// manifest's directory joined with File.
func (m *Manifest) ModelPath() string {
	return filepath.Join(filepath.Dir(m.Path), m.File)
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Load reads and validates the manifest at path (NAME.json).
func Load(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("model manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("model manifest %s: %w", path, err)
	}
	m.Path = path
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Write writes m as the manifest at path, indented, atomically (a reader
// sees the old file or the new one, never a part), and sets m.Path.
func Write(m *Manifest, path string) error {
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("model manifest %s: %w", m.Name, err)
	}
	if err := atomicfile.WriteFile(path, 0o644, func(w io.Writer) error { _, err := w.Write(append(js, '\n')); return err }); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	m.Path = path
	return nil
}

// Validate checks the fields every consumer relies on. Errors name the model
// and the manifest file.
func (m *Manifest) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("model %q (%s): %s", m.Name, m.Path, fmt.Sprintf(format, a...))
	}
	switch {
	case m.Format != Format:
		return bad("format %q, want %q", m.Format, Format)
	case m.Name == "":
		return bad("no name")
	case !knownKinds[m.Kind]:
		return bad("unknown kind %q", m.Kind)
	case m.File == "" || m.File != filepath.Base(m.File) || m.File == "." || m.File == "..":
		return bad("file %q must be a plain file name beside the manifest", m.File)
	case !hex64.MatchString(m.SHA256):
		return bad("sha256 %q is not 64 lowercase hex digits", m.SHA256)
	case len(m.Inputs) == 0 || len(m.Outputs) == 0:
		return bad("no inputs or outputs")
	}
	for _, t := range append(append([]Tensor{}, m.Inputs...), m.Outputs...) {
		// A scalar's shape is [], which JSON keeps apart from a missing
		// shape (nil): SAM 2's memory attention takes one.
		if t.Name == "" || t.Type == "" || t.Shape == nil {
			return bad("tensor %q needs a name, a type and a shape ([] for a scalar)", t.Name)
		}
	}
	if m.Kind == KindUNet {
		p := m.Preprocess
		switch {
		case p.Plane != "axial":
			return bad("preprocess.plane %q: only axial is supported", p.Plane)
		case p.Orientation != "radiological":
			return bad("preprocess.orientation %q: only radiological is supported", p.Orientation)
		case p.Normalize != NormWindow01:
			return bad("preprocess.normalize %q: a U-Net needs %q", p.Normalize, NormWindow01)
		case p.Window.Width <= 0:
			return bad("preprocess.window.width must be positive")
		case p.Size[0] <= 0 || p.Size[1] <= 0:
			return bad("preprocess.size %v must be positive", p.Size)
		case p.Resize != "" && p.Resize != "bilinear":
			return bad("preprocess.resize %q: only bilinear is supported", p.Resize)
		case m.Activation != "sigmoid" && m.Activation != "softmax":
			return bad("activation %q: want sigmoid or softmax", m.Activation)
		case len(m.Labels) == 0:
			return bad("no labels")
		case len(m.Inputs) != 1 || len(m.Outputs) != 1:
			return bad("a U-Net has one input and one output, not %d and %d", len(m.Inputs), len(m.Outputs))
		case len(m.Inputs[0].Shape) != 4 || len(m.Outputs[0].Shape) != 4:
			return bad("U-Net input and output must be N x C x H x W")
		}
		channels := m.Outputs[0].Shape[1]
		for _, l := range m.Labels {
			if l.Value == 0 {
				return bad("label %q has value 0, which is background", l.Name)
			}
			if l.Channel < 0 || (channels > 0 && int64(l.Channel) >= channels) {
				return bad("label %q channel %d outside the output's %d channels", l.Name, l.Channel, channels)
			}
			if m.Activation == "softmax" && l.Channel == 0 {
				return bad("label %q on channel 0, which softmax models use for background", l.Name)
			}
		}
		if m.Activation == "sigmoid" && (m.Threshold <= 0 || m.Threshold >= 1) {
			return bad("threshold %v must be in (0, 1)", m.Threshold)
		}
	}
	if m.Kind == KindSAMEncoder {
		p := m.Preprocess
		if p.Normalize != NormSAM || p.Size[0] <= 0 || p.Window.Width <= 0 {
			return bad("a SAM encoder needs preprocess.normalize %q, a size and a window", NormSAM)
		}
		if (len(p.Mean) != 0 && len(p.Mean) != 3) || (len(p.Std) != 0 && len(p.Std) != 3) {
			return bad("preprocess.mean and std need 3 values")
		}
	}
	return nil
}

// ErrChecksum marks a model file whose sha256 differs from its manifest.
var ErrChecksum = errors.New("checksum mismatch")

// Verify checks that the model file exists and has the manifest's sha256.
func (m *Manifest) Verify() error {
	p := m.ModelPath()
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("model %q: %w", m.Name, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("model %q: read %s: %w", m.Name, p, err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got != m.SHA256 {
		return fmt.Errorf("model %q: %s: %w: sha256 %s, manifest %s says %s (file corrupt or replaced)",
			m.Name, p, ErrChecksum, got, m.Path, m.SHA256)
	}
	return nil
}

// ErrSignature marks a model whose inputs or outputs differ from its
// manifest.
var ErrSignature = errors.New("signature mismatch")

// CheckSignature compares the graph's inputs and outputs, as ONNX Runtime
// reports them, with the manifest. Names, order, element types and ranks
// must match; a dimension fixed on both sides must be equal. A dynamic
// dimension in the file may stand for a fixed one in the manifest (SAM's
// decoder export names its batch dimension but always takes 1).
func (m *Manifest) CheckSignature(inputs, outputs []Tensor) error {
	if err := compareTensors("input", m.Inputs, inputs); err != nil {
		return fmt.Errorf("model %q (%s): %w: %w", m.Name, m.ModelPath(), ErrSignature, err)
	}
	if err := compareTensors("output", m.Outputs, outputs); err != nil {
		return fmt.Errorf("model %q (%s): %w: %w", m.Name, m.ModelPath(), ErrSignature, err)
	}
	return nil
}

func compareTensors(what string, want, got []Tensor) error {
	if len(want) != len(got) {
		return fmt.Errorf("%d %ss in the file (%s), manifest lists %d (%s)",
			len(got), what, tensorNames(got), len(want), tensorNames(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.Name != g.Name {
			return fmt.Errorf("%s %d is %q in the file, manifest says %q", what, i, g.Name, w.Name)
		}
		if w.Type != g.Type {
			return fmt.Errorf("%s %q is %s in the file, manifest says %s", what, w.Name, g.Type, w.Type)
		}
		if len(w.Shape) != len(g.Shape) {
			return fmt.Errorf("%s %q has shape %v in the file, manifest says %v", what, w.Name, g.Shape, w.Shape)
		}
		for d := range w.Shape {
			if w.Shape[d] >= 0 && g.Shape[d] >= 0 && w.Shape[d] != g.Shape[d] {
				return fmt.Errorf("%s %q has shape %v in the file, manifest says %v", what, w.Name, g.Shape, w.Shape)
			}
		}
	}
	return nil
}

func tensorNames(ts []Tensor) string {
	n := make([]string, len(ts))
	for i, t := range ts {
		n[i] = t.Name
	}
	return strings.Join(n, ", ")
}

// Entry is one manifest found by Scan: either a usable manifest or the
// reason it is not.
type Entry struct {
	Path     string
	Manifest *Manifest // nil when Err is set by Load
	Err      error     // why the model cannot be used; nil when it can
}

// Scan lists the manifests (*.json) in the given directories, in order. A
// directory that does not exist is skipped; a manifest that does not load,
// or whose ONNX file is missing, is returned with its error. The checksum is
// not checked here (that reads every model file): loading a model does it.
func Scan(dirs ...string) ([]Entry, error) {
	var out []Entry
	for _, dir := range dirs {
		names, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil {
			return nil, fmt.Errorf("scan models in %s: %w", dir, err)
		}
		sort.Strings(names)
		for _, p := range names {
			e := Entry{Path: p}
			e.Manifest, e.Err = Load(p)
			if e.Err == nil {
				if _, err := os.Stat(e.Manifest.ModelPath()); err != nil {
					e.Err = fmt.Errorf("model %q: %w", e.Manifest.Name, err)
				}
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// Find resolves a model reference as a command line gives it: a model
// folder (NAME/NAME.json, see LoadFolder), a path to a manifest (anything
// ending in .json, or an existing file), or a model name looked up as
// NAME.json in dirs, first match wins.
func Find(ref string, dirs ...string) (*Manifest, error) {
	if isModelFolder(ref) {
		return LoadFolder(ref)
	}
	if strings.HasSuffix(ref, ".json") || strings.ContainsRune(ref, os.PathSeparator) {
		return Load(ref)
	}
	for _, d := range dirs {
		p := filepath.Join(d, ref+".json")
		if _, err := os.Stat(p); err == nil {
			return Load(p)
		}
	}
	return nil, fmt.Errorf("model %q: no %s.json in %s", ref, ref, strings.Join(dirs, ", "))
}
