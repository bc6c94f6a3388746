package metrics

import (
	"context"
	"math"
	"runtime"
	"sync"
)

// box is a half-open voxel box [lo, hi) of a grid.
type box struct {
	lo, hi [3]int
}

// emptyBox returns a box that grows to the first voxel added.
func emptyBox() box {
	return box{lo: [3]int{math.MaxInt, math.MaxInt, math.MaxInt}, hi: [3]int{math.MinInt, math.MinInt, math.MinInt}}
}

func (b *box) add(i, j, k int) {
	b.lo = [3]int{min(b.lo[0], i), min(b.lo[1], j), min(b.lo[2], k)}
	b.hi = [3]int{max(b.hi[0], i+1), max(b.hi[1], j+1), max(b.hi[2], k+1)}
}

func (b box) union(o box) box {
	return box{
		lo: [3]int{min(b.lo[0], o.lo[0]), min(b.lo[1], o.lo[1]), min(b.lo[2], o.lo[2])},
		hi: [3]int{max(b.hi[0], o.hi[0]), max(b.hi[1], o.hi[1]), max(b.hi[2], o.hi[2])},
	}
}

func (b box) dims() [3]int { return [3]int{b.hi[0] - b.lo[0], b.hi[1] - b.lo[1], b.hi[2] - b.lo[2]} }

// crop returns mask(voxel) over box b of a grid of dims d, in b's own
// layout (i fastest).
func crop(b box, d [3]int, mask func(idx int) bool) []bool {
	n := b.dims()
	out := make([]bool, n[0]*n[1]*n[2])
	o := 0
	for k := b.lo[2]; k < b.hi[2]; k++ {
		for j := b.lo[1]; j < b.hi[1]; j++ {
			row := d[0] * (j + d[1]*k)
			for i := b.lo[0]; i < b.hi[0]; i++ {
				out[o] = mask(row + i)
				o++
			}
		}
	}
	return out
}

// surfaceDistances returns the distances in mm from every surface voxel of
// a to the surface of b, followed by those from every surface voxel of b to
// the surface of a (evaluation.md: both ways, pooled). a and b are masks
// over a box of dims n that holds every voxel of both (their bounding box):
// the distances are then exact, since no surface voxel lies outside it,
// and a voxel on the box's faces is on its mask's surface whether the face
// is the grid's border or not. Both masks must be non-empty.
func surfaceDistances(ctx context.Context, a, b []bool, n [3]int, sp [3]float64) ([]float64, error) {
	sa, sb := surface(a, n), surface(b, n)
	dt := make([]float64, len(a))
	var out []float64
	for _, dir := range [2][2][]bool{{sb, sa}, {sa, sb}} {
		to, from := dir[0], dir[1]
		for i, on := range to {
			dt[i] = 0
			if !on {
				dt[i] = math.Inf(1)
			}
		}
		if err := distanceTransform(ctx, dt, n, sp); err != nil {
			return nil, err
		}
		for i, on := range from {
			if on {
				out = append(out, math.Sqrt(dt[i]))
			}
		}
	}
	return out, nil
}

// surface returns the surface voxels of m over a box of dims n: its voxels
// with a 6-neighbour outside m or outside the box.
func surface(m []bool, n [3]int) []bool {
	nx, ny, nz := n[0], n[1], n[2]
	s := make([]bool, len(m))
	for k := 0; k < nz; k++ {
		for j := 0; j < ny; j++ {
			for i := 0; i < nx; i++ {
				p := i + nx*(j+ny*k)
				if !m[p] {
					continue
				}
				s[p] = i == 0 || i == nx-1 || j == 0 || j == ny-1 || k == 0 || k == nz-1 ||
					!m[p-1] || !m[p+1] || !m[p-nx] || !m[p+nx] || !m[p-nx*ny] || !m[p+nx*ny]
			}
		}
	}
	return s
}

