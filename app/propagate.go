package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
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
	// Range, when set, bounds the axial slices decided (indices along the
	// scan's axial axis, from 0, as propagate.SliceRange); every anchor
	// must lie inside it.
	Range *propagate.SliceRange
	// Prior guards the propagation with the U-Net's probabilities
	// (ModelOptions.UNet, loaded if need be); it is an error when the
	// U-Net segments no structure of the segment's name.
	Prior bool
	// Source, when set, names the file the anchors came from, for the
	// provenance record.
	Source string
}

// propRecord remembers, per label, the last propagation accepted on the
// open scan: its anchors and the confidence of every slice it decided, so
// that pressing P again on a corrected slice re-runs only the span between
// it and its neighbouring anchors, and the confidence strip stays shown.
type propRecord struct {
	anchors    []int           // axial slice indices (inference numbering)
	confidence map[int]float64 // axial slice index -> confidence
	notes      map[int]string  // axial slice index -> the engine's note
	reasons    map[int]string  // axial slice index -> what lowered its confidence
	// unchecked holds the slices the propagation did not decide but
	// flagged, beyond a chain's end (propagate.SliceResult.Unchecked).
	unchecked map[int]bool
	// lowres holds SAM's low-resolution answer per slice, which a click
	// correcting the slice starts from.
	lowres   map[int][]float32
	engine   string
	provider string
}

func newPropRecord() *propRecord {
	return &propRecord{confidence: map[int]float64{}, notes: map[int]string{}, reasons: map[int]string{}, unchecked: map[int]bool{}, lowres: map[int][]float32{}}
}

// propagationState is the propagation part of a session: the records of
// accepted propagations and the one running, if any.
type propagationState struct {
	records map[uint16]*propRecord
	live    *livePropagation
	clicks  *clickSet // SAM clicks waiting in the preview (clicks.go)
}

// livePropagation is a propagation whose results stream into the preview.
type livePropagation struct {
	label      uint16
	preview    *preview
	confidence map[int]float64
	notes      map[int]string
	reasons    map[int]string
	unchecked  map[int]bool // as propRecord's
	lowres     map[int][]float32
	anchors    []int
	done       bool
	info       propagate.EngineInfo
	cancel     context.CancelFunc
}

// clone returns a copy of l for preview pv, which later changes to l
// leave as it is.
func (l *livePropagation) clone(pv *preview) *livePropagation {
	c := *l
	c.preview = pv
	c.confidence = maps.Clone(l.confidence)
	c.notes = maps.Clone(l.notes)
	c.reasons = maps.Clone(l.reasons)
	c.unchecked = maps.Clone(l.unchecked)
	c.lowres = maps.Clone(l.lowres)
	c.anchors = slices.Clone(l.anchors)
	return &c
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
	// Doubtful marks the slices the propagation doubts (propagate.Doubtful
	// with the session's threshold, DoubtBelow), and Reason says in plain
	// words why: what lowered the confidence most, or why the
	// propagation stopped there.
	Doubtful bool
	Reason   string
	// Unchecked marks a slice no propagation decided that the strip flags
	// as doubtful all the same: just beyond where a chain stopped with the
	// organ still on its last slice (propagate.SliceResult.Unchecked).
	Unchecked bool
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
	// The clicks it runs for, if any: one taken back before its preview
	// shows, it shows none.
	var clicks *clickSet
	var taken uint64
	s.mu.RLock()
	if cs := s.pendingClicksLocked(); cs != nil && cs.label == r.Label {
		clicks, taken = cs, cs.taken
	}
	s.mu.RUnlock()
	anchors, rng, err := s.anchorsFor(sl, k, r)
	if err != nil {
		return nil, err
	}
	// P after clicks does what the end of clicking would have done.
	s.mu.Lock()
	if cs := s.props.clicks; cs != nil && cs.label == r.Label && cs.timer != nil {
		cs.timer.Stop()
	}
	s.mu.Unlock()
	// A span of an earlier propagation runs again: the engine may leave
	// the slices a correction does not change as they are.
	rerun := rng != nil
	if r.Range != nil {
		if r.Range.From < 0 || r.Range.To >= sl.Slices || r.Range.From > r.Range.To {
			return nil, fmt.Errorf("propagate: range %d:%d outside the axial slices 0..%d", r.Range.From, r.Range.To, sl.Slices-1)
		}
		for _, a := range anchors {
			if !r.Range.Contains(a.Slice) {
				return nil, fmt.Errorf("propagate: the range %d:%d leaves out the anchor slice %d", r.Range.From, r.Range.To, a.Slice)
			}
		}
		rr := *r.Range
		rng = &rr
	}
	return s.startPropagation(v, sl, r.Label, r.Engine, anchors, rng, nil, "",
		propExtras{prior: r.Prior, source: r.Source, rerun: rerun, clicks: clicks, taken: taken})
}

