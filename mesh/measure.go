package mesh

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/polyseg/polyseg/internal/parallel"
	"github.com/polyseg/polyseg/volume"
)

// Stats are the shape measures of one segment, as pyradiomics defines its
// shape features (VoxelVolume, SurfaceArea, Maximum3DDiameter, MeshVolume)
// on the marching-cubes surface of the mask, without smoothing.
type Stats struct {
	Label  uint16
	Voxels int
	// VolumeML is the number of voxels times the voxel volume (the
	// determinant of the affine, so oblique grids are right too).
	VolumeML float64
	// MeshVolumeML is the volume enclosed by the surface; it differs from
	// VolumeML by the corners the surface cuts, well under 1 % for an
	// organ.
	MeshVolumeML float64
	// SurfaceMM2 is the area of the marching-cubes surface in mm².
	SurfaceMM2 float64
	// MaxDiameterMM is the largest distance between two vertices of the
	// surface: exact, found among the vertices of their convex hull.
	MaxDiameterMM float64
}

// Measure returns the Stats of each label, in the order given; labels nil
// means every label present, in increasing order. A label without voxels
// gets a row of zeros, not an error: a segment can be empty.
func Measure(ctx context.Context, l *volume.Labels, labels []uint16) ([]Stats, error) {
	if err := checkLabels(l); err != nil {
		return nil, err
	}
	if labels == nil {
		labels = l.Present()
	}
	workers := Options{}.workers()
	st, err := census(ctx, l, labels, workers)
	if err != nil {
		return nil, err
	}
	voxelML := math.Abs(det3(l.Affine)) / 1000
	lin := linear(l.Affine)
	var x Extractor
	out := make([]Stats, len(labels))
	for n, v := range labels {
		s := Stats{Label: v, Voxels: st[n].voxels, VolumeML: float64(st[n].voxels) * voxelML}
		if s.Voxels > 0 {
			f := x.field(l, v, st[n].box)
			raw, err := x.surface(ctx, f, workers)
			if err != nil {
				return nil, err
			}
			m := raw.toWorld(f, l.Affine)
			s.SurfaceMM2 = m.Area()
			s.MeshVolumeML = m.Volume() / 1000
			s.MaxDiameterMM = maxDiameter(raw.verts, lin, workers)
		}
		out[n] = s
	}
	return out, nil
}

func linear(a volume.Affine) [3][3]float64 {
	return [3][3]float64{
		{a[0][0], a[0][1], a[0][2]},
		{a[1][0], a[1][1], a[1][2]},
		{a[2][0], a[2][1], a[2][2]},
	}
}

type labelStat struct {
	voxels int
	box    Box
}

// census counts the voxels of each label and their bounding box in one
// pass over the volume, split by slices among the workers.
func census(ctx context.Context, l *volume.Labels, labels []uint16, workers int) ([]labelStat, error) {
	idx := make([]int32, 1<<16)
	for n := range idx {
		idx[n] = -1
	}
	for n, v := range labels {
		if v == 0 {
			return nil, fmt.Errorf("label 0 is the background, not a segment")
		}
		if idx[v] >= 0 {
			return nil, fmt.Errorf("label %d listed twice", v)
		}
		idx[v] = int32(n)
	}
	nx, ny, nz := l.Dims[0], l.Dims[1], l.Dims[2]
	type acc struct {
		n      int
		lo, hi [3]int
	}
	parts := make([][]acc, min(workers, nz))
	var mu sync.Mutex
	var cerr error
	parallel.For(len(parts), len(parts), func(w int) {
		a := make([]acc, len(labels))
		for n := range a {
			a[n].lo = [3]int{nx, ny, nz}
			a[n].hi = [3]int{-1, -1, -1}
		}
		for k := w * nz / len(parts); k < (w+1)*nz/len(parts); k++ {
			if ctx.Err() != nil {
				mu.Lock()
				cerr = ctx.Err()
				mu.Unlock()
				return
			}
			for j := range ny {
				row := l.Data[(k*ny+j)*nx:][:nx]
				for i, v := range row {
					if v == 0 {
						continue
					}
					n := idx[v]
					if n < 0 {
						continue
					}
					s := &a[n]
					s.n++
					s.lo[0], s.hi[0] = min(s.lo[0], i), max(s.hi[0], i)
					s.lo[1], s.hi[1] = min(s.lo[1], j), max(s.hi[1], j)
					s.lo[2], s.hi[2] = min(s.lo[2], k), max(s.hi[2], k)
				}
			}
		}
		parts[w] = a
	})
	if cerr != nil {
		return nil, cerr
	}
	out := make([]labelStat, len(labels))
	for n := range labels {
		lo, hi := [3]int{nx, ny, nz}, [3]int{-1, -1, -1}
		for _, p := range parts {
			out[n].voxels += p[n].n
			for a := range 3 {
				lo[a], hi[a] = min(lo[a], p[n].lo[a]), max(hi[a], p[n].hi[a])
			}
		}
		out[n].box = Box{Min: lo, Max: [3]int{hi[0] + 1, hi[1] + 1, hi[2] + 1}}
	}
	return out, nil
}

