package app

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/polyseg/polyseg/volume"
)

// HURange is a closed range of scan values (Hounsfield units for CT).
type HURange struct {
	Min, Max float64
}

// Contains reports whether x lies in the range. NaN lies in none.
func (r HURange) Contains(x float32) bool {
	f := float64(x)
	return f >= r.Min && f <= r.Max
}

// Check reports a range that holds nothing or is not a number.
func (r HURange) Check() error {
	if math.IsNaN(r.Min) || math.IsNaN(r.Max) || r.Min > r.Max {
		return fmt.Errorf("HU range %g..%g is empty: the minimum must not exceed the maximum", r.Min, r.Max)
	}
	return nil
}

// PaintOptions say what a stroke writes. Where it may write is the
// segment list's business (locked segments, the overwrite mode), see
// BeginStroke.
type PaintOptions struct {
	// Value is the segment painted, or the one erased.
	Value uint16
	// Erase writes background instead of Value.
	Erase bool
	// HU, if not nil, limits the stroke to voxels whose scan value lies
	// in the range (threshold painting, flood fill).
	HU *HURange
}

// Errors of painting.
var (
	// ErrStrokeEnded is wrapped by the error of a stroke's Paint or End
	// once something else ended it: another edit, an undo, a new scan.
	// What it painted until then stays, as its own undo step.
	ErrStrokeEnded = errors.New("the stroke was ended")
	// ErrLocked is wrapped when the segment to paint or erase is locked.
	ErrLocked = errors.New("segment is locked")
	// ErrReplacing is wrapped when painting is refused because the labels
	// are being replaced (a new scan being opened).
	ErrReplacing = errors.New("the labels are being replaced")
)

// Stroke is one paint or erase gesture, from press to release: every voxel
// it changes is written into the label volume at once, in place, and the
// whole stroke becomes one undo step when it ends. Begin one with
// BeginStroke. A Stroke is used from one goroutine (the UI's); the session
// may end it from another (see ErrStrokeEnded).
type Stroke struct {
	s    *Session
	name string
	opts PaintOptions
	vol  *volume.Volume // the scan it paints on
	e    *edit
	// ended says why the stroke stopped before End, or nil: the session
	// sets it under its lock.
	ended error
}

