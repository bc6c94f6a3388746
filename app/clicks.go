package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/polyseg/polyseg/inference/propagate"
	"github.com/polyseg/polyseg/inference/refine"
	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// Click is a point prompt on an axial slice: a voxel of the scan, and
// whether the structure is there ("this too") or not ("not this").
type Click struct {
	// Slice is the axial view's slice number (from 0) the click is on.
	Slice    int
	Voxel    [3]int
	Positive bool
}

// DefaultClickDelay is how long after the last click a corrected slice's
// span is propagated again, when the label was propagated before: long
// enough for a second click to follow the first without a propagation
// starting in between, short enough not to be waited for.
const DefaultClickDelay = 700 * time.Millisecond

// clickSet holds the clicked slices of one label that wait in the
// preview: each slice's clicks, and what SAM answered to them.
type clickSet struct {
	label   uint16
	preview *preview // the preview they are in; nil until the first answer
	// origin is a copy of the preview pending at the first click (a
	// box's, a propagation's; nil: none, the preview is the clicks' own or
	// the propagation they started) and originLive of its propagation:
	// taking back the last click brings them back as they were.
	origin     *preview
	originLive *livePropagation
	slices     map[int]*clickSlice
	order      []int // axial slice of every click, oldest first
	gen        uint64
	taken      uint64     // clicks taken back so far
	decode     sync.Mutex // one decode at a time, in click order
	timer      *time.Timer
}

// clickSlice is the clicks on one axial slice.
type clickSlice struct {
	k      int // axial slice index (inference numbering)
	view   int // the axial view's slice number
	box    *section.Box
	clicks []Click
	points []sam.Point
	// start is the low-resolution answer the slice had before its first
	// click (a propagation's, a box's or a mask's), before the mask it
	// had then.
	start  []float32
	before *section.Mask
	// answer is SAM's latest answer and gen the click count it answered;
	// answered is how many of the slice's points it answered.
	answer   *refine.Answer
	gen      uint64
	answered int
}

// boxAnswer is what a SAM box preview remembers, so that clicks on its
// slice correct it (the box stays in the prompt).
type boxAnswer struct {
	label uint16
	k     int
	view  int
	box   section.Box
	low   []float32
}

// Click adds a click on slice number slice of plane (axial only; the
// views' numbering) at voxel, for label, and re-decodes that slice with
// SAM at once: the box drawn there (if any), every click on the slice and
// SAM's previous answer there. The answer becomes (or updates) the
// preview: on a fresh slice, on a box's preview, on a propagation's
// preview, or on accepted labels. When the label was propagated before,
// the clicked slices become anchors and the spans next to them are
// propagated again, streaming into the preview, once the user stops
// clicking (Options.ClickDelay after the last click) or when Propagate
// (P) is asked. The returned job ends when the slice is decoded.
func (s *Session) Click(plane viewer.Plane, slice int, voxel [3]int, positive bool, label uint16) (*Job, error) {
	if label == 0 {
		return nil, errors.New("click: choose a label other than background")
	}
	v, _ := s.Volume()
	if v == nil {
		return nil, ErrNoVolume
	}
	sl, k, _, err := axialSlice(v, plane, slice)
	if err != nil {
		return nil, fmt.Errorf("click: %w", err)
	}
	if !v.Contains(voxel[0], voxel[1], voxel[2]) {
		return nil, fmt.Errorf("click: voxel %v outside the scan's %v voxels", voxel, v.Dims)
	}
	kk, r, c := sl.Pixel(voxel)
	if kk != k {
		return nil, fmt.Errorf("click: voxel %v is not on axial slice %d", voxel, slice+1)
	}
	s.mu.Lock()
	if s.vol != v {
		s.mu.Unlock()
		return nil, errors.New("click: the scan changed")
	}
	cs, err := s.clickSetLocked(label)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	cl := cs.slices[k]
	if cl == nil {
		cl = s.newClickSliceLocked(cs, sl, k, slice)
		cs.slices[k] = cl
	}
	cl.clicks = append(cl.clicks, Click{Slice: slice, Voxel: voxel, Positive: positive})
	// The pixel's centre: SAM's points are continuous coordinates.
	cl.points = append(cl.points, sam.Point{Row: float64(r) + 0.5, Col: float64(c) + 0.5, Positive: positive})
	cs.order = append(cs.order, k)
	cs.gen++
	if cs.timer != nil {
		cs.timer.Stop()
	}
	s.mu.Unlock()
	s.changed(ChangePreview)
	what := "positive"
	if !positive {
		what = "negative"
	}
	return s.decodeClicks(cs, v, sl, k, fmt.Sprintf("SAM click (%s) on slice %d", what, slice+1)), nil
}

