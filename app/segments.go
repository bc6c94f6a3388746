package app

import (
	"errors"
	"fmt"
	"image/color"
	"strings"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/stats"
)

// Segment is one entry of the segment list: a label value with its name
// and colour from the colour table, its voxel count and volume, and whether
// it is hidden and locked against painting.
type Segment struct {
	Value  uint16
	Name   string
	Color  color.NRGBA
	Voxels int
	// VolumeML is the segment's volume in mL: Voxels times the volume of
	// one voxel (stats.VoxelML), as Statistics and polyseg stats give it.
	VolumeML float64
	Hidden   bool
	Locked   bool
}

// countEdit updates the voxel counts for e, applied forwards or, with
// undo, backwards; the lock is held.
func (s *Session) countEdit(e *edit, undo bool) {
	from, to := e.old, e.new
	if undo {
		from, to = to, from
	}
	for n := range e.idx {
		s.counts[from[n]]--
		s.counts[to[n]]++
	}
	s.noteLabelEdit(e.idx, from, to)
}

// countAllLocked counts the voxels of every value afresh; the lock is held.
func (s *Session) countAllLocked() {
	s.noteAllLabels()
	clear(s.counts)
	if s.layer.Labels == nil {
		return
	}
	for _, v := range s.layer.Labels.Data {
		s.counts[v]++
	}
}

// Segments lists the segments, by increasing value: every value present in
// the label volume, and those added with AddSegment while still empty.
func (s *Session) Segments() []Segment {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.layer.Labels == nil {
		return nil
	}
	var out []Segment
	for v := 1; v < len(s.counts); v++ {
		u := uint16(v)
		if s.counts[v] == 0 && !s.listed[u] {
			continue
		}
		out = append(out, s.segmentLocked(u))
	}
	return out
}

// SegmentOf describes the segment of value v, listed or not.
func (s *Session) SegmentOf(v uint16) Segment {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.segmentLocked(v)
}

func (s *Session) segmentLocked(v uint16) Segment {
	seg := Segment{Value: v, Name: s.layer.Table.Name(v), Color: s.layer.Table.Color(v),
		Voxels: s.counts[v], Hidden: s.layer.Hidden[v], Locked: s.locked[v]}
	if s.vol != nil {
		seg.VolumeML = float64(seg.Voxels) * stats.VoxelML(s.vol.Grid)
	}
	return seg
}

// SegmentName makes a name fit for the colour table, which is a file of
// space-separated fields: spaces inside become underscores.
func SegmentName(name string) string { return strings.Join(strings.Fields(name), "_") }

// AddSegment lists a segment named name (spaces become underscores) and
// returns its value: the colour table's value for that name when it has
// one (so that "liver" is 5, with its colour), else a new value above all
// the table knows, with a colour of its own. A name already listed is an
// error.
func (s *Session) AddSegment(name string) (uint16, error) {
	name = SegmentName(name)
	if name == "" {
		return 0, errors.New("add segment: give it a name")
	}
	s.mu.Lock()
	if s.layer.Labels == nil {
		s.mu.Unlock()
		return 0, ErrNoVolume
	}
	var value uint16
	found := false
	for _, l := range s.layer.Table.Labels() {
		if strings.EqualFold(l.Name, name) && l.Value != 0 {
			value, found = l.Value, true
			break
		}
	}
	if found && (s.counts[value] > 0 || s.listed[value]) {
		s.mu.Unlock()
		return 0, fmt.Errorf("add segment: %s (%d) is in the list already", name, value)
	}
	if !found {
		top := 0
		for _, l := range s.layer.Table.Labels() {
			top = max(top, int(l.Value))
		}
		v := top + 1
		for v < len(s.counts) && (s.counts[v] > 0 || s.listed[uint16(v)]) {
			v++
		}
		if v >= len(s.counts) {
			s.mu.Unlock()
			return 0, errors.New("add segment: every label value is in use")
		}
		value = uint16(v)
		t := cloneTable(s.layer.Table)
		if err := t.Set(assets.Label{Value: value, Name: name, Color: assets.FallbackColor(value)}); err != nil {
			s.mu.Unlock()
			return 0, fmt.Errorf("add segment: %w", err)
		}
		s.layer.Table = t
	}
	s.listed[value] = true
	s.mu.Unlock()
	s.changed(ChangeSegments | ChangeOverlay)
	return value, nil
}

// cloneTable copies t, so that a change replaces the table the views read
// instead of mutating it under them.
func cloneTable(t *assets.ColorTable) *assets.ColorTable {
	c, err := assets.NewColorTable(t.Labels())
	if err != nil {
		// t's entries passed the same checks when they were added.
		return &assets.ColorTable{}
	}
	return c
}

// SetSegment renames and recolours the segment of value v in the colour
// table (spaces in name become underscores).
func (s *Session) SetSegment(v uint16, name string, c color.NRGBA) error {
	name = SegmentName(name)
	if v == 0 {
		return errors.New("the background is not a segment")
	}
	s.mu.Lock()
	t := cloneTable(s.layer.Table)
	if err := t.Set(assets.Label{Value: v, Name: name, Color: c}); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("segment %d: %w", v, err)
	}
	s.layer.Table = t
	s.mu.Unlock()
	s.changed(ChangeOverlay | ChangeSegments)
	return nil
}