// BeginStroke starts a stroke named name (the undo step's name) that
// writes as opts says, recording p (which the session completes with the
// masking mode) as what made it. A voxel is written only if its segment is
// not locked, and, unless SetOverwriteOthers is on, only if it is empty
// (painting) or holds opts.Value (erasing): as 3D Slicer's masking modes
// "everywhere" and "empty voxels only". Painting or erasing a locked
// segment is refused at once. A stroke going on ends first.
func (s *Session) BeginStroke(name string, opts PaintOptions, p *Provenance) (*Stroke, error) {
	if opts.HU != nil {
		if err := opts.HU.Check(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		hu := *opts.HU
		opts.HU = &hu
	}
	if !opts.Erase && opts.Value == 0 {
		return nil, fmt.Errorf("%s: choose a segment to paint (the background is erased with the eraser)", name)
	}
	s.mu.Lock()
	if s.vol == nil {
		s.mu.Unlock()
		return nil, ErrNoVolume
	}
	if err := s.refuseWhileReplacingLocked(name); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if s.locked[opts.Value] && opts.Value != 0 && (!opts.Erase || !s.overwrite) {
		err := fmt.Errorf("%s: %w: %s (%d); unlock it to edit it", name, ErrLocked, s.layer.Table.Name(opts.Value), opts.Value)
		s.mu.Unlock()
		return nil, err
	}
	ended := s.endStrokeLocked(name)
	if p == nil {
		p = &Provenance{Tool: name}
	} else {
		cp := *p
		p = &cp
	}
	opt := make(map[string]any, len(p.Options)+2)
	for k, v := range p.Options {
		opt[k] = v
	}
	opt["mode"] = s.modeLocked()
	if opts.HU != nil {
		opt["hu_range"] = []float64{opts.HU.Min, opts.HU.Max}
	}
	p.Options = opt
	if p.Labels == nil && opts.Value != 0 {
		p.Labels = []uint16{opts.Value}
	}
	if p.Started.IsZero() {
		p.Started = time.Now().UTC()
	}
	st := &Stroke{s: s, name: name, opts: opts, vol: s.vol, e: &edit{name: name, prov: p}}
	s.stroke = st
	s.mu.Unlock()
	if ended {
		s.changed(ChangeLabels)
	}
	return st, nil
}

// modeLocked names the masking mode for provenance records.
func (s *Session) modeLocked() string {
	if s.overwrite {
		return "overwrite-others"
	}
	return "empty-only"
}

// refuseWhileReplacingLocked returns the error of an edit named name made
// while the labels are being replaced; the lock is held.
func (s *Session) refuseWhileReplacingLocked(name string) error {
	if s.replacing == "" {
		return nil
	}
	return fmt.Errorf("%s: %w (%s); paint again once it is shown", name, ErrReplacing, s.replacing)
}

// Paint writes the stroke's value (or background, erasing) into the
// voxels at the data indices idx, as far as the masking rules allow, and
// returns how many changed. Indices outside the grid are an error, and
// nothing changes. Once the stroke was ended by something else, Paint
// changes nothing and returns an error wrapping ErrStrokeEnded that says
// what ended it.
func (st *Stroke) Paint(idx []int) (int, error) {
	s := st.s
	s.mu.Lock()
	if st.ended != nil {
		err := st.ended
		s.mu.Unlock()
		return 0, err
	}
	if s.stroke != st {
		s.mu.Unlock()
		return 0, fmt.Errorf("%s: %w", st.name, ErrStrokeEnded)
	}
	l := s.layer.Labels
	for _, i := range idx {
		if i < 0 || i >= len(l.Data) {
			s.mu.Unlock()
			return 0, fmt.Errorf("%s: voxel index %d outside the grid of %d voxels", st.name, i, len(l.Data))
		}
	}
	data, hu := l.Data, st.vol.Data
	value, erase, rng := st.opts.Value, st.opts.Erase, st.opts.HU
	locked, overwrite := s.locked, s.overwrite
	next := value
	if erase {
		next = 0
	}
	nx, nxy := l.Dims[0], l.Dims[0]*l.Dims[1]
	e := st.e
	before := len(e.idx)
	var box VoxelBox
	for _, i := range idx {
		cur := data[i]
		if cur == next || locked[cur] {
			continue
		}
		if !overwrite && (erase && cur != value || !erase && cur != 0) {
			continue
		}
		if rng != nil && !rng.Contains(hu[i]) {
			continue
		}
		e.idx = append(e.idx, uint32(i))
		e.old = append(e.old, cur)
		e.new = append(e.new, next)
		data[i] = next
		s.counts[cur]--
		s.counts[next]++
		box.add(i%nx, i%nxy/nx, i/nxy)
	}
	n := len(e.idx) - before
	s.noteLabelEdit(e.idx[before:], e.old[before:], e.new[before:])
	if n > 0 {
		// Unsaved until the stroke ends: an autosave meanwhile keeps it.
		s.dirty = true
		s.edits++
	}
	s.mu.Unlock()
	if n > 0 {
		s.changedIn(ChangeStroke, &box)
	}
	return n, nil
}

// Voxels returns how many voxels the stroke changed so far.
func (st *Stroke) Voxels() int {
	st.s.mu.RLock()
	defer st.s.mu.RUnlock()
	return len(st.e.idx)
}

// SetPrompts records what the user gave the tool (its plane, the polygon's
// vertices, the seed of a fill) in the stroke's provenance.
func (st *Stroke) SetPrompts(p *Prompts) {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	if p != nil {
		cp := *p
		cp.Points = slices.Clone(p.Points)
		p = &cp
	}
	st.e.prov.Prompts = p
}

// End finishes the stroke: what it changed becomes one undo step, and it
// returns how many voxels that is. If something else ended it before, its
// voxels are an undo step already and End returns the error saying what
// ended it.
func (st *Stroke) End() (int, error) {
	s := st.s
	s.mu.Lock()
	if st.ended != nil {
		err := st.ended
		s.mu.Unlock()
		return 0, err
	}
	if s.stroke != st {
		s.mu.Unlock()
		return 0, nil
	}
	n := len(st.e.idx)
	s.commitStrokeLocked()
	s.mu.Unlock()
	// The voxels are drawn already: the change is for lists and menus.
	s.changedIn(ChangeLabels, &VoxelBox{})
	return n, nil
}

// Cancel ends the stroke and puts back every voxel it changed, leaving no
// undo step (Esc while the button is held).
func (st *Stroke) Cancel() {
	s := st.s
	s.mu.Lock()
	if st.ended != nil || s.stroke != st {
		s.mu.Unlock()
		return
	}
	s.stroke = nil
	st.ended = fmt.Errorf("%s: %w: cancelled", st.name, ErrStrokeEnded)
	e := st.e
	l := s.layer.Labels
	nx, nxy := l.Dims[0], l.Dims[0]*l.Dims[1]
	var box VoxelBox
	for n := len(e.idx) - 1; n >= 0; n-- {
		i := int(e.idx[n])
		l.Data[i] = e.old[n]
		s.counts[e.new[n]]--
		s.counts[e.old[n]]++
		box.add(i%nx, i%nxy/nx, i/nxy)
	}
	s.noteLabelEdit(e.idx, e.new, e.old)
	if len(e.idx) > 0 {
		s.edits++
	}
	s.mu.Unlock()
	s.changedIn(ChangeLabels, &box)
}

// commitStrokeLocked pushes the open stroke's edit, if it changed
// anything, and closes it; the lock is held.
func (s *Session) commitStrokeLocked() {
	st := s.stroke
	s.stroke = nil
	if len(st.e.idx) == 0 {
		return
	}
	st.e.prov.Finished = time.Now().UTC()
	s.push(st.e)
}

// endStrokeLocked ends the stroke going on, if any, because of what (an
// edit's name, "opening x.nii.gz"): its voxels become their own undo step
// and its next Paint says what ended it. It reports whether there was
// one; the lock is held.
func (s *Session) endStrokeLocked(what string) bool {
	st := s.stroke
	if st == nil {
		return false
	}
	s.commitStrokeLocked()
	st.ended = fmt.Errorf("%s: %w by %s; what it painted before is kept, and undoable", st.name, ErrStrokeEnded, what)
	return true
}

// Paintable returns the rule a stroke with opts would follow now: whether
// a voxel holding cur may be written (ignoring the HU range). Tools that
// grow a region before painting it, as flood fill does, stop at voxels
// they may not write; the stroke checks again as it writes.
func (s *Session) Paintable(opts PaintOptions) func(cur uint16) bool {
	s.mu.RLock()
	locked := slices.Clone(s.locked)
	overwrite := s.overwrite
	s.mu.RUnlock()
	next := opts.Value
	if opts.Erase {
		next = 0
	}
	return func(cur uint16) bool {
		if cur == next || locked[cur] {
			return false
		}
		if !overwrite && (opts.Erase && cur != opts.Value || !opts.Erase && cur != 0) {
			return false
		}
		return true
	}
}
