package app

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/polyseg/polyseg/inference/refine"
	"github.com/polyseg/polyseg/interp"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// FillMode is how FillBetween fills the slices between annotated ones.
type FillMode int

const (
	// FillShape is shape-based interpolation alone (package interp,
	// linear): what ITK-SNAP and 3D Slicer do, in any plane, in a moment.
	FillShape FillMode = iota
	// FillGuided lets SAM correct the interpolated shape on each slice
	// (sam.Model.FillBetween): axial slices only, about a decoder run
	// per slice once the slices are encoded.
	FillGuided
)

func (m FillMode) String() string {
	switch m {
	case FillShape:
		return "shape"
	case FillGuided:
		return "SAM"
	}
	return fmt.Sprintf("FillMode(%d)", int(m))
}

// FillBetween fills label value on the slices of plane that lie between
// slices where the label is drawn, as a job whose result becomes the
// preview: Enter accepts it as one undo step, Esc rejects it. The preview
// only adds the label to background voxels of the slices it fills: the
// drawn slices, other labels and the label's ends beyond the outermost
// drawn slices stay as they are. It refuses at once what cannot work: no
// scan, background, a label with nothing to fill between, SAM on a plane
// other than axial.
func (s *Session) FillBetween(plane viewer.Plane, value uint16, mode FillMode) (*Job, error) {
	if value == 0 {
		return nil, errors.New("fill between slices: choose a label other than background")
	}
	if mode != FillShape && mode != FillGuided {
		return nil, fmt.Errorf("fill between slices: unknown mode %v", mode)
	}
	if mode == FillGuided && plane != viewer.Axial {
		return nil, fmt.Errorf("fill between slices with SAM works on axial slices, not %s ones: SAM segments axial slices", plane)
	}
	s.mu.RLock()
	v := s.vol
	var labels *volume.Labels
	var name string
	if v != nil {
		labels = &volume.Labels{Grid: s.layer.Labels.Grid, Data: slices.Clone(s.layer.Labels.Data)}
		name = s.layer.Table.Name(value)
	}
	s.mu.RUnlock()
	if v == nil {
		return nil, ErrNoVolume
	}
	axis := interp.SliceAxis(v.Grid, plane.Normal())
	ann := interp.Annotated(labels, axis, value)
	switch {
	case len(ann) == 0:
		return nil, fmt.Errorf("fill between slices: label %d (%s) is drawn on no slice", value, name)
	case len(interp.Gaps(ann)) == 0:
		// In the views' numbering, which may run against the voxel index.
		vs := viewer.NewSlicer(v.Grid, plane)
		number := func(k int) int {
			var p [3]int
			p[axis] = k
			n, _, _ := vs.Locate(p[0], p[1], p[2])
			return n + 1
		}
		a, b := number(ann[0]), number(ann[len(ann)-1])
		return nil, fmt.Errorf("fill between slices: label %d (%s) is drawn on %s slices %d to %d with none empty between them; draw it on every few slices first",
			value, name, plane, min(a, b), max(a, b))
	}
	title := fmt.Sprintf("Fill %s between %s slices (%s)", name, plane, mode)
	return s.startModelJob(title, func(ctx context.Context, p Progress, v *volume.Volume) (*preview, error) {
		var out *volume.Labels
		switch mode {
		case FillShape:
			res, err := interp.Fill(ctx, labels, value, interp.Options{Axis: axis, Progress: progressOf(p)})
			if err != nil {
				return nil, err
			}
			out = res.Labels
		case FillGuided:
			p.Report(-1, "loading SAM")
			sm, err := s.models.SAM()
			s.changed(ChangeModels)
			if err != nil {
				return nil, err
			}
			out, _, err = refine.FillBetween(ctx, sm, v, labels, value, refine.FillOptions{Window: s.samWindow(value), Progress: progressOf(p)})
			if err != nil {
				return nil, err
			}
		}
		// The preview decides only the voxels the fill adds.
		var scope []uint32
		for i, x := range out.Data {
			if x == value && labels.Data[i] != value {
				scope = append(scope, uint32(i))
			}
		}
		return newPreview(title, v, proposalOf(out), []uint16{value}, -1, scope), nil
	})
}
