package app

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/polyseg/polyseg/inference/propagate"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/inference/unet"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// Propagation engines by name: "sam" (the bundled SAM slice to slice, the
// default) and "sam2" (SAM 2 files the user supplies).
const (
	EngineSAM  = "sam"
	EngineSAM2 = "sam2"
)

// PropagateRequest says what to propagate.
type PropagateRequest struct {
	// Plane and Slice are the view and slice number (from 0) the user is
	// on; engines work on axial slices.
	Plane viewer.Plane
	Slice int
	// Label is the label value to propagate.
	Label uint16
	// Engine names the engine; empty means EngineSAM.
	Engine string
	// AllAnchors makes every slice that holds the label an anchor, instead
	// of the current slice alone (or with the anchors of the label's last
	// propagation).
	AllAnchors bool
}

// propRecord remembers, per label, the last propagation accepted on the
// open scan: its anchors and the confidence of every slice it decided, so
// that pressing P again on a corrected slice re-runs only the span between
// it and its neighbouring anchors, and the confidence strip stays shown.
type propRecord struct {
	anchors    []int           // axial slice indices (inference numbering)
	confidence map[int]float64 // axial slice index -> confidence
	notes      map[int]string  // axial slice index -> the engine's note
	engine     string
	provider   string
}

// propagationState is the propagation part of a session: the records of
// accepted propagations and the one running, if any.
type propagationState struct {
	records map[uint16]*propRecord
	live    *livePropagation
}

// livePropagation is a propagation whose results stream into the preview.
type livePropagation struct {
	label      uint16
	preview    *preview
	confidence map[int]float64
	notes      map[int]string
	anchors    []int
	done       bool
	info       propagate.EngineInfo
	cancel     context.CancelFunc
}

// SliceConfidence is what the confidence strip shows for one slice.
type SliceConfidence struct {
	// Slice is the view's slice number of the plane asked for.
	Slice int
	// Confidence in [0, 1]; NaN for slices no propagation decided.
	Confidence float64
	// Anchor marks the anchors.
	Anchor bool
	// Note is the engine's account of the slice, or why it stopped there.
	Note string
}

// Propagate carries the label's mask on the current slice (and, as the
// request says, on other annotated slices) through the scan as a job; the
// slices stream into the preview as they are decided, and Enter accepts
// the whole result as one undo step. When the label was propagated before
// on this scan and the current slice is not one of its anchors, the slice
// becomes one and only the span between its neighbouring anchors is run
// again.
func (s *Session) Propagate(r PropagateRequest) (*Job, error) {
	if r.Label == 0 {
		return nil, errors.New("propagate: choose a label other than background")
	}
	v, _ := s.Volume()
	if v == nil {
		return nil, ErrNoVolume
	}
	sl, k, _, err := axialSlice(v, r.Plane, r.Slice)
	if err != nil {
		return nil, fmt.Errorf("propagate: %w", err)
	}
	anchors, rng, err := s.anchorsFor(sl, k, r)
	if err != nil {
		return nil, err
	}
	return s.startPropagation(v, sl, r.Label, r.Engine, anchors, rng, nil, "")
}

// anchorsFor chooses the anchors and the range of a propagation started on
// axial slice k.
func (s *Session) anchorsFor(sl *section.Slicer, k int, r PropagateRequest) ([]propagate.Anchor, *propagate.SliceRange, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	name := s.layer.Table.Name(r.Label)
	mask := func(k int) (*section.Mask, error) { return sl.Mask(s.layer.Labels, k, r.Label) }
	m, err := mask(k)
	if err != nil {
		return nil, nil, err
	}
	if m.Area() == 0 && !r.AllAnchors {
		return nil, nil, fmt.Errorf("propagate: slice %d has no %s (label %d): draw it there first (box, brush, or an accepted preview)", r.Slice+1, name, r.Label)
	}
	var slicesOf []int
	var rng *propagate.SliceRange
	rec := s.props.records[r.Label]
	switch {
	case r.AllAnchors:
		for kk := 0; kk < sl.Slices; kk++ {
			mk, err := mask(kk)
			if err != nil {
				return nil, nil, err
			}
			if mk.Area() > 0 {
				slicesOf = append(slicesOf, kk)
			}
		}
		if len(slicesOf) == 0 {
			return nil, nil, fmt.Errorf("propagate: no slice holds %s (label %d)", name, r.Label)
		}
	case rec != nil:
		// Re-run the span or spans next to slice k, keeping the other
		// anchors' results.
		slicesOf = slices.Clone(rec.anchors)
		if !slices.Contains(slicesOf, k) {
			slicesOf = append(slicesOf, k)
			slices.Sort(slicesOf)
		}
		i := slices.Index(slicesOf, k)
		lo, hi := 0, sl.Slices-1
		if i > 0 {
			lo = slicesOf[i-1]
		}
		if i < len(slicesOf)-1 {
			hi = slicesOf[i+1]
		}
		rng = &propagate.SliceRange{From: lo, To: hi}
		var in []int
		for _, a := range slicesOf {
			if rng.Contains(a) {
				in = append(in, a)
			}
		}
		slicesOf = in
	default:
		slicesOf = []int{k}
	}
	var anchors []propagate.Anchor
	for _, a := range slicesOf {
		ma, err := mask(a)
		if err != nil {
			return nil, nil, err
		}
		if ma.Area() == 0 {
			// An anchor the user has since erased is no anchor.
			continue
		}
		anchors = append(anchors, propagate.Anchor{Slice: a, Mask: ma})
	}
	if len(anchors) == 0 {
		return nil, nil, fmt.Errorf("propagate: no slice holds %s (label %d)", name, r.Label)
	}
	return anchors, rng, nil
}

