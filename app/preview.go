package app

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/polyseg/polyseg/volume"
)

// ErrNoPreview is returned by AcceptPreview when nothing is pending.
var ErrNoPreview = errors.New("no preview to accept")

// PreviewInfo describes the pending result of a model, waiting for the
// user to accept or reject it.
type PreviewInfo struct {
	// Name names the operation, and the undo step accepting it makes.
	Name string
	// Values are the label values the preview proposes.
	Values []uint16
	// Slice is the axial slice (the viewer's number) a slice preview
	// covers, -1 for a whole-volume one.
	Slice int
	// Voxels counts the voxels proposed, in all of its values.
	Voxels int
}

// preview is a pending model result. Within its scope, a voxel gets the
// proposed value if it is background or holds one of the proposed values
// already, and a voxel of a proposed value that is not proposed again goes
// back to background; voxels of other labels are never touched, so a model
// cannot overwrite what the user labelled as something else.
type preview struct {
	info PreviewInfo
	vol  *volume.Volume // the scan it was computed for
	// labels holds the proposed values inside the scope, 0 elsewhere; it
	// is what the views draw.
	labels *Proposal
	// scope lists the voxel indices the preview decides; nil means all.
	// They are uint32 (volume.MaxVoxels is 2^31) as an undo step's are: a
	// propagation's scope holds every voxel of the slices it decided.
	scope []uint32
	// prov says what made the preview; accepting it records it.
	prov *Provenance
	// box, for a SAM box's preview, is the box and SAM's answer, which
	// clicks on its slice correct.
	box *boxAnswer
	// whole lists the axial slices (inference numbering) every voxel of
	// which is in scope, so that a slice decided again is not added to
	// the scope twice.
	whole map[int]bool
}

// clone returns a copy of p that later writes into p leave as it is.
func (p *preview) clone() *preview {
	c := *p
	c.labels = p.labels.clone()
	c.scope = slices.Clone(p.scope)
	c.whole = maps.Clone(p.whole)
	if p.prov != nil {
		prov := *p.prov
		if p.prov.Prompts != nil {
			prompts := *p.prov.Prompts
			prov.Prompts = &prompts
		}
		c.prov = &prov
	}
	return &c
}

// markWhole records that every voxel of axial slice k is in p's scope.
func (p *preview) markWhole(k int) {
	if p.whole == nil {
		p.whole = map[int]bool{}
	}
	p.whole[k] = true
}

// newPreview keeps only the given values of prop inside the scope, so
// that the preview proposes exactly what accepting it merges, and counts
// the voxels proposed. A scoped preview copies what it keeps into planes
// of its own (prop, often a whole volume from a model, is dropped); an
// unscoped one keeps prop.
func newPreview(name string, v *volume.Volume, prop *Proposal, values []uint16, slice int, scope []uint32) *preview {
	in := valueSet(values)
	n := 0
	if scope == nil {
		for _, pl := range prop.planes {
			for i, x := range pl {
				if !in[x] {
					pl[i] = 0
				} else if x != 0 {
					n++
				}
			}
		}
	} else {
		kept := newProposal(prop.grid)
		for _, i := range scope {
			if x := prop.At(int(i)); in[x] {
				kept.set(int(i), x)
				n++
			}
		}
		prop = kept
	}
	return &preview{
		info:   PreviewInfo{Name: name, Values: slices.Clone(values), Slice: slice, Voxels: n},
		vol:    v,
		labels: prop,
		scope:  scope,
	}
}

// valueSet returns a lookup table of values; 0 is never in it.
func valueSet(values []uint16) []bool {
	in := make([]bool, 1<<16)
	for _, v := range values {
		in[v] = v != 0
	}
	return in
}

// merge returns the edit accepting p makes to l.
func (p *preview) merge(l *volume.Labels) *edit {
	in := valueSet(p.info.Values)
	e := &edit{name: p.info.Name, prov: p.prov}
	visit := func(i int, prop uint16) {
		cur := l.Data[i]
		next := cur
		switch {
		case prop != 0 && (cur == 0 || in[cur]):
			next = prop
		case prop == 0 && in[cur]:
			next = 0
		}
		if next != cur {
			e.idx = append(e.idx, uint32(i))
			e.old = append(e.old, cur)
			e.new = append(e.new, next)
		}
	}
	if p.scope == nil {
		nxy := p.labels.nxy
		for z, pl := range p.labels.planes {
			for j := range nxy {
				prop := uint16(0)
				if pl != nil {
					prop = pl[j]
				}
				visit(z*nxy+j, prop)
			}
		}
	} else {
		for _, i := range p.scope {
			visit(int(i), p.labels.At(int(i)))
		}
	}
	return e
}

// setPreview makes p the pending preview, replacing any other, unless the
// scan changed while p was computed.
func (s *Session) setPreview(p *preview) error {
	s.mu.Lock()
	if s.vol != p.vol {
		s.mu.Unlock()
		return fmt.Errorf("%s: the scan changed while it ran; result dropped", p.info.Name)
	}
	s.preview = p
	s.mu.Unlock()
	s.changed(ChangePreview)
	return nil
}

// Preview describes the pending preview, if there is one.
func (s *Session) Preview() (PreviewInfo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.preview == nil {
		return PreviewInfo{}, false
	}
	info := s.preview.info
	info.Values = slices.Clone(info.Values)
	return info, true
}

// ReadPreview calls f with the pending preview's proposed labels (values
// it proposes inside its scope, 0 elsewhere; on the scan's grid), or nil,
// under the session's read lock, as Read does: f must not keep them.
func (s *Session) ReadPreview(f func(proposed *Proposal)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.preview == nil {
		f(nil)
		return
	}
	f(s.preview.labels)
}

// AcceptPreview merges the pending preview into the labels as one undo
// step named after it, and returns how many voxels changed. Labels edited
// since the preview was made are merged as they are now.
func (s *Session) AcceptPreview() (int, error) {
	s.mu.Lock()
	p := s.preview
	if p == nil {
		s.mu.Unlock()
		return 0, ErrNoPreview
	}
	s.preview = nil
	s.acceptedLive(p)
	s.acceptedClicks(p)
	e := p.merge(s.layer.Labels)
	for n, i := range e.idx {
		s.layer.Labels.Data[i] = e.new[n]
	}
	n := s.record(e)
	s.mu.Unlock()
	c := ChangePreview
	if n > 0 {
		c |= ChangeLabels
	}
	s.changed(c)
	return n, nil
}

// RejectPreview discards the pending preview and reports whether there was
// one.
func (s *Session) RejectPreview() bool {
	s.mu.Lock()
	had := s.preview != nil
	if live := s.props.live; live != nil && live.preview == s.preview {
		live.cancel()
		s.props.live = nil
	}
	s.dropClicksLocked()
	s.preview = nil
	s.mu.Unlock()
	if had {
		s.changed(ChangePreview)
	}
	return had
}