// distanceTransform replaces f, 0 at feature voxels and +Inf elsewhere over
// a box of dims n, by the squared Euclidean distance in mm² from each voxel
// to the nearest feature voxel: Felzenszwalb and Huttenlocher's separable
// lower-envelope algorithm, one pass per axis, exact for anisotropic
// spacing and linear in the number of voxels. The lines of a pass are
// shared among GOMAXPROCS goroutines; ctx is checked between passes.
func distanceTransform(ctx context.Context, f []float64, n [3]int, sp [3]float64) error {
	nx, ny := n[0], n[1]
	for ax := 0; ax < 3; ax++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		length := n[ax]
		lines := len(f) / length
		// base returns the index of the first voxel of line l.
		var stride int
		var base func(l int) int
		switch ax {
		case 0:
			stride, base = 1, func(l int) int { return l * nx }
		case 1:
			stride, base = nx, func(l int) int { return l%nx + nx*ny*(l/nx) }
		default:
			stride, base = nx*ny, func(l int) int { return l }
		}
		w2 := sp[ax] * sp[ax]
		// Neighbouring lines of axes 1 and 2 are neighbours in memory, so
		// each goroutine takes a contiguous run of them.
		workers := max(1, min(runtime.GOMAXPROCS(0), len(f)/(1<<16)))
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(l0, l1 int) {
				defer wg.Done()
				buf := make([]float64, length)
				res := make([]float64, length)
				v := make([]int, length)
				z := make([]float64, length+1)
				for l := l0; l < l1; l++ {
					b := base(l)
					for i := range buf {
						buf[i] = f[b+i*stride]
					}
					Envelope(buf, res, v, z, w2)
					for i, x := range res {
						f[b+i*stride] = x
					}
				}
			}(lines*w/workers, lines*(w+1)/workers)
		}
		wg.Wait()
	}
	return nil
}

// Envelope is the one-dimensional squared distance transform of
// Felzenszwalb and Huttenlocher: res[q] = min_p (f[p] + w2·(q−p)²) over
// the finite f[p], the lower envelope of parabolas, in linear time (+Inf
// everywhere when every f[p] is). v and z are scratch space of len(f) and
// len(f)+1; res may not be f. Other packages build their transforms on it
// (interp's, over one plane of a label volume).
func Envelope(f, res []float64, v []int, z []float64, w2 float64) {
	n := len(f)
	k := -1
	for q := 0; q < n; q++ {
		if math.IsInf(f[q], 1) {
			continue
		}
		for k >= 0 {
			p := v[k]
			s := ((f[q] + w2*float64(q*q)) - (f[p] + w2*float64(p*p))) / (2 * w2 * float64(q-p))
			if s <= z[k] {
				k--
				continue
			}
			k++
			v[k], z[k] = q, s
			break
		}
		if k < 0 {
			k = 0
			v[0], z[0] = q, math.Inf(-1)
		}
		z[k+1] = math.Inf(1)
	}
	if k < 0 {
		for q := range res {
			res[q] = math.Inf(1)
		}
		return
	}
	j := 0
	for q := 0; q < n; q++ {
		for z[j+1] < float64(q) {
			j++
		}
		p := v[j]
		res[q] = f[p] + w2*float64((q-p)*(q-p))
	}
}

// SquaredDistances returns, for every voxel of a grid of dims d (i
// fastest) with spacing sp in mm, the squared Euclidean distance in mm² to
// the nearest set voxel of feat (+Inf everywhere when none is set). It is
// exact for anisotropic spacing. A 2D image is a grid with d[2] = 1.
func SquaredDistances(feat []bool, d [3]int, sp [3]float64) []float64 {
	f := make([]float64, len(feat))
	for i, on := range feat {
		if !on {
			f[i] = math.Inf(1)
		}
	}
	// The background context cannot be cancelled: no error comes back.
	_ = distanceTransform(context.Background(), f, d, sp)
	return f
}
