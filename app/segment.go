package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/refine"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/inference/unet"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// Models returns the holder of the session's models.
func (s *Session) Models() *Models { return s.models }

// ModelStatus returns what the session knows of its models, without
// loading any.
func (s *Session) ModelStatus() ModelStatus { return s.models.Status() }

// ProbeModels loads ONNX Runtime and the U-Net in the background and looks
// for SAM, so that menus and the status line can tell what is available;
// listeners hear ChangeModels when it is known, and the channel is closed
// then. It is not a job: it takes a moment, cannot be cancelled, and
// missing models are no failure but what ModelStatus reports. Close waits
// for it.
func (s *Session) ProbeModels() <-chan struct{} {
	done := make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(done)
		s.models.Probe()
		s.changed(ChangeModels)
	}()
	return done
}

// Segment runs the U-Net over the whole scan as a job; its result becomes
// the preview.
func (s *Session) Segment() (*Job, error) {
	return s.startModelJob("Segment", func(ctx context.Context, p Progress, v *volume.Volume) (*preview, error) {
		started := time.Now().UTC()
		p.Report(-1, "loading the U-Net")
		u, err := s.models.UNet()
		s.changed(ChangeModels)
		if err != nil {
			return nil, err
		}
		l, err := u.Segment(ctx, v, unet.SegmentOptions{LargestComponent: true, Progress: progressOf(p)})
		if err != nil {
			return nil, err
		}
		man := u.Manifest()
		var values []uint16
		for _, lab := range man.Labels {
			values = append(values, lab.Value)
		}
		pv := newPreview("Segment ("+man.Name+")", v, proposalOf(l), values, -1, nil)
		pv.prov = &Provenance{Tool: "segment", Labels: values, Models: u.Models(),
			Options: map[string]any{"largest_component": true}, Started: started, Finished: time.Now().UTC()}
		return pv, nil
	})
}

// RefineVolume refines label value (0: every label) with SAM on every
// axial slice where it is present, as a job; the result becomes the
// preview.
func (s *Session) RefineVolume(value uint16) (*Job, error) {
	v, coarse, values, err := s.coarse(value, nil)
	if err != nil {
		return nil, err
	}
	return s.startRefine("Refine with SAM", v, coarse, values, -1, nil)
}

// RefineSlice refines label value (0: every label) with SAM on one slice:
// slice number slice of plane, as the views number them. SAM works on
// axial slices only.
func (s *Session) RefineSlice(plane viewer.Plane, slice int, value uint16) (*Job, error) {
	v, _ := s.Volume()
	if v == nil {
		return nil, ErrNoVolume
	}
	_, _, scope, err := axialSlice(v, plane, slice)
	if err != nil {
		return nil, err
	}
	v, coarse, values, err := s.coarse(value, scope)
	if err != nil {
		return nil, fmt.Errorf("slice %d: %w", slice+1, err)
	}
	name := fmt.Sprintf("Refine slice %d with SAM", slice+1)
	return s.startRefine(name, v, coarse, values, slice, scope)
}

// BoxPrompt asks SAM for the structure in a box drawn on slice number slice
// of plane (the views' numbering; axial only), a and b being two opposite
// corners in voxel indices; the mask, with label value, becomes the
// preview. SAM's answer is guarded against leaking into neighbours
// (refine.Guard: the density of its own core, the body it belongs to once
// thin bridges are cut, the U-Net's probabilities when it segments a
// structure of the segment's name). The preview decides the whole slice:
// the value's voxels elsewhere on the slice stay, SAM's mask is added.
// Clicks on the slice (Click) then correct it with the box kept.
func (s *Session) BoxPrompt(plane viewer.Plane, slice int, a, b [3]int, value uint16) (*Job, error) {
	if value == 0 {
		return nil, errors.New("box prompt: choose a label other than background")
	}
	v, _ := s.Volume()
	if v == nil {
		return nil, ErrNoVolume
	}
	sl, k, _, err := axialSlice(v, plane, slice)
	if err != nil {
		return nil, err
	}
	for _, c := range [][3]int{a, b} {
		if !v.Contains(c[0], c[1], c[2]) {
			return nil, fmt.Errorf("box prompt: corner %v outside the scan's %v voxels", c, v.Dims)
		}
	}
	_, r0, c0 := sl.Pixel(a)
	_, r1, c1 := sl.Pixel(b)
	box := section.Box{R0: max(min(r0, r1), 0), C0: max(min(c0, c1), 0), R1: min(max(r0, r1), sl.Rows-1), C1: min(max(c0, c1), sl.Cols-1)}
	name := fmt.Sprintf("SAM box on slice %d", slice+1)
	return s.startModelJob(name, func(ctx context.Context, p Progress, v *volume.Volume) (*preview, error) {
		started := time.Now().UTC()
		p.Report(-1, "loading SAM")
		sm, err := s.models.SAM()
		s.changed(ChangeModels)
		if err != nil {
			return nil, err
		}
		pr, err := refine.NewPrompter(sm, v, windowOr(s.samWindow(value), sm.DefaultWindow()))
		if err != nil {
			return nil, err
		}
		var guard refine.GuardOptions
		prior, err := s.priorFor(v, value)
		if err != nil {
			return nil, err
		}
		if prior != nil {
			p.Report(-1, "the U-Net's view of the slice")
			if guard.Prior, err = prior.Probability(ctx, k); err != nil {
				return nil, err
			}
		}
		p.Report(-1, "encoding the slice")
		ans, err := pr.Box(ctx, k, box, guard)
		if err != nil {
			return nil, err
		}
		m := ans.Mask
		s.mu.RLock()
		acc, err := sl.Mask(s.layer.Labels, k, value)
		s.mu.RUnlock()
		if err != nil {
			return nil, err
		}
		for i, on := range acc.Data {
			acc.Data[i] = on || m.Data[i]
		}
		pv := slicePreview(name, v, sl, k, acc, value, slice)
		pv.box = &boxAnswer{label: value, k: k, view: slice, box: box, low: ans.LowRes}
		pv.prov = &Provenance{Tool: "sam-box", Labels: []uint16{value}, Models: sm.Models(),
			Prompts: &Prompts{Boxes: []BoxPrompt{{Plane: plane.String(), Slice: slice, A: a, B: b}}},
			Started: started, Finished: time.Now().UTC()}
		if ans.Guard != "" {
			pv.prov.Options = map[string]any{"guard": ans.Guard}
		}
		return pv, nil
	})
}