// RemoveLastClick takes back the label's latest click and re-decodes its
// slice without it; a slice left without clicks gets back the mask it had
// before them, and the spans next to the clicked slices are propagated
// again as after a click. When no click is left, what was pending before
// the first comes back as it was (restoreOriginLocked): no preview, or the
// box's or propagation's preview clicked on, without the propagation the
// clicks started. It returns nil and no error when there is no click, or
// when nothing is left to decode.
func (s *Session) RemoveLastClick(label uint16) (*Job, error) {
	s.mu.Lock()
	cs := s.props.clicks
	if cs == nil || cs.label != label || !s.clicksCurrentLocked(cs) || len(cs.order) == 0 {
		s.mu.Unlock()
		return nil, nil
	}
	v := s.vol
	k := cs.order[len(cs.order)-1]
	cs.order = cs.order[:len(cs.order)-1]
	cl := cs.slices[k]
	cl.clicks = cl.clicks[:len(cl.clicks)-1]
	cl.points = cl.points[:len(cl.points)-1]
	cs.gen++
	cs.taken++
	if cs.timer != nil {
		cs.timer.Stop()
	}
	if len(cs.order) == 0 && s.restoreOriginLocked(cs) {
		s.mu.Unlock()
		s.changed(ChangePreview)
		return nil, nil
	}
	view := cl.view
	s.mu.Unlock()
	s.changed(ChangePreview)
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		return nil, err
	}
	return s.decodeClicks(cs, v, sl, k, fmt.Sprintf("Remove the last click on slice %d", view+1)), nil
}

// Clicks returns the label's clicks waiting in the preview, oldest first.
func (s *Session) Clicks(label uint16) []Click {
	s.mu.RLock()
	defer s.mu.RUnlock()
	cs := s.props.clicks
	if cs == nil || cs.label != label || !s.clicksCurrentLocked(cs) {
		return nil
	}
	return s.clicksOfLocked(cs)
}

// clicksCurrentLocked reports whether cs still belongs to the pending
// preview (or waits for its first answer); the lock is held.
func (s *Session) clicksCurrentLocked(cs *clickSet) bool {
	if s.props.clicks != cs {
		return false
	}
	if cs.preview == nil {
		return true
	}
	return s.preview == cs.preview
}

// clickSetLocked returns the click set a click on label joins: the one in
// the pending preview, or a new one for a preview the clicks may correct
// (none, a box's, a propagation's of the same label). The lock is held.
func (s *Session) clickSetLocked(label uint16) (*clickSet, error) {
	cs := s.props.clicks
	if cs != nil && !s.clicksCurrentLocked(cs) {
		cs, s.props.clicks = nil, nil
	}
	if cs != nil && cs.label != label {
		return nil, fmt.Errorf("click: the preview holds clicks for %s; accept (Enter) or reject (Esc) it first", s.layer.Table.Name(cs.label))
	}
	if cs != nil {
		return cs, nil
	}
	pv := s.preview
	switch {
	case pv == nil:
	case pv.box != nil && pv.box.label == label:
	case s.props.live != nil && s.props.live.preview == pv && s.props.live.label == label:
	default:
		return nil, fmt.Errorf("click: %q is waiting: accept (Enter) or reject (Esc) it first", pv.info.Name)
	}
	cs = &clickSet{label: label, preview: pv, slices: map[int]*clickSlice{}}
	if pv != nil {
		cs.origin = pv.clone()
		if live := s.props.live; live != nil && live.preview == pv {
			cs.originLive = live.clone(cs.origin)
		}
	}
	s.props.clicks = cs
	return cs, nil
}