// propExtras are what a propagation asked for besides its anchors.
type propExtras struct {
	prior  bool   // the U-Net's probabilities, asked for explicitly
	source string // the file the anchors came from
	rerun  bool   // a span of an earlier propagation runs again
	// clicks, when the anchors hold clicked slices, is their click set,
	// which had had taken clicks taken back.
	clicks *clickSet
	taken  uint64
}

// SetVolumeWithLabels makes v the session's scan, read from path, with
// labels (on v's grid) as its starting labels: not an edit, nothing to
// undo or autosave, no provenance entry. The command line starts so from
// a label file it was given, so that its output's provenance records what
// the command did.
func (s *Session) SetVolumeWithLabels(v *volume.Volume, labels *volume.Labels, path string) error {
	if labels == nil {
		return errors.New("no labels")
	}
	return s.setVolume(v, labels, path)
}

// anchorsFor chooses the anchors and the range of a propagation started on
// axial slice k. Pending SAM clicks decide: their slices become anchors
// (with the masks the clicks gave them) and, when the label was propagated
// before, only the spans next to them run again. Otherwise slice k is the
// anchor, and with an earlier propagation of the label only the span
// between k and its neighbouring anchors runs again. A pending preview of
// the label (a box's, a propagation's) counts as drawn.
func (s *Session) anchorsFor(sl *section.Slicer, k int, r PropagateRequest) ([]propagate.Anchor, *propagate.SliceRange, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	name := s.layer.Table.Name(r.Label)
	clicked := s.clickedAnchorsLocked(r.Label)
	mask := func(kk int) (*section.Mask, error) {
		if m, ok := clicked[kk]; ok {
			return m, nil
		}
		if m, ok := s.pendingMaskLocked(sl, r.Label, kk); ok {
			return m, nil
		}
		return sl.Mask(s.layer.Labels, kk, r.Label)
	}
	// The anchors known: the last accepted propagation's, and those of
	// one still pending in the preview.
	var known []int
	rec := s.props.records[r.Label]
	if rec != nil {
		known = append(known, rec.anchors...)
	}
	live := s.props.live
	if live != nil && (live.label != r.Label || live.preview != s.preview) {
		live = nil
	}
	if live != nil {
		known = append(known, live.anchors...)
	}
	slices.Sort(known)
	known = slices.Compact(known)
	// A span re-run keeps the rest of a pending propagation; one still
	// running has not decided the rest yet, so it all runs again.
	spans := (rec != nil || live != nil) && (live == nil || live.done)

	var slicesOf []int
	var rng *propagate.SliceRange
	span := func(targets []int) {
		set := slices.Clone(known)
		for _, t := range targets {
			if !slices.Contains(set, t) {
				set = append(set, t)
			}
		}
		slices.Sort(set)
		lo, hi := 0, sl.Slices-1
		for _, a := range set {
			if a < targets[0] {
				lo = a
			}
			if a > targets[len(targets)-1] && hi == sl.Slices-1 {
				hi = a
			}
		}
		rng = &propagate.SliceRange{From: lo, To: hi}
		for _, a := range set {
			if rng.Contains(a) {
				slicesOf = append(slicesOf, a)
			}
		}
	}
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
	case len(clicked) > 0:
		targets := make([]int, 0, len(clicked))
		for kk := range clicked {
			targets = append(targets, kk)
		}
		slices.Sort(targets)
		if spans {
			span(targets)
		} else {
			slicesOf = append(targets, known...)
			slices.Sort(slicesOf)
			slicesOf = slices.Compact(slicesOf)
		}
	default:
		m, err := mask(k)
		if err != nil {
			return nil, nil, err
		}
		if m.Area() == 0 {
			return nil, nil, fmt.Errorf("propagate: slice %d has no %s (label %d): draw it there first (box, clicks, brush, or an accepted preview)", r.Slice+1, name, r.Label)
		}
		switch {
		case spans:
			// Re-run the span or spans next to slice k, keeping the
			// other anchors' results.
			span([]int{k})
		case live != nil:
			slicesOf = append([]int{k}, known...)
			slices.Sort(slicesOf)
			slicesOf = slices.Compact(slicesOf)
		default:
			slicesOf = []int{k}
		}
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
		// The U-Net's structure of the segment's name, whatever value
		// either gives it.
		own, ok := unetValue(u.Manifest(), s.labelName(label))
		if !ok {
			return nil, nil, fmt.Errorf("the U-Net %q segments no structure named %q", u.Manifest().Name, s.labelName(label))
		}
		p.Report(-1, "segmenting with the U-Net")
		coarse, err := u.Segment(ctx, v, unet.SegmentOptions{LargestComponent: true})
		if err != nil {
			return nil, nil, err
		}
		best, bestArea := -1, 0
		var bestMask *section.Mask
		for k := 0; k < sl.Slices; k++ {
			m, err := sl.Mask(coarse, k, own)
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
		prior, err := u.Prior(v, own)
		if err != nil {
			return nil, nil, err
		}
		return []propagate.Anchor{{Slice: best, Mask: bestMask}}, prior, nil
	}, "from the U-Net", propExtras{})
}

