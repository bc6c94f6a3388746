package stats

import (
	"context"
	"sync"

	"github.com/polyseg/polyseg/mesh"
	"github.com/polyseg/polyseg/volume"
)

// MeshColumns returns the columns of each segment's marching-cubes
// surface, as pyradiomics defines them (mesh.Measure): its area
// (surface_mm2) and the largest distance between two of its points
// (max_diameter_mm, exact). Measure runs once, over every segment, when
// the first value is asked for: the columns are for one Compute.
func MeshColumns() []Column {
	var once sync.Once
	var byLabel map[uint16]mesh.Stats
	var failed error
	measure := func(ctx context.Context, l *volume.Labels, v uint16) (mesh.Stats, error) {
		once.Do(func() {
			st, err := mesh.Measure(ctx, l, nil)
			if err != nil {
				failed = err
				return
			}
			byLabel = make(map[uint16]mesh.Stats, len(st))
			for _, s := range st {
				byLabel[s.Label] = s
			}
		})
		return byLabel[v], failed
	}
	return []Column{
		{Name: "surface_mm2", Compute: func(ctx context.Context, _ *volume.Volume, l *volume.Labels, v uint16) (float64, error) {
			s, err := measure(ctx, l, v)
			return s.SurfaceMM2, err
		}},
		{Name: "max_diameter_mm", Compute: func(ctx context.Context, _ *volume.Volume, l *volume.Labels, v uint16) (float64, error) {
			s, err := measure(ctx, l, v)
			return s.MaxDiameterMM, err
		}},
	}
}