// newClickSliceLocked starts the clicks on axial slice k: the mask the
// user sees there now (the preview's, else the accepted labels'), the
// answer behind it (a propagation's or a box's logits, else the mask's),
// and the box drawn there. The lock is held.
func (s *Session) newClickSliceLocked(cs *clickSet, sl *section.Slicer, k, view int) *clickSlice {
	cl := &clickSlice{k: k, view: view}
	cl.before, _ = s.pendingMaskLocked(sl, cs.label, k)
	if cl.before == nil {
		cl.before, _ = sl.Mask(s.layer.Labels, k, cs.label)
	}
	pv := s.preview
	switch {
	case pv != nil && pv.box != nil && pv.box.k == k && pv.box.label == cs.label:
		b := pv.box.box
		cl.box, cl.start = &b, pv.box.low
	case s.props.live != nil && s.props.live.preview == pv && s.props.live.lowres[k] != nil:
		cl.start = s.props.live.lowres[k]
	case s.props.records[cs.label] != nil && s.props.records[cs.label].lowres[k] != nil:
		cl.start = s.props.records[cs.label].lowres[k]
	}
	return cl
}

// pendingMaskLocked returns label's mask on axial slice k as the pending
// preview proposes it, and false when the preview does not decide that
// slice for label. The lock is held.
func (s *Session) pendingMaskLocked(sl *section.Slicer, label uint16, k int) (*section.Mask, bool) {
	pv := s.preview
	if pv == nil || !slices.Contains(pv.info.Values, label) {
		return nil, false
	}
	decides := false
	if cs := s.props.clicks; cs != nil && cs.preview == pv && cs.label == label && cs.slices[k] != nil && cs.slices[k].answer != nil {
		decides = true
	}
	if live := s.props.live; live != nil && live.preview == pv && live.label == label {
		if _, ok := live.confidence[k]; ok && !live.unchecked[k] {
			decides = true
		}
	}
	if pv.box != nil && pv.box.k == k && pv.box.label == label {
		decides = true
	}
	if !decides {
		return nil, false
	}
	m, err := pv.labels.mask(sl, k, label)
	if err != nil {
		return nil, false
	}
	// A box's preview decides only the box and SAM's mask on its slice:
	// the label's accepted voxels elsewhere on the slice stay.
	if acc, err := sl.Mask(s.layer.Labels, k, label); err == nil && pv.box != nil && pv.box.k == k {
		for i, on := range acc.Data {
			m.Data[i] = m.Data[i] || on
		}
	}
	return m, true
}

