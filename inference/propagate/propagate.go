package propagate

import (
	"context"
	"fmt"
	"slices"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/volume"
)

// Anchor is a slice on which the user said what the structure is: the
// mask of one label on that slice image (radiological orientation, see
// Slicer). Anchors are never changed by an engine.
type Anchor struct {
	Slice int
	Mask  *section.Mask
}

// SliceRange is an inclusive range of slice indices.
type SliceRange struct {
	From, To int
}

// Contains reports whether slice k lies in r.
func (r SliceRange) Contains(k int) bool { return k >= r.From && k <= r.To }

// Prior is what a segmentation model thinks of the structure, slice by
// slice: for slice k, the probability of every pixel of the slice image
// (rows x cols, row-major) in [0, 1]. Engines use it to guard against
// leaks; it never adds pixels on its own.
type Prior interface {
	Probability(ctx context.Context, k int) ([]float32, error)
}

// Request asks an engine to carry the anchors of one label
// through a volume.
type Request struct {
	Volume *volume.Volume
	// Plane is the slicing plane. Engines built on SAM see axial slices
	// only, like the rest of this package.
	Plane section.Plane
	// Label is the label value the anchors belong to. Engines use it only
	// to say what they did; they never tune anything on it, and the image
	// window comes from Window, never from the value.
	Label uint16
	// Anchors are the annotated slices, in any order, one per slice.
	Anchors []Anchor
	// Range, when set, bounds the slices the engine may decide; the
	// anchors must lie inside it. Nil means every slice.
	Range *SliceRange
	// Window is the image window the encoder sees (the one the user chose
	// for the segment); nil means the encoder manifest's default window.
	Window *models.Window
	// Prior, when set, is a segmentation model's view of the structure.
	Prior Prior
	// Previous, when set, returns the mask slice k had before the
	// correction this propagation carries (for a corrected anchor, its
	// mask before the correction; for any other slice, what it holds
	// now): a propagation run again over slices it decided before. An
	// engine may then carry only the anchors' changes, near where they
	// were made, and stop a chain where the change has died out, leaving
	// the slices beyond undecided. Nil, or a nil mask, means nothing is
	// known of the slice.
	Previous func(k int) *section.Mask
	// OnSlice, when set, hears about every slice as soon as it is
	// decided, from the engine's goroutine; it must be quick.
	OnSlice func(SliceResult)
	// Progress, when set, hears about every slice too, for a status line.
	Progress onnxrt.Progress
}

// SliceResult is one decided slice.
type SliceResult struct {
	Slice int
	// Mask is the structure on the slice image; empty where the engine
	// found that the structure has ended.
	Mask *section.Mask
	// Confidence in [0, 1] says how much the engine trusts the slice
	// (1 for anchors); a UI shows it so that people check the doubtful
	// slices first.
	Confidence float64
	// Anchor is set for the anchors themselves.
	Anchor bool
	// Stop, on the slice where a chain ended, says why. The mask there is
	// empty, or what the engine could still trust of the structure's end
	// (the "sam" engine's SAMOptions.EndKeep).
	Stop string
	// Note says in a few words what the confidence is made of, for a
	// tooltip or a log.
	Note string
	// Reason says in plain words what lowered the confidence most (for a
	// stopped slice, why the chain stopped): what a person is told about
	// a doubtful slice. Empty for anchors.
	Reason string
	// Unchecked marks a slice the engine did not decide but asks a person
	// to look at: just beyond where a chain going outward stopped while
	// the structure was still on its last slice (the "sam" engine's kept
	// tip, SAMOptions.EndKeep), the structure may go on. Its Mask is nil,
	// its Confidence 0 and its Reason says why; nothing is written there.
	Unchecked bool
	// LowRes, when the engine has it, is SAM's low-resolution answer for
	// the slice (sam.LowRes² logits, outside the decided mask pushed to
	// background): the mask prompt a later prompt on this slice (a click
	// correcting it) starts from. Nil for anchors.
	LowRes []float32
}