// PropagateFromModel segments the scan with the U-Net, takes its mask of
// label on the slice where it is largest as the anchor, and propagates it
// with the U-Net's probabilities guarding against leaks, as a job.
func (s *Session) PropagateFromModel(label uint16, engine string) (*Job, error) {
	v, _ := s.Volume()
	if v == nil {
		return nil, ErrNoVolume
	}
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		return nil, err
	}
	return s.startPropagation(v, sl, label, engine, nil, nil, func(ctx context.Context, p Progress) ([]propagate.Anchor, propagate.Prior, error) {
		p.Report(-1, "loading the U-Net")
		u, err := s.models.UNet()
		s.changed(ChangeModels)
		if err != nil {
			return nil, nil, err
		}
		if !u.HasLabel(label) {
			return nil, nil, fmt.Errorf("the U-Net %q does not segment label %d", u.Manifest().Name, label)
		}
		p.Report(-1, "segmenting with the U-Net")
		coarse, err := u.Segment(ctx, v, unet.SegmentOptions{LargestComponent: true})
		if err != nil {
			return nil, nil, err
		}
		best, bestArea := -1, 0
		var bestMask *section.Mask
		for k := 0; k < sl.Slices; k++ {
			m, err := sl.Mask(coarse, k, label)
			if err != nil {
				return nil, nil, err
			}
			if a := m.Area(); a > bestArea {
				best, bestArea, bestMask = k, a, m
			}
		}
		if best < 0 {
			return nil, nil, fmt.Errorf("the U-Net found no voxel of label %d", label)
		}
		prior, err := u.Prior(v, label)
		if err != nil {
			return nil, nil, err
		}
		return []propagate.Anchor{{Slice: best, Mask: bestMask}}, prior, nil
	}, "from the U-Net")
}

// anchorSource finds anchors (and a prior) inside the job, for
// propagations that must compute them first.
type anchorSource func(ctx context.Context, p Progress) ([]propagate.Anchor, propagate.Prior, error)

