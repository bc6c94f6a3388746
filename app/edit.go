package app

import (
	"fmt"

	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// edit is one undo step: the voxels it changed, with their values before
// and after. Indices are uint32 because volume.MaxVoxels is 2^31.
type edit struct {
	name     string
	idx      []uint32
	old, new []uint16
	// prov says what made the edit (nil: only its name is known); id is
	// its entry in the session's provenance log.
	prov *Provenance
	id   int
}

// set writes v to data[i], recording the voxel in e only if it changes, so
// that an edit stores (and undo restores) no more than it altered.
func (e *edit) set(data []uint16, i int, v uint16) {
	if old := data[i]; old != v {
		e.idx = append(e.idx, uint32(i))
		e.old = append(e.old, old)
		e.new = append(e.new, v)
		data[i] = v
	}
}

// editOverhead approximates the bytes an edit costs beyond its voxels.
const editOverhead = 128

func (e *edit) size() int { return editOverhead + 8*len(e.idx) }

// history is the undo and redo stacks, newest last, within a byte budget.
type history struct {
	undo, redo []*edit
	bytes      int // total size of undo and redo
}

func (h *history) clear() { *h = history{} }

// push records a new step: redo is lost, and the oldest undo steps go while
// the budget is exceeded; the newest step stays even if it alone exceeds it,
// so that the last action can always be undone.
func (h *history) push(e *edit, budget int) {
	for _, r := range h.redo {
		h.bytes -= r.size()
	}
	h.redo = nil
	h.undo = append(h.undo, e)
	h.bytes += e.size()
	for h.bytes > budget && len(h.undo) > 1 {
		h.bytes -= h.undo[0].size()
		h.undo[0] = nil
		h.undo = h.undo[1:]
	}
}

// Paint sets the voxels at the data indices idx to value, as one undo step
// named name, and returns how many voxels changed. Indices repeated or
// already holding value cost nothing. An index outside the grid is an error
// and nothing changes.
func (s *Session) Paint(name string, idx []int, value uint16) (int, error) {
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
	for _, i := range idx {
		if i < 0 || i >= len(l.Data) {
			s.mu.Unlock()
			return 0, fmt.Errorf("%s: voxel index %d outside the grid of %d voxels", name, i, len(l.Data))
		}
	}
	e := &edit{name: name}
	for _, i := range idx {
		e.set(l.Data, i, value)
	}
	n := s.record(e)
	s.mu.Unlock()
	if n > 0 {
		s.changed(ChangeLabels)
	}
	return n, nil
}

// ReplaceLabels makes next's voxels the label volume's, as one undo step
// named name that stores only the voxels that differ, and returns how many
// did. next must lie on the scan's grid (volume.LoadLabels resamples);
// the session copies it and keeps no reference.
func (s *Session) ReplaceLabels(name string, next *volume.Labels) (int, error) {
	return s.replaceLabels(name, next, false, nil)
}

// ReplaceLabelsWith is ReplaceLabels with a record of what made next.
func (s *Session) ReplaceLabelsWith(name string, next *volume.Labels, p *Provenance) (int, error) {
	return s.replaceLabels(name, next, false, p)
}

// replaceLabels is ReplaceLabels; saved says that next is on disk already
// (loaded from a file, an autosave), so that there is nothing to autosave.
func (s *Session) replaceLabels(name string, next *volume.Labels, saved bool, p *Provenance) (int, error) {
	s.mu.Lock()
	l := s.layer.Labels
	if l == nil {
		s.mu.Unlock()
		return 0, ErrNoVolume
	}
	if next == nil || !next.Grid.Equal(l.Grid, viewer.GridTolerance) || len(next.Data) != len(l.Data) {
		s.mu.Unlock()
		return 0, fmt.Errorf("%s: label volume is not on the scan's grid", name)
	}
	e := &edit{name: name, prov: p}
	for i, v := range next.Data {
		e.set(l.Data, i, v)
	}
	n := s.record(e)
	if saved {
		s.dirty = false
	}
	s.mu.Unlock()
	if n > 0 {
		s.changed(ChangeLabels)
	}
	return n, nil
}

// record pushes e, whose voxels are written already, if it changed
// anything; the lock is held. A stroke going on ends first, as its own
// undo step, so that the steps stay in the order their voxels changed.
func (s *Session) record(e *edit) int {
	if len(e.idx) == 0 {
		return 0
	}
	if s.stroke != nil && s.stroke.e != e {
		s.endStrokeLocked(e.name)
	}
	s.countEdit(e, false)
	return s.push(e)
}

// push records e, whose voxels are written and counted already; the lock
// is held.
func (s *Session) push(e *edit) int {
	e.id = s.prov.add(e.name, e.prov, len(e.idx))
	s.history.push(e, s.opts.UndoBudget)
	s.dirty = true
	s.edits++
	return len(e.idx)
}

// Undo takes back the newest interaction and returns its name, or reports
// false when there is none. With a preview pending, that is the latest SAM
// click in it (as Backspace does), or the preview itself when it holds no
// click (as Esc does): what the user did last, and an edit undone under a
// pending preview would come back when the preview is accepted. Otherwise
// it reverts the newest edit of the labels (a stroke still going on is
// ended and reverted).
func (s *Session) Undo() (string, bool) {
	s.mu.RLock()
	pending, stroke, cs := s.preview, s.stroke != nil, s.pendingClicksLocked()
	var name string
	if cs != nil {
		name = cs.lastClickName()
	}
	s.mu.RUnlock()
	switch {
	case stroke || pending == nil && cs == nil:
	case cs != nil:
		// A failed decode shows as the job's error, as for Backspace.
		if _, err := s.RemoveLastClick(cs.label); err != nil {
			return "", false
		}
		return name, true
	default:
		if s.RejectPreview() {
			return pending.info.Name, true
		}
	}
	return s.replay(&s.history.undo, &s.history.redo, true)
}

// Redo applies again the newest undone edit and returns its name, or
// reports false when there is none.
func (s *Session) Redo() (string, bool) {
	return s.replay(&s.history.redo, &s.history.undo, false)
}

// replay moves the newest edit of from onto to, writing its old voxels
// (undo) or its new ones (redo) back into the labels. Either way the labels
// differ from what was last saved or autosaved, hence dirty and edits.
func (s *Session) replay(from, to *[]*edit, undo bool) (string, bool) {
	s.mu.Lock()
	// Undo in the middle of a stroke undoes that stroke: end it first.
	ended := s.endStrokeLocked("Undo or Redo")
	if len(*from) == 0 {
		s.mu.Unlock()
		if ended {
			s.changed(ChangeLabels)
		}
		return "", false
	}
	e := (*from)[len(*from)-1]
	*from = (*from)[:len(*from)-1]
	vals := e.new
	if undo {
		vals = e.old
	}
	for n, i := range e.idx {
		s.layer.Labels.Data[i] = vals[n]
	}
	s.countEdit(e, undo)
	*to = append(*to, e)
	s.prov.setUndone(e.id, undo)
	s.dirty = true
	s.edits++
	s.mu.Unlock()
	s.changed(ChangeLabels)
	return e.name, true
}

// UndoRedoNames returns the names of the edits Undo and Redo would act on,
// empty when there is none: for menu items such as "Undo Paint".
func (s *Session) UndoRedoNames() (undo, redo string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	cs := s.pendingClicksLocked()
	switch {
	case s.stroke != nil:
	case cs != nil:
		undo = cs.lastClickName()
	case s.preview != nil:
		undo = s.preview.info.Name
	}
	if n := len(s.history.undo); n > 0 && undo == "" {
		undo = s.history.undo[n-1].name
	}
	if n := len(s.history.redo); n > 0 {
		redo = s.history.redo[n-1].name
	}
	return undo, redo
}