// slicePreview returns a preview that decides the whole of axial slice k
// (slice as the views number it), proposing value on mask m. It holds the
// slice's plane, not a volume: a box's preview costs no copy of the
// scan's labels.
func slicePreview(name string, v *volume.Volume, sl *section.Slicer, k int, m *section.Mask, value uint16, slice int) *preview {
	l := newProposal(v.Grid)
	scope := make([]uint32, 0, sl.Rows*sl.Cols)
	sl.Each(k, func(i, idx int) {
		if m.Data[i] {
			l.set(idx, value)
		}
		scope = append(scope, uint32(idx))
	})
	pv := newPreview(name, v, l, []uint16{value}, slice, scope)
	pv.markWhole(k)
	return pv
}

// startRefine runs SAM's refinement of coarse as a job.
func (s *Session) startRefine(name string, v *volume.Volume, coarse *volume.Labels, values []uint16, slice int, scope []uint32) (*Job, error) {
	return s.startModelJob(name, func(ctx context.Context, p Progress, _ *volume.Volume) (*preview, error) {
		started := time.Now().UTC()
		p.Report(-1, "loading SAM")
		sm, err := s.models.SAM()
		s.changed(ChangeModels)
		if err != nil {
			return nil, err
		}
		l, _, err := refine.Volume(ctx, sm, v, coarse, refine.Options{Labels: values, Windows: s.samWindows(values), Progress: progressOf(p)})
		if err != nil {
			return nil, err
		}
		pv := newPreview(name, v, proposalOf(l), values, slice, scope)
		pv.prov = &Provenance{Tool: "sam-refine", Labels: values, Models: sm.Models(), Started: started, Finished: time.Now().UTC()}
		if slice >= 0 {
			pv.prov.Prompts = &Prompts{Plane: "axial", AnchorSlices: []int{slice}}
		}
		return pv, nil
	})
}

// coarse copies the voxels of value (every non-zero value when 0) within
// scope (nil: all) out of the label layer, and lists the values found; it
// is an error when there is none.
func (s *Session) coarse(value uint16, scope []uint32) (*volume.Volume, *volume.Labels, []uint16, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.vol == nil {
		return nil, nil, nil, ErrNoVolume
	}
	src := s.layer.Labels
	out := volume.NewLabels(src.Grid)
	seen := make([]bool, 1<<16)
	take := func(i int) {
		if x := src.Data[i]; x != 0 && (value == 0 || x == value) {
			out.Data[i] = x
			seen[x] = true
		}
	}
	if scope == nil {
		for i := range src.Data {
			take(i)
		}
	} else {
		for _, i := range scope {
			take(int(i))
		}
	}
	var values []uint16
	for x, ok := range seen {
		if ok {
			values = append(values, uint16(x))
		}
	}
	if len(values) == 0 {
		if value == 0 {
			return nil, nil, nil, errors.New("no labels to refine")
		}
		return nil, nil, nil, fmt.Errorf("no voxels of label %d (%s) to refine", value, s.layer.Table.Name(value))
	}
	return s.vol, out, values, nil
}

// modelWork computes a preview for scan v.
type modelWork func(ctx context.Context, p Progress, v *volume.Volume) (*preview, error)

// startModelJob runs work on the open scan as a job whose result becomes
// the preview, unless the job was cancelled or the scan changed meanwhile:
// either way the labels stay as they were.
func (s *Session) startModelJob(name string, work modelWork) (*Job, error) {
	v, _ := s.Volume()
	if v == nil {
		return nil, ErrNoVolume
	}
	return s.RunJob(name, func(ctx context.Context, p Progress) error {
		pv, err := work(ctx, p, v)
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		return s.setPreview(pv)
	}), nil
}

// axialSlice maps slice number slice of plane, as the views number it, to
// the inference package's axial slice, and lists that slice's voxel
// indices.
func axialSlice(v *volume.Volume, plane viewer.Plane, slice int) (*section.Slicer, int, []uint32, error) {
	if plane != viewer.Axial {
		return nil, 0, nil, fmt.Errorf("SAM works on axial slices, not %s ones", plane)
	}
	vs := viewer.NewSlicer(v.Grid, plane)
	if slice < 0 || slice >= vs.NumSlices() {
		return nil, 0, nil, fmt.Errorf("slice %d outside 1..%d", slice+1, vs.NumSlices())
	}
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		return nil, 0, nil, err
	}
	i, j, k := vs.Voxel(slice, 0, 0)
	kk, _, _ := sl.Pixel([3]int{i, j, k})
	scope := make([]uint32, 0, sl.Rows*sl.Cols)
	sl.Each(kk, func(_, idx int) { scope = append(scope, uint32(idx)) })
	slices.Sort(scope)
	return sl, kk, scope, nil
}

// progressOf passes a model's progress on to a job.
func progressOf(p Progress) onnxrt.Progress {
	return onnxrt.ProgressFunc(func(done, total int, msg string) {
		f := -1.0
		if total > 0 {
			f = float64(done) / float64(total)
		}
		p.Report(f, msg)
	})
}