// startPropagation runs an engine as a job whose slices stream into a
// preview.
func (s *Session) startPropagation(v *volume.Volume, sl *section.Slicer, label uint16, engineName string, anchors []propagate.Anchor, rng *propagate.SliceRange, source anchorSource, how string) (*Job, error) {
	if engineName == "" {
		engineName = EngineSAM
	}
	name := fmt.Sprintf("Propagate %s", s.labelName(label))
	if how != "" {
		name += " " + how
	}
	return s.RunJob(name, func(ctx context.Context, p Progress) error {
		started := time.Now().UTC()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		p.Report(-1, "loading "+engineName)
		eng, err := s.models.Engine(engineName)
		s.changed(ChangeModels)
		if err != nil {
			return err
		}
		var prior propagate.Prior
		if source != nil {
			if anchors, prior, err = source(ctx, p); err != nil {
				return err
			}
		} else if u := s.models.LoadedUNet(); u != nil && u.HasLabel(label) {
			// A U-Net that knows the label guards against leaks for free.
			if prior, err = u.Prior(v, label); err != nil {
				return err
			}
		}
		live := &livePropagation{label: label, confidence: map[int]float64{}, notes: map[int]string{}, cancel: cancel,
			info: propagate.EngineInfo{Engine: eng.Name(), Provider: strings.ToLower(s.models.Status().Provider)}}
		for _, a := range anchors {
			live.anchors = append(live.anchors, a.Slice)
		}
		pv := newPreview(name, v, volume.NewLabels(v.Grid), []uint16{label}, -1, []int{})
		// Accepted before the engine ends, the preview still says what
		// made it; the engine's full account replaces this at the end.
		pv.prov = &Provenance{Tool: "propagate", Labels: []uint16{label}, Engine: &propagate.EngineInfo{Engine: eng.Name()},
			Prompts: &Prompts{Plane: "axial", AnchorSlices: live.anchors}, Started: started}
		if prior != nil {
			pv.prov.Options = map[string]any{"prior": "U-Net probabilities"}
		}
		live.preview = pv
		s.mu.Lock()
		if s.vol != v {
			s.mu.Unlock()
			return fmt.Errorf("%s: the scan changed; nothing propagated", name)
		}
		s.preview = pv
		s.props.live = live
		s.mu.Unlock()
		s.changed(ChangePreview)
		// Whatever ends the job early (cancel, failure) takes its preview
		// away: the labels stay as they were.
		finished := false
		defer func() {
			if !finished {
				s.dropLive(live)
			}
		}()

		res, err := eng.Propagate(ctx, propagate.Request{
			Volume: v, Plane: section.Axial, Label: label, Anchors: anchors, Range: rng, Prior: prior,
			Window: s.samWindow(label),
			OnSlice: func(r propagate.SliceResult) {
				if !s.addLiveSlice(live, sl, r) {
					cancel() // the preview was accepted, rejected or replaced
				}
			},
			Progress: progressOf(p),
		})
		if err != nil {
			if s.liveGone(live) {
				// Accepted or replaced meanwhile: not a failure.
				finished = true
				return nil
			}
			return err
		}
		info := res.Info
		s.mu.Lock()
		if s.props.live == live && s.preview == pv {
			live.done, live.info = true, info
			pv.prov.Models, pv.prov.Engine, pv.prov.Finished = info.Models, &info, time.Now().UTC()
			finished = true
		}
		s.mu.Unlock()
		s.changed(ChangePreview)
		return nil
	}), nil
}

// addLiveSlice writes one decided slice into the live preview and reports
// whether the propagation should go on.
func (s *Session) addLiveSlice(live *livePropagation, sl *section.Slicer, r propagate.SliceResult) bool {
	s.mu.Lock()
	if s.props.live != live || s.preview != live.preview {
		s.mu.Unlock()
		return false
	}
	pv := live.preview
	// An engine may decide a slice more than once (the Engine interface
	// does not forbid it): the scope must not hold its voxels twice.
	_, seen := live.confidence[r.Slice]
	sl.Each(r.Slice, func(i, idx int) {
		on := r.Mask != nil && r.Mask.Data[i]
		old := pv.labels.Data[idx]
		if on {
			pv.labels.Data[idx] = live.label
		} else {
			pv.labels.Data[idx] = 0
		}
		if !seen {
			pv.scope = append(pv.scope, idx)
		}
		switch {
		case on && old == 0:
			pv.info.Voxels++
		case !on && old != 0:
			pv.info.Voxels--
		}
	})
	live.confidence[r.Slice] = r.Confidence
	live.notes[r.Slice] = r.Note
	if r.Stop != "" {
		live.notes[r.Slice] = "stopped: " + r.Stop
	}
	s.mu.Unlock()
	s.changed(ChangePreview)
	return true
}

// liveGone reports whether live's preview is no longer pending.
func (s *Session) liveGone(live *livePropagation) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.props.live != live || s.preview != live.preview
}

// dropLive removes a propagation that ended without a result, and its
// preview if it is still the pending one.
func (s *Session) dropLive(live *livePropagation) {
	s.mu.Lock()
	changed := false
	if s.preview == live.preview {
		s.preview = nil
		changed = true
	}
	if s.props.live == live {
		s.props.live = nil
	}
	s.mu.Unlock()
	if changed {
		s.changed(ChangePreview)
	}
}

