package app

import (
	"image/color"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/volume"
)

// applySegments names and colours the label values a file described (a
// .seg.nrrd's segments, the colour table beside a NIfTI file) in the
// session's colour table, replacing the table's entries for those values
// and keeping the others. Every segment the file described is listed,
// empty or not, as Slicer lists a segmentation's empty segments. It is not
// an undo step: names and colours are not (SetSegment is not either).
func (s *Session) applySegments(segs []volume.Segment) {
	if len(segs) == 0 {
		return
	}
	s.mu.Lock()
	t := cloneTable(s.layer.Table)
	for _, seg := range segs {
		if seg.Value == 0 {
			continue
		}
		name := SegmentName(seg.Name)
		if name == "" {
			name = t.Name(seg.Value)
		}
		c := seg.Color
		if c.A == 0 {
			c = t.Color(seg.Value)
		}
		if err := t.Set(assets.Label{Value: seg.Value, Name: name, Color: c}); err != nil {
			continue // a name Set refuses keeps the table's
		}
		s.listed[seg.Value] = true
	}
	s.layer.Table = t
	s.mu.Unlock()
	s.changed(ChangeOverlay | ChangeSegments)
}

// segmentsLocked describes every segment of the list (present or listed)
// with its name and colour, for a writer to store; the lock is held.
func (s *Session) segmentsLocked() []volume.Segment {
	var out []volume.Segment
	for v := 1; v < len(s.counts); v++ {
		u := uint16(v)
		if s.counts[v] == 0 && !s.listed[u] {
			continue
		}
		c := s.layer.Table.Color(u)
		out = append(out, volume.Segment{Value: u, Name: s.layer.Table.Name(u),
			Color: color.NRGBA{R: c.R, G: c.G, B: c.B, A: 255}})
	}
	return out
}
