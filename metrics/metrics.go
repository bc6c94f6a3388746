package metrics

import (
	"fmt"
	"math"
	"slices"
)

// Result holds the comparison of a prediction P with a reference R.
type Result struct {
	Dice      float64
	HD95      float64 // mm; NaN when !Defined
	ASSD      float64 // mm; NaN when !Defined
	Defined   bool    // HD95 and ASSD are defined (neither or both masks empty)
	BothEmpty bool
	VolumeP   float64 // mL
	VolumeR   float64 // mL
	// RelVolumeError is (VolumeP - VolumeR) / VolumeR; NaN when R is empty.
	RelVolumeError float64
}

// Compare computes every metric for binary masks p and r on a grid of dims
// d (i fastest) with voxel spacing sp in mm.
func Compare(p, r []bool, d [3]int, sp [3]float64) (Result, error) {
	n := d[0] * d[1] * d[2]
	if len(p) != n || len(r) != n {
		return Result{}, fmt.Errorf("metrics: masks have %d and %d voxels, grid %v has %d", len(p), len(r), d, n)
	}
	var res Result
	np, nr, inter := overlap(p, r)
	voxelML := sp[0] * sp[1] * sp[2] / 1000
	res.VolumeP, res.VolumeR = float64(np)*voxelML, float64(nr)*voxelML
	res.RelVolumeError = math.NaN()
	if nr > 0 {
		res.RelVolumeError = (res.VolumeP - res.VolumeR) / res.VolumeR
	}
	switch {
	case np == 0 && nr == 0:
		res.Dice, res.BothEmpty, res.Defined = 1, true, true
		return res, nil
	case np == 0 || nr == 0:
		res.HD95, res.ASSD = math.NaN(), math.NaN()
		return res, nil
	}
	res.Dice = 2 * float64(inter) / float64(np+nr)
	res.Defined = true
	dpr := directed(p, r, d, sp)
	drp := directed(r, p, d, sp)
	all := append(dpr, drp...)
	var sum float64
	for _, x := range all {
		sum += x
	}
	res.ASSD = sum / float64(len(all))
	res.HD95 = percentile(all, 95)
	return res, nil
}

// Dice returns the Dice coefficient of two binary masks (1 when both are
// empty).
func Dice(p, r []bool) float64 {
	np, nr, inter := overlap(p, r)
	if np+nr == 0 {
		return 1
	}
	return 2 * float64(inter) / float64(np+nr)
}

// overlap counts the voxels set in p, in r and in both.
func overlap(p, r []bool) (np, nr, inter int) {
	for i := range p {
		if p[i] {
			np++
			if r[i] {
				inter++
			}
		}
		if r[i] {
			nr++
		}
	}
	return np, nr, inter
}

// percentile returns the q-th percentile of xs with linear interpolation
// between order statistics (NumPy's default). xs is sorted in place.
func percentile(xs []float64, q float64) float64 {
	slices.Sort(xs)
	pos := q / 100 * float64(len(xs)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(xs)-1)
	return xs[lo] + (xs[hi]-xs[lo])*(pos-float64(lo))
}

// surface returns the surface voxels of m.
func surface(m []bool, d [3]int) []bool {
	nx, ny, nz := d[0], d[1], d[2]
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

// directed returns, for every surface voxel of a, the distance in mm to
// the nearest surface voxel of b.
func directed(a, b []bool, d [3]int, sp [3]float64) []float64 {
	sa, sb := surface(a, d), surface(b, d)
	dt := distanceTransform(sb, d, sp)
	var out []float64
	for i, on := range sa {
		if on {
			out = append(out, math.Sqrt(dt[i]))
		}
	}
	return out
}

// distanceTransform returns, for every voxel, the squared Euclidean
// distance in mm² to the nearest set voxel of feat (Felzenszwalb and
// Huttenlocher's separable lower-envelope algorithm, one pass per axis,
// exact for anisotropic spacing).
func distanceTransform(feat []bool, d [3]int, sp [3]float64) []float64 {
	inf := math.Inf(1)
	f := make([]float64, len(feat))
	for i, on := range feat {
		if !on {
			f[i] = inf
		}
	}
	nx, ny := d[0], d[1]
	stride := [3]int{1, nx, nx * ny}
	maxN := max(d[0], d[1], d[2])
	buf := make([]float64, maxN)
	res := make([]float64, maxN)
	v := make([]int, maxN)
	z := make([]float64, maxN+1)
	for ax := 0; ax < 3; ax++ {
		n, st := d[ax], stride[ax]
		w2 := sp[ax] * sp[ax]
		// Every line along axis ax starts at an index with coordinate 0 on ax.
		for base := 0; base < len(f); base++ {
			if (base/st)%n != 0 {
				continue
			}
			for i := 0; i < n; i++ {
				buf[i] = f[base+i*st]
			}
			envelope(buf[:n], res[:n], v, z, w2)
			for i := 0; i < n; i++ {
				f[base+i*st] = res[i]
			}
		}
	}
	return f
}

// envelope computes res[q] = min_p (f[p] + w2·(q-p)²) in linear time.
func envelope(f, res []float64, v []int, z []float64, w2 float64) {
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