// acceptedLive is called with the lock held when preview p is accepted:
// if it is a propagation's, the propagation is remembered for the label,
// and a propagation still running stops with what it has decided.
func (s *Session) acceptedLive(p *preview) {
	live := s.props.live
	if live == nil || live.preview != p {
		return
	}
	s.props.live = nil
	if !live.done {
		live.cancel()
	}
	if s.props.records == nil {
		s.props.records = map[uint16]*propRecord{}
	}
	rec := s.props.records[live.label]
	if rec == nil {
		rec = &propRecord{confidence: map[int]float64{}, notes: map[int]string{}}
		s.props.records[live.label] = rec
	}
	// The re-run span replaces what the record said about its slices.
	for k, c := range live.confidence {
		rec.confidence[k] = c
		rec.notes[k] = live.notes[k]
	}
	for _, a := range live.anchors {
		if !slices.Contains(rec.anchors, a) {
			rec.anchors = append(rec.anchors, a)
		}
	}
	slices.Sort(rec.anchors)
	rec.engine, rec.provider = live.info.Engine, live.info.Provider
}

// Confidence returns, for every slice of plane p (axial only; nil for the
// others), the confidence of the running or last accepted propagation of
// label: what the confidence strip shows.
func (s *Session) Confidence(p viewer.Plane, label uint16) []SliceConfidence {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.vol == nil || p != viewer.Axial {
		return nil
	}
	conf := map[int]float64{}
	notes := map[int]string{}
	var anchors []int
	if rec := s.props.records[label]; rec != nil {
		for k, c := range rec.confidence {
			conf[k], notes[k] = c, rec.notes[k]
		}
		anchors = rec.anchors
	}
	if live := s.props.live; live != nil && live.label == label {
		for k, c := range live.confidence {
			conf[k], notes[k] = c, live.notes[k]
		}
		anchors = append(slices.Clone(anchors), live.anchors...)
	}
	vs := viewer.NewSlicer(s.vol.Grid, p)
	sl, err := section.NewSlicer(s.vol.Grid, section.Axial)
	if err != nil {
		return nil
	}
	out := make([]SliceConfidence, vs.NumSlices())
	for n := range out {
		out[n] = SliceConfidence{Slice: n, Confidence: math.NaN()}
	}
	for k, c := range conf {
		n := viewSlice(vs, sl, k)
		out[n].Confidence = c
		out[n].Anchor = slices.Contains(anchors, k)
		out[n].Note = notes[k]
	}
	return out
}

// NextDoubtful returns the next slice of plane p after slice from (in
// direction dir, +1 or -1, wrapping around) whose confidence for label is
// below the engine's doubt threshold, and false when there is none.
func (s *Session) NextDoubtful(p viewer.Plane, label uint16, from, dir int) (int, bool) {
	conf := s.Confidence(p, label)
	n := len(conf)
	if n == 0 {
		return 0, false
	}
	if dir >= 0 {
		dir = 1
	} else {
		dir = -1
	}
	for step := 1; step <= n; step++ {
		i := ((from+dir*step)%n + n) % n
		c := conf[i]
		if !math.IsNaN(c.Confidence) && !c.Anchor && c.Confidence < DoubtBelow {
			return i, true
		}
	}
	return 0, false
}

// DoubtBelow is the confidence under which a propagated slice is doubtful,
// shown in the strip and used by NextDoubtful.
const DoubtBelow = propagate.DefaultDoubtBelow

// viewSlice maps axial slice k of sl to the view's slice number.
func viewSlice(vs viewer.Slicer, sl *section.Slicer, k int) int {
	vx := sl.Voxel(k, 0, 0)
	n, _, _ := vs.Locate(vx[0], vx[1], vx[2])
	return n
}

// labelName names a label value from the colour table.
func (s *Session) labelName(v uint16) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if n := s.layer.Table.Name(v); n != "" {
		return n
	}
	return fmt.Sprintf("label %d", v)
}

// PropagationSummary says what the running or last accepted propagation of
// label did, for the status line: the engine, its execution provider, the
// slices decided and the doubtful ones.
type PropagationSummary struct {
	Engine, Provider string
	Slices, Doubtful int
	Running          bool
}

// Propagation returns the summary of label's running or last accepted
// propagation, and false when there is none.
func (s *Session) Propagation(label uint16) (PropagationSummary, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var sum PropagationSummary
	var conf map[int]float64
	var anchors []int
	switch live, rec := s.props.live, s.props.records[label]; {
	case live != nil && live.label == label:
		sum.Engine, sum.Provider, sum.Running = live.info.Engine, live.info.Provider, !live.done
		conf, anchors = live.confidence, live.anchors
	case rec != nil:
		sum.Engine, sum.Provider = rec.engine, rec.provider
		conf, anchors = rec.confidence, rec.anchors
	default:
		return sum, false
	}
	for k, c := range conf {
		sum.Slices++
		if c < DoubtBelow && !slices.Contains(anchors, k) {
			sum.Doubtful++
		}
	}
	return sum, true
}