// maxDiameter returns the largest world distance between two of the
// vertices pts (voxel coordinates; lin maps them to mm).
//
// Only vertices of the point set's convex hull can be ends of the
// diameter, and a hull vertex is also a vertex of the 2D hull of the
// points in any plane through it. Marching-cubes vertices lie on planes of
// the voxel lattice (their doubled coordinates are integers), so the 2D
// hulls of the planes of constant x, y and z, each exact in integer
// arithmetic and each needing only the extreme points of every lattice
// row, leave few candidates; the farthest pair among them is found by
// trying every pair. Affine maps keep convex hulls, so the hulls may be
// taken in voxel space whatever the spacing.
func maxDiameter(pts [][3]float32, lin [3][3]float64, workers int) float64 {
	ps := make([][3]int32, len(pts))
	for n, p := range pts {
		ps[n] = [3]int32{int32(2 * p[0]), int32(2 * p[1]), int32(2 * p[2])}
	}
	if len(ps) < 2 {
		return 0
	}
	// keep[n] counts the plane families in which point n is a hull vertex.
	keep := make([]uint8, len(ps))
	for axis := range 3 {
		u, v := (axis+1)%3, (axis+2)%3
		markPlaneHulls(ps, axis, u, v, keep)
	}
	var cand [][3]float64
	for n, p := range ps {
		if keep[n] == 3 {
			x, y, z := float64(p[0])/2, float64(p[1])/2, float64(p[2])/2
			cand = append(cand, [3]float64{
				lin[0][0]*x + lin[0][1]*y + lin[0][2]*z,
				lin[1][0]*x + lin[1][1]*y + lin[1][2]*z,
				lin[2][0]*x + lin[2][1]*y + lin[2][2]*z,
			})
		}
	}
	best := make([]float64, workers)
	parallel.For(workers, workers, func(w int) {
		var b float64
		// Rows of the triangle of pairs, interleaved so that each worker
		// gets a fair share of long and short rows.
		for i := w; i < len(cand); i += workers {
			p := cand[i]
			for _, q := range cand[i+1:] {
				d := sub(p, q)
				b = max(b, dot(d, d))
			}
		}
		best[w] = b
	})
	return math.Sqrt(slices.Max(best))
}

// markPlaneHulls adds 1 to keep[n] for every point that is a vertex of the
// 2D convex hull (collinear points excluded) of the points sharing its
// coordinate on axis, in the plane's (u, v) coordinates. Coordinates are
// small non-negative integers (doubled voxel indices within a box).
func markPlaneHulls(ps [][3]int32, axis, u, v int, keep []uint8) {
	var np, nv int32
	for _, p := range ps {
		np, nv = max(np, p[axis]+1), max(nv, p[v]+1)
	}
	// The extreme points of each row (plane, v): only they can be hull
	// vertices. Indices are stored plus one, so that 0 is "none".
	lo := make([]int32, int(np)*int(nv))
	hi := make([]int32, len(lo))
	for n, p := range ps {
		r := int(p[axis])*int(nv) + int(p[v])
		if lo[r] == 0 || p[u] < ps[lo[r]-1][u] {
			lo[r] = int32(n + 1)
		}
		if hi[r] == 0 || p[u] > ps[hi[r]-1][u] {
			hi[r] = int32(n + 1)
		}
	}
	var pts, hull []int32
	for plane := range int(np) {
		// Points of the plane sorted by (v, u): rows in order of v, each
		// giving its lo before its hi.
		pts = pts[:0]
		for r := plane * int(nv); r < (plane+1)*int(nv); r++ {
			if lo[r] == 0 {
				continue
			}
			pts = append(pts, lo[r]-1)
			if hi[r] != lo[r] {
				pts = append(pts, hi[r]-1)
			}
		}
		hull = monotoneChain(ps, pts, v, u, hull[:0])
		for _, n := range hull {
			keep[n]++
		}
	}
}

// monotoneChain returns the vertices of the convex hull of the points
// idx (sorted by their a, then b coordinate), without collinear points,
// by Andrew's algorithm in exact integer arithmetic.
func monotoneChain(ps [][3]int32, idx []int32, a, b int, hull []int32) []int32 {
	if len(idx) <= 2 {
		return append(hull, idx...)
	}
	turn := func(o, p, q int32) int64 {
		po, pp, pq := ps[o], ps[p], ps[q]
		return int64(pp[a]-po[a])*int64(pq[b]-po[b]) - int64(pp[b]-po[b])*int64(pq[a]-po[a])
	}
	h := hull
	for _, p := range idx {
		for len(h) >= 2 && turn(h[len(h)-2], h[len(h)-1], p) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, p)
	}
	lower := len(h) + 1
	for n := len(idx) - 2; n >= 0; n-- {
		p := idx[n]
		for len(h) >= lower && turn(h[len(h)-2], h[len(h)-1], p) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, p)
	}
	return h[:len(h)-1]
}