// Doubtful is the one meaning of "doubtful" that the app's strip, its
// "next doubtful slice", the command line and the reports share: a decided
// slice that is not an anchor and whose confidence is below below (the
// engine's DoubtBelow option), or a slice flagged past a chain's end
// (SliceResult.Unchecked), whatever the threshold: nothing was decided
// there to have a confidence. A slice where a chain stopped counts like
// any other, by its confidence. NaN (no confidence) is not doubtful.
func Doubtful(confidence float64, anchor, unchecked bool, below float64) bool {
	return unchecked || !anchor && confidence < below
}

// Result is an engine's result: every slice it decided, in slice
// order, and what ran.
type Result struct {
	Slices []SliceResult
	Info   EngineInfo
}

// Range returns the first and last slice decided (Unchecked slices left
// out), and false when none.
func (p *Result) Range() (SliceRange, bool) {
	r, ok := SliceRange{}, false
	for _, s := range p.Slices {
		if s.Unchecked {
			continue
		}
		if !ok {
			r.From, ok = s.Slice, true
		}
		r.To = s.Slice
	}
	return r, ok
}

// EngineInfo says what an engine ran, for provenance records and the
// status line.
type EngineInfo struct {
	Engine   string            `json:"engine"`
	Provider string            `json:"provider"`
	Models   []onnxrt.ModelRef `json:"models"`
	Options  map[string]any    `json:"options,omitempty"`
	Window   *models.Window    `json:"window,omitempty"`
	Anchors  []int             `json:"anchor_slices"`
	Range    *SliceRange       `json:"range,omitempty"`
}

// Engine carries annotated slices through a volume. Implementations honour
// cancellation promptly and are safe for concurrent use.
type Engine interface {
	// Name is the engine's name on the command line and in the UI.
	Name() string
	// Propagate decides every slice it can reach from the anchors: the
	// span between two neighbouring anchors is filled from both ends, and
	// outward from the outermost anchors the engine runs until the
	// structure ends (or the range does).
	Propagate(ctx context.Context, req Request) (*Result, error)
}

// CheckRequest validates what every engine needs and returns the slicer,
// the range and the anchors sorted by slice.
func CheckRequest(req Request) (*section.Slicer, SliceRange, []Anchor, error) {
	if req.Volume == nil {
		return nil, SliceRange{}, nil, fmt.Errorf("propagate: no volume")
	}
	plane := req.Plane
	if plane == "" {
		plane = section.Axial
	}
	sl, err := section.NewSlicer(req.Volume.Grid, plane)
	if err != nil {
		return nil, SliceRange{}, nil, fmt.Errorf("propagate: %w", err)
	}
	if len(req.Volume.Data) != req.Volume.Len() {
		return nil, SliceRange{}, nil, fmt.Errorf("propagate: volume has %d voxels, its grid %v needs %d", len(req.Volume.Data), req.Volume.Dims, req.Volume.Len())
	}
	r := SliceRange{From: 0, To: sl.Slices - 1}
	if req.Range != nil {
		r = *req.Range
		if r.From > r.To || r.From < 0 || r.To >= sl.Slices {
			return nil, SliceRange{}, nil, fmt.Errorf("propagate: range %d:%d outside slices 0..%d", r.From, r.To, sl.Slices-1)
		}
	}
	if len(req.Anchors) == 0 {
		return nil, SliceRange{}, nil, fmt.Errorf("propagate: no anchor slice")
	}
	anchors := slices.Clone(req.Anchors)
	slices.SortFunc(anchors, func(a, b Anchor) int { return a.Slice - b.Slice })
	for i, a := range anchors {
		switch {
		case !r.Contains(a.Slice):
			return nil, SliceRange{}, nil, fmt.Errorf("propagate: anchor slice %d outside the range %d:%d", a.Slice, r.From, r.To)
		case i > 0 && anchors[i-1].Slice == a.Slice:
			return nil, SliceRange{}, nil, fmt.Errorf("propagate: two anchors on slice %d", a.Slice)
		case a.Mask == nil || a.Mask.Rows != sl.Rows || a.Mask.Cols != sl.Cols:
			return nil, SliceRange{}, nil, fmt.Errorf("propagate: anchor on slice %d is not a %dx%d mask", a.Slice, sl.Rows, sl.Cols)
		case a.Mask.Area() == 0:
			return nil, SliceRange{}, nil, fmt.Errorf("propagate: anchor on slice %d is empty", a.Slice)
		}
	}
	return sl, r, anchors, nil
}