// decodeClicks runs, as a job, SAM on slice k with everything the click
// set holds for it, and puts the answer into the preview.
func (s *Session) decodeClicks(cs *clickSet, v *volume.Volume, sl *section.Slicer, k int, name string) *Job {
	return s.RunJob(name, func(ctx context.Context, p Progress) error {
		cs.decode.Lock()
		defer cs.decode.Unlock()
		s.mu.RLock()
		cl := cs.slices[k]
		current := s.clicksCurrentLocked(cs) && s.vol == v
		var q refine.SlicePrompt
		var gen uint64
		if current && cl.gen >= cs.gen {
			current = false // a later decode has answered already
		}
		if current {
			gen = cs.gen
			q = refine.SlicePrompt{Box: cl.box, Points: slices.Clone(cl.points), Previous: cl.start, Before: cl.before}
			if cl.answer != nil {
				q.Previous = cl.answer.LowRes
			}
			// A negative click only takes away from the mask just before
			// it; when clicks came faster than SAM's answers, or one was
			// taken back, that mask was never shown, and SAM answers alone.
			switch n := len(q.Points); {
			case n > 0 && cl.answer != nil && cl.answered == n-1:
				q.Last = cl.answer.Mask
			case n == 1 && cl.answer == nil:
				q.Last = cl.before
			}
		}
		s.mu.RUnlock()
		if !current {
			return nil
		}
		var a *refine.Answer
		if len(q.Points) == 0 {
			// The last click was taken back: the slice as it was.
			a = &refine.Answer{Mask: cl.before, LowRes: cl.start}
		} else {
			p.Report(-1, "loading SAM")
			sm, err := s.models.SAM()
			s.changed(ChangeModels)
			if err != nil {
				return err
			}
			if q.Previous == nil && cl.before != nil && cl.before.Area() > 0 {
				q.Previous = sm.LowResLogits(cl.before, clickMaskLogit)
			}
			pr, err := refine.NewPrompter(sm, v, windowOr(s.samWindow(cs.label), sm.DefaultWindow()))
			if err != nil {
				return err
			}
			p.Report(-1, "decoding")
			if a, err = pr.AskWith(ctx, k, q, nil, s.models.ClickOptions()); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		s.applyClickAnswer(cs, v, sl, cl, a, gen, len(q.Points))
		return nil
	})
}

// clickMaskLogit is the amplitude of a mask given to SAM as the answer
// behind a slice that has none (drawn with the brush): firm, as the
// refinement measured (sam-on-ct.md: the coarse mask at ±10 keeps a good
// mask good).
const clickMaskLogit = 10

// applyClickAnswer writes SAM's answer a for slice cl into the preview (a
// new one when the click set has none yet) and, when the label was
// propagated before, arms the re-propagation of the spans next to the
// clicked slices.
func (s *Session) applyClickAnswer(cs *clickSet, v *volume.Volume, sl *section.Slicer, cl *clickSlice, a *refine.Answer, gen uint64, answered int) {
	s.mu.Lock()
	if !s.clicksCurrentLocked(cs) || s.vol != v || cl.gen >= gen {
		s.mu.Unlock()
		return
	}
	cl.answer, cl.gen, cl.answered = a, gen, answered
	pv := cs.preview
	if pv == nil {
		name := fmt.Sprintf("SAM clicks on %s", s.layer.Table.Name(cs.label))
		pv = newPreview(name, v, newProposal(v.Grid), []uint16{cs.label}, cl.view, []uint32{})
		pv.prov = &Provenance{Tool: "sam-click", Labels: []uint16{cs.label}, Started: time.Now().UTC()}
		cs.preview, s.preview = pv, pv
	}
	s.writeSliceLocked(pv, sl, cl.k, a.Mask, cs.label)
	pv.prov.Prompts = s.clickPromptsLocked(cs, pv.prov.Prompts)
	if sm := s.models.LoadedSAM(); sm != nil {
		pv.prov.Models = sm.Models()
	}
	pv.prov.Finished = time.Now().UTC()
	if live := s.props.live; live != nil && live.preview == pv {
		// The clicked slice is the user's now.
		live.confidence[cl.k], live.notes[cl.k], live.reasons[cl.k] = 1, "corrected with clicks", ""
		delete(live.unchecked, cl.k)
		if !slices.Contains(live.anchors, cl.k) {
			live.anchors = append(live.anchors, cl.k)
		}
		live.lowres[cl.k] = a.LowRes
	}
	auto := s.props.live != nil && s.props.live.label == cs.label && s.props.live.preview == pv || s.props.records[cs.label] != nil
	if auto && s.opts.ClickDelay >= 0 {
		d := s.opts.ClickDelay
		if d == 0 {
			d = DefaultClickDelay
		}
		if cs.timer != nil {
			cs.timer.Stop()
		}
		cs.timer = time.AfterFunc(d, func() { s.propagateClicksAfterDelay(cs, gen) })
	}
	s.mu.Unlock()
	s.changed(ChangePreview)
}

// writeSliceLocked makes preview pv propose mask m (value label) on the
// whole of axial slice k: the slice joins its scope, so that what a click
// removed goes back to background. The lock is held.
func (s *Session) writeSliceLocked(pv *preview, sl *section.Slicer, k int, m *section.Mask, label uint16) {
	whole := pv.scope == nil || pv.whole[k]
	sl.Each(k, func(i, idx int) {
		old := pv.labels.At(idx)
		on := m.Data[i]
		if on {
			pv.labels.set(idx, label)
		} else if old == label {
			pv.labels.set(idx, 0)
		}
		switch {
		case on && old == 0:
			pv.info.Voxels++
		case !on && old == label:
			pv.info.Voxels--
		}
		if !whole {
			pv.scope = append(pv.scope, uint32(idx))
		}
	})
	pv.markWhole(k)
}

// pendingClicksLocked returns the click set waiting in the pending preview
// when it holds a click, else nil; the lock is held.
func (s *Session) pendingClicksLocked() *clickSet {
	if cs := s.props.clicks; cs != nil && s.clicksCurrentLocked(cs) && len(cs.order) > 0 {
		return cs
	}
	return nil
}

// lastClickName names cs's latest click, for Undo and its menu item.
func (cs *clickSet) lastClickName() string {
	return fmt.Sprintf("SAM click on slice %d", cs.slices[cs.order[len(cs.order)-1]].view+1)
}

// restoreOriginLocked brings back what was pending before the first click
// of cs, which has none left: nothing, or the preview (and propagation) it
// clicked on, as it was. A propagation still running at the first click
// cannot come back; false then. The lock is held.
func (s *Session) restoreOriginLocked(cs *clickSet) bool {
	if cs.originLive != nil && !cs.originLive.done {
		return false
	}
	if cur := s.props.live; cur != nil && cur.preview == s.preview {
		cur.cancel() // the propagation the clicks started, if running
	}
	s.dropClicksLocked()
	s.props.live, s.preview = cs.originLive, cs.origin
	return true
}

// clickPromptsLocked lists the click set's clicks (and boxes) for the
// provenance record, keeping what p said already.
func (s *Session) clickPromptsLocked(cs *clickSet, p *Prompts) *Prompts {
	out := &Prompts{Plane: "axial"}
	if p != nil {
		out.Boxes, out.AnchorSlices = p.Boxes, p.AnchorSlices
	}
	for _, c := range s.clicksOfLocked(cs) {
		out.Points = append(out.Points, PointPrompt{Voxel: c.Voxel, Positive: c.Positive})
	}
	return out
}

func (s *Session) clicksOfLocked(cs *clickSet) []Click {
	var out []Click
	seen := map[int]int{}
	for _, k := range cs.order {
		out = append(out, cs.slices[k].clicks[seen[k]])
		seen[k]++
	}
	return out
}

// propagateClicksAfterDelay is the click delay's end: if no click came
// since (gen), the spans next to the clicked slices are propagated again.
func (s *Session) propagateClicksAfterDelay(cs *clickSet, gen uint64) {
	s.mu.RLock()
	ok := s.clicksCurrentLocked(cs) && cs.gen == gen && s.ctx.Err() == nil
	var view int
	if ok && len(cs.order) > 0 {
		view = cs.slices[cs.order[len(cs.order)-1]].view
	}
	s.mu.RUnlock()
	if !ok || len(cs.order) == 0 {
		return
	}
	// A failure shows as the job's error, as for P.
	_, _ = s.Propagate(PropagateRequest{Plane: viewer.Axial, Slice: view, Label: cs.label})
}

// clickedAnchorsLocked returns the clicked slices of label waiting in the
// pending preview, with their masks; the lock is held.
func (s *Session) clickedAnchorsLocked(label uint16) map[int]*section.Mask {
	cs := s.props.clicks
	if cs == nil || cs.label != label || !s.clicksCurrentLocked(cs) {
		return nil
	}
	out := map[int]*section.Mask{}
	for k, cl := range cs.slices {
		if cl.answer != nil && cl.answer.Mask.Area() > 0 {
			out[k] = cl.answer.Mask
		}
	}
	return out
}

// priorFor returns the loaded U-Net's probabilities of the segment, when
// ModelOptions.UNetGuard is on and the U-Net segments a structure of the
// segment's name (its value plays no part: TotalSegmentator's 5 is
// another table's 12), and nil otherwise. It never loads the U-Net.
func (s *Session) priorFor(v *volume.Volume, label uint16) (propagate.Prior, error) {
	u := s.models.LoadedUNet()
	if u == nil || !s.models.UNetGuard() {
		return nil, nil
	}
	own, ok := unetValue(u.Manifest(), s.labelName(label))
	if !ok {
		return nil, nil
	}
	return u.Prior(v, own)
}

// unetValue returns the value a model's manifest gives the structure
// named name (case and surrounding blanks aside), and false when it
// segments no structure of that name.
func unetValue(m *models.Manifest, name string) (uint16, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	for _, l := range m.Labels {
		if strings.ToLower(strings.TrimSpace(l.Name)) == name {
			return l.Value, true
		}
	}
	return 0, false
}

// acceptedClicks is called with the lock held when preview p is
// accepted: clicked slices of a propagated label become anchors of its
// record (the user has said what they are), and the click set ends.
func (s *Session) acceptedClicks(p *preview) {
	cs := s.props.clicks
	if cs == nil || cs.preview != p {
		s.dropClicksLocked()
		return
	}
	if rec := s.props.records[cs.label]; rec != nil {
		for k, cl := range cs.slices {
			if cl.answer == nil {
				continue
			}
			rec.confidence[k], rec.notes[k], rec.reasons[k] = 1, "corrected with clicks", ""
			delete(rec.unchecked, k)
			rec.lowres[k] = cl.answer.LowRes
			if !slices.Contains(rec.anchors, k) {
				rec.anchors = append(rec.anchors, k)
			}
		}
		slices.Sort(rec.anchors)
	}
	s.dropClicksLocked()
}

// dropClicksLocked forgets the pending clicks and stops their delay; the
// lock is held.
func (s *Session) dropClicksLocked() {
	if cs := s.props.clicks; cs != nil && cs.timer != nil {
		cs.timer.Stop()
	}
	s.props.clicks = nil
}