// SetLocked locks or unlocks the segment of value v: no stroke changes
// the voxels of a locked segment.
func (s *Session) SetLocked(v uint16, locked bool) {
	if v == 0 {
		return
	}
	s.mu.Lock()
	same := s.locked[v] == locked
	s.locked[v] = locked
	s.mu.Unlock()
	if !same {
		s.changed(ChangeSegments)
	}
}

// SetOverwriteOthers chooses whether painting may overwrite other
// (unlocked) segments, and erasing erase any unlocked segment; off, the
// default, painting fills only empty voxels and erasing removes only the
// chosen segment.
func (s *Session) SetOverwriteOthers(on bool) {
	s.mu.Lock()
	same := s.overwrite == on
	s.overwrite = on
	s.mu.Unlock()
	if !same {
		s.changed(ChangeSegments)
	}
}

// OverwriteOthers reports the mode SetOverwriteOthers sets.
func (s *Session) OverwriteOthers() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.overwrite
}

// RenumberSegment gives the segment of value from the value to, rewriting
// its voxels as one undo step, and returns how many there were. to must
// be free (no voxels); the colour table gives to from's name and colour
// (from's entry stays, so that undoing finds it named), and the hidden,
// locked and listed marks move along. A locked segment is not renumbered.
func (s *Session) RenumberSegment(from, to uint16) (int, error) {
	name := fmt.Sprintf("Renumber %d to %d", from, to)
	if from == 0 || to == 0 {
		return 0, errors.New("renumber: the background (0) is not a segment")
	}
	if from == to {
		return 0, nil
	}
	s.mu.Lock()
	l := s.layer.Labels
	if l == nil {
		s.mu.Unlock()
		return 0, ErrNoVolume
	}
	if err := s.refuseWhileReplacingLocked(name); err != nil {
		s.mu.Unlock()
		return 0, err
	}
	if s.locked[from] {
		err := fmt.Errorf("%s: %w: %s; unlock it first", name, ErrLocked, s.layer.Table.Name(from))
		s.mu.Unlock()
		return 0, err
	}
	if s.counts[to] > 0 {
		err := fmt.Errorf("%s: %d is segment %s (%d voxels): delete or renumber it first",
			name, to, s.layer.Table.Name(to), s.counts[to])
		s.mu.Unlock()
		return 0, err
	}
	t := cloneTable(s.layer.Table)
	src := s.layer.Table
	if err := t.Set(assets.Label{Value: to, Name: src.Name(from), Color: src.Color(from)}); err != nil {
		s.mu.Unlock()
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	s.layer.Table = t
	e := &edit{name: name, prov: &Provenance{Tool: "renumber", Labels: []uint16{to},
		Options: map[string]any{"from": from, "to": to}}}
	if s.counts[from] > 0 {
		for i, v := range l.Data {
			if v == from {
				e.set(l.Data, i, to)
			}
		}
	}
	n := s.record(e)
	if s.layer.Hidden[from] {
		delete(s.layer.Hidden, from)
		s.layer.Hidden[to] = true
	}
	s.locked[to] = false
	s.listed[to] = s.listed[from]
	delete(s.listed, from)
	s.mu.Unlock()
	c := ChangeSegments | ChangeOverlay
	if n > 0 {
		c |= ChangeLabels
	}
	s.changed(c)
	return n, nil
}

// DeleteSegment clears the voxels of value v, as one undo step, takes it
// off the list, and returns how many voxels it had. Its colour-table entry
// stays (undoing brings the voxels back, named). A locked segment is not
// deleted.
func (s *Session) DeleteSegment(v uint16) (int, error) {
	if v == 0 {
		return 0, errors.New("the background is not a segment")
	}
	s.mu.Lock()
	l := s.layer.Labels
	if l == nil {
		s.mu.Unlock()
		return 0, ErrNoVolume
	}
	name := "Delete " + s.layer.Table.Name(v)
	if err := s.refuseWhileReplacingLocked(name); err != nil {
		s.mu.Unlock()
		return 0, err
	}
	if s.locked[v] {
		err := fmt.Errorf("%s: %w; unlock it first", name, ErrLocked)
		s.mu.Unlock()
		return 0, err
	}
	e := &edit{name: name, prov: &Provenance{Tool: "delete-segment", Labels: []uint16{0},
		Options: map[string]any{"deleted": v}}}
	if s.counts[v] > 0 {
		for i, x := range l.Data {
			if x == v {
				e.set(l.Data, i, 0)
			}
		}
	}
	n := s.record(e)
	delete(s.listed, v)
	s.mu.Unlock()
	c := ChangeSegments
	if n > 0 {
		c |= ChangeLabels
	}
	s.changed(c)
	return n, nil
}