// anchorSource finds anchors (and a prior) inside the job, for
// propagations that must compute them first.
type anchorSource func(ctx context.Context, p Progress) ([]propagate.Anchor, propagate.Prior, error)

// startPropagation runs an engine as a job whose slices stream into a
// preview.
func (s *Session) startPropagation(v *volume.Volume, sl *section.Slicer, label uint16, engineName string, anchors []propagate.Anchor, rng *propagate.SliceRange, source anchorSource, how string, extra propExtras) (*Job, error) {
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
		} else if extra.prior {
			p.Report(-1, "loading the U-Net")
			u, err := s.models.UNet()
			s.changed(ChangeModels)
			if err != nil {
				return err
			}
			own, ok := unetValue(u.Manifest(), s.labelName(label))
			if !ok {
				return fmt.Errorf("the U-Net %q segments no structure named %q", u.Manifest().Name, s.labelName(label))
			}
			if prior, err = u.Prior(v, own); err != nil {
				return err
			}
		} else if prior, err = s.priorFor(v, label); err != nil {
			return err
		}
		live := &livePropagation{label: label, confidence: map[int]float64{}, notes: map[int]string{}, reasons: map[int]string{},
			unchecked: map[int]bool{}, lowres: map[int][]float32{}, cancel: cancel,
			info: propagate.EngineInfo{Engine: eng.Name(), Provider: strings.ToLower(s.models.Status().Provider)}}
		for _, a := range anchors {
			live.anchors = append(live.anchors, a.Slice)
		}
		pv := newPreview(name, v, newProposal(v.Grid), []uint16{label}, -1, []uint32{})
		// Accepted before the engine ends, the preview still says what
		// made it; the engine's full account replaces this at the end.
		pv.prov = &Provenance{Tool: "propagate", Labels: []uint16{label}, Engine: &propagate.EngineInfo{Engine: eng.Name()},
			Prompts: &Prompts{Plane: "axial", AnchorSlices: live.anchors}, Source: extra.source, Started: started}
		if prior != nil {
			pv.prov.Options = map[string]any{"prior": "U-Net probabilities"}
		}
		live.preview = pv
		s.mu.Lock()
		if s.vol != v {
			s.mu.Unlock()
			return fmt.Errorf("%s: the scan changed; nothing propagated", name)
		}
		if cs := extra.clicks; cs != nil && (!s.clicksCurrentLocked(cs) || cs.taken != extra.taken) {
			// A click it ran for was taken back: not a failure.
			s.mu.Unlock()
			return nil
		}
		s.carryPreviewLocked(pv, live, rng)
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

		var previous func(k int) *section.Mask
		if extra.rerun {
			previous = func(k int) *section.Mask { return s.previousMask(live, sl, k) }
		}
		res, err := eng.Propagate(ctx, propagate.Request{
			Volume: v, Plane: section.Axial, Label: label, Anchors: anchors, Range: rng, Prior: prior, Previous: previous,
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
	if r.Unchecked {
		// Only the strip hears of it: the slice keeps what it holds.
		if _, ok := live.confidence[r.Slice]; !ok {
			live.confidence[r.Slice], live.notes[r.Slice], live.reasons[r.Slice] = r.Confidence, r.Note, r.Reason
			live.unchecked[r.Slice] = true
		}
		s.mu.Unlock()
		s.changed(ChangePreview)
		return true
	}
	delete(live.unchecked, r.Slice)
	if cs := s.props.clicks; cs != nil && cs.preview == pv && cs.slices[r.Slice] != nil && cs.slices[r.Slice].answer != nil && !r.Anchor {
		// The user clicked this slice while the engine was on its way
		// there: the clicks decide it.
		s.mu.Unlock()
		return true
	}
	whole := pv.whole[r.Slice]
	sl.Each(r.Slice, func(i, idx int) {
		on := r.Mask != nil && r.Mask.Data[i]
		old := pv.labels.At(idx)
		if on {
			pv.labels.set(idx, live.label)
		} else {
			pv.labels.set(idx, 0)
		}
		if !whole {
			pv.scope = append(pv.scope, uint32(idx))
		}
		switch {
		case on && old == 0:
			pv.info.Voxels++
		case !on && old != 0:
			pv.info.Voxels--
		}
	})
	pv.markWhole(r.Slice)
	live.confidence[r.Slice] = r.Confidence
	live.notes[r.Slice] = r.Note
	live.reasons[r.Slice] = r.Reason
	if r.LowRes != nil {
		live.lowres[r.Slice] = r.LowRes
	} else {
		delete(live.lowres, r.Slice)
	}
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
		rec = newPropRecord()
		s.props.records[live.label] = rec
	}
	// The re-run span replaces what the record said about its slices.
	for k, c := range live.confidence {
		rec.confidence[k] = c
		rec.notes[k] = live.notes[k]
		rec.reasons[k] = live.reasons[k]
		if live.unchecked[k] {
			rec.unchecked[k] = true
		} else {
			delete(rec.unchecked, k)
		}
		if low := live.lowres[k]; low != nil {
			rec.lowres[k] = low
		} else {
			delete(rec.lowres, k)
		}
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
	below := s.DoubtBelow()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.vol == nil || p != viewer.Axial {
		return nil
	}
	conf := map[int]float64{}
	notes := map[int]string{}
	reasons := map[int]string{}
	unchecked := map[int]bool{}
	var anchors []int
	if rec := s.props.records[label]; rec != nil {
		for k, c := range rec.confidence {
			conf[k], notes[k], reasons[k], unchecked[k] = c, rec.notes[k], rec.reasons[k], rec.unchecked[k]
		}
		anchors = rec.anchors
	}
	if live := s.props.live; live != nil && live.label == label {
		for k, c := range live.confidence {
			conf[k], notes[k], reasons[k], unchecked[k] = c, live.notes[k], live.reasons[k], live.unchecked[k]
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
		anchor := slices.Contains(anchors, k)
		doubtful, shown := s.flagLocked(sl, label, k, c, anchor, unchecked[k], below)
		if !shown {
			continue
		}
		n := viewSlice(vs, sl, k)
		out[n] = SliceConfidence{Slice: n, Confidence: c, Anchor: anchor, Note: notes[k],
			Doubtful: doubtful, Unchecked: unchecked[k]}
		if out[n].Doubtful {
			out[n].Reason = reasons[k]
			if out[n].Reason == "" {
				out[n].Reason = fmt.Sprintf("confidence %.2f, below %.2f", c, below)
			}
		}
	}
	return out
}

// flagLocked says how the strip shows slice k of label's propagation,
// whose confidence is c: doubtful as propagate.Doubtful says, and not at
// all when it was flagged past a chain's end (unchecked) and the organ has
// been drawn there since, which answers the flag. The lock is held.
func (s *Session) flagLocked(sl *section.Slicer, label uint16, k int, c float64, anchor, unchecked bool, below float64) (doubtful, shown bool) {
	if unchecked && s.holdsLocked(sl, k, label) {
		return false, false
	}
	return propagate.Doubtful(c, anchor, unchecked, below), true
}

// holdsLocked reports whether the accepted labels hold label on axial
// slice k. The lock is held.
func (s *Session) holdsLocked(sl *section.Slicer, k int, label uint16) bool {
	held := false
	sl.Each(k, func(_, idx int) {
		held = held || s.layer.Labels.Data[idx] == label
	})
	return held
}

// NextDoubtful returns the next doubtful slice of plane p after slice
// from (in direction dir, +1 or -1, wrapping around) for label, with why
// it is doubtful, and false when there is none.
func (s *Session) NextDoubtful(p viewer.Plane, label uint16, from, dir int) (SliceConfidence, bool) {
	conf := s.Confidence(p, label)
	n := len(conf)
	if n == 0 {
		return SliceConfidence{}, false
	}
	if dir >= 0 {
		dir = 1
	} else {
		dir = -1
	}
	for step := 1; step <= n; step++ {
		i := ((from+dir*step)%n + n) % n
		if conf[i].Doubtful {
			return conf[i], true
		}
	}
	return SliceConfidence{}, false
}

// DoubtBelow is the confidence under which a propagated slice is doubtful
// (propagate.Doubtful): the "sam" engine's DoubtBelow option as the
// session's models are configured, so that the strip, X, the status line
// and the command line share one threshold.
func (s *Session) DoubtBelow() float64 { return s.models.DoubtBelow() }

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
	// Slices counts the slices decided; Doubtful the doubtful slices,
	// those flagged beyond a chain's end (SliceConfidence.Unchecked)
	// included.
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
	var unchecked map[int]bool
	switch live, rec := s.props.live, s.props.records[label]; {
	case live != nil && live.label == label:
		sum.Engine, sum.Provider, sum.Running = live.info.Engine, live.info.Provider, !live.done
		conf, anchors, unchecked = live.confidence, live.anchors, live.unchecked
	case rec != nil:
		sum.Engine, sum.Provider = rec.engine, rec.provider
		conf, anchors, unchecked = rec.confidence, rec.anchors, rec.unchecked
	default:
		return sum, false
	}
	if s.vol == nil {
		return sum, false
	}
	below := s.models.DoubtBelow()
	sl, err := section.NewSlicer(s.vol.Grid, section.Axial)
	if err != nil {
		return sum, false
	}
	for k, c := range conf {
		doubtful, shown := s.flagLocked(sl, label, k, c, slices.Contains(anchors, k), unchecked[k], below)
		if !shown {
			continue
		}
		if !unchecked[k] {
			sum.Slices++
		}
		if doubtful {
			sum.Doubtful++
		}
	}
	return sum, true
}

// carryPreviewLocked starts the new propagation preview pv (of live) from
// the pending preview when that one is of the same label (a box's, SAM
// clicks', a propagation's): what it proposes outside the slices the new
// run decides stays proposed, and its clicks stay with it. The lock is
// held.
func (s *Session) carryPreviewLocked(pv *preview, live *livePropagation, rng *propagate.SliceRange) {
	old := s.preview
	if old == nil || !slices.Equal(old.info.Values, []uint16{live.label}) {
		return
	}
	oldLive := s.props.live
	if oldLive != nil && oldLive.preview != old {
		oldLive = nil
	}
	cs := s.props.clicks
	if cs != nil && cs.preview != old {
		cs = nil
	}
	isBox := old.box != nil && old.box.label == live.label
	if oldLive == nil && cs == nil && !isBox {
		return
	}
	if oldLive != nil && oldLive.label != live.label {
		return
	}
	pv.labels = old.labels.clone()
	pv.scope = slices.Clone(old.scope)
	pv.whole = maps.Clone(old.whole)
	pv.info.Voxels = old.info.Voxels
	if oldLive != nil {
		for k, c := range oldLive.confidence {
			live.confidence[k], live.notes[k], live.reasons[k] = c, oldLive.notes[k], oldLive.reasons[k]
			if oldLive.unchecked[k] {
				live.unchecked[k] = true
			}
			if low := oldLive.lowres[k]; low != nil {
				live.lowres[k] = low
			}
		}
		for _, a := range oldLive.anchors {
			if (rng == nil || !rng.Contains(a)) && !slices.Contains(live.anchors, a) {
				live.anchors = append(live.anchors, a)
			}
		}
		slices.Sort(live.anchors)
	}
	if old.prov != nil && old.prov.Prompts != nil {
		pv.prov.Prompts.Boxes = old.prov.Prompts.Boxes
		pv.prov.Prompts.Points = old.prov.Prompts.Points
	}
	if cs != nil {
		cs.preview = pv
	}
	if oldLive != nil && !oldLive.done {
		oldLive.cancel()
	}
}

// previousMask returns what axial slice k held of live's label before the
// correction live carries: for a clicked slice, its mask before the
// clicks; else what the preview carried over from the one it replaced, or
// the accepted labels. Nil once live is no longer the pending preview.
func (s *Session) previousMask(live *livePropagation, sl *section.Slicer, k int) *section.Mask {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.props.live != live || s.preview != live.preview {
		return nil
	}
	if cs := s.props.clicks; cs != nil && cs.preview == live.preview && cs.label == live.label {
		if cl := cs.slices[k]; cl != nil && cl.before != nil {
			return cl.before
		}
	}
	var m *section.Mask
	var err error
	if live.preview.whole[k] {
		m, err = live.preview.labels.mask(sl, k, live.label)
	} else {
		m, err = sl.Mask(s.layer.Labels, k, live.label)
	}
	if err != nil {
		return nil
	}
	return m
}
