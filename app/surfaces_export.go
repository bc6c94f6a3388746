package app

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/polyseg/polyseg/mesh"
	"github.com/polyseg/polyseg/volume"
)

// SurfaceExport says which surfaces ExportSurfaces writes, and how: what
// `polyseg mesh` takes as flags.
type SurfaceExport struct {
	Format mesh.Format
	// Options are the smoothing and decimation (mesh.Options: 0 smoothing
	// iterations keep the marching-cubes surface, a Decimate of 0 or 1
	// keeps every triangle).
	Options mesh.Options
	Coords  mesh.Coords
	// Labels are the segments to write; nil means every one present.
	Labels []uint16
}

// ExportSurfaces writes the closed surfaces of the segments of the current
// labels to out, as `polyseg mesh` does (mesh.WriteFiles: one file for one
// segment, else one OBJ file with an object per segment or one STL or PLY
// file per segment named after it), with the segment list's names and
// colours, each file atomically. It returns the files written.
func (s *Session) ExportSurfaces(ctx context.Context, out string, e SurfaceExport) ([]string, error) {
	if err := e.Options.Check(); err != nil {
		return nil, fmt.Errorf("export surfaces to %s: %w", out, err)
	}
	if f, ok := mesh.FormatOf(out); !ok || f != e.Format {
		return nil, fmt.Errorf("export surfaces to %s: name it %s for %s", out, e.Format.Ext(), e.Format)
	}
	// Copy what is needed under the lock; meshing takes seconds.
	s.mu.RLock()
	if s.vol == nil || s.layer.Labels == nil {
		s.mu.RUnlock()
		return nil, ErrNoVolume
	}
	l := &volume.Labels{Grid: s.layer.Labels.Grid, Data: slices.Clone(s.layer.Labels.Data)}
	table := s.layer.Table
	scan := s.path
	labels := slices.Clone(e.Labels)
	if labels == nil {
		for v := 1; v < len(s.counts); v++ {
			if s.counts[v] > 0 {
				labels = append(labels, uint16(v))
			}
		}
	}
	var empty []string
	for _, v := range labels {
		if v == 0 || s.counts[v] == 0 {
			empty = append(empty, fmt.Sprintf("%s (%d)", table.Name(v), v))
		}
	}
	s.mu.RUnlock()
	if len(labels) == 0 {
		return nil, fmt.Errorf("export surfaces to %s: there is no segment: every voxel is background", out)
	}
	if len(empty) > 0 {
		return nil, fmt.Errorf("export surfaces to %s: no voxels in %s", out, strings.Join(empty, ", "))
	}
	named := make([]*mesh.Mesh, len(labels))
	for n, v := range labels {
		named[n] = &mesh.Mesh{Label: v, Name: table.Name(v), Color: table.Color(v)}
	}
	for _, p := range mesh.Paths(out, e.Format, named) {
		if scan != "" && sameFile(p, scan) {
			return nil, fmt.Errorf("export surfaces to %s: %s is the scan itself", out, p)
		}
	}
	ms, err := mesh.ExtractAll(ctx, l, labels, e.Options)
	if err != nil {
		return nil, fmt.Errorf("export surfaces to %s: %w", out, err)
	}
	for n, m := range ms {
		m.Name, m.Color = named[n].Name, named[n].Color
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return mesh.WriteFiles(out, e.Format, ms, e.Coords)
}
