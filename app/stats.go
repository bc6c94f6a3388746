package app

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/polyseg/polyseg/internal/atomicfile"
	"github.com/polyseg/polyseg/stats"
	"github.com/polyseg/polyseg/volume"
)

// StatsTable is the statistics of every segment of a label volume, laid
// out as polyseg stats prints them.
type StatsTable struct {
	Segments []stats.Segment
	Header   stats.Row
	Rows     []stats.Row
}

// Statistics measures every segment of the label volume on the scan
// (package stats: voxels, mL, mean and SD of HU, axial slice range, and
// its surface's area and maximum 3D diameter), named
// from the segment list. It works on a copy of the labels, so editing can
// go on meanwhile; ctx cancels it.
func (s *Session) Statistics(ctx context.Context) (*StatsTable, error) {
	s.mu.RLock()
	if s.vol == nil || s.layer.Labels == nil {
		s.mu.RUnlock()
		return nil, fmt.Errorf("statistics: %w", ErrNoVolume)
	}
	v, table := s.vol, s.layer.Table
	l := &volume.Labels{Grid: s.layer.Labels.Grid, Data: slices.Clone(s.layer.Labels.Data)}
	s.mu.RUnlock()
	cols := stats.MeshColumns()
	segs, err := stats.Compute(ctx, v, l, cols)
	if err != nil {
		return nil, fmt.Errorf("statistics: %w", err)
	}
	t := &StatsTable{Segments: segs}
	t.Header, t.Rows = stats.Table(segs, cols, table.Name)
	return t, nil
}

// WriteCSV writes the table to path as polyseg stats --csv does,
// atomically.
func (t *StatsTable) WriteCSV(path string) error {
	err := atomicfile.WriteFile(path, 0o644, func(w io.Writer) error { return stats.WriteCSV(w, t.Header, t.Rows) })
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
