package volume

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
)

// ErrNoOverlap is returned when a label volume and the grid it is resampled
// onto share no voxel in space. Callers wrap it with both file names.
var ErrNoOverlap = errors.New("the label volume and the scan do not overlap in space")

// exactTol is how far, in voxels anywhere on the target grid, a voxel
// mapping may stray from a signed axis permutation and still be applied as
// an exact index mapping. Affines stored as float32 differ from their
// DICOM origin by about 1e-5 voxel; a real shift or rotation is far larger.
const exactTol = 1e-3

// indexMap is an exact voxel mapping between two grids that differ only by
// axis order, direction and a whole-voxel shift: source coordinate r is
// sign[r]·target[axis[r]] + off[r].
type indexMap struct {
	axis, sign, off [3]int
}

// identity reports whether m maps every voxel to itself.
func (m indexMap) identity() bool {
	return m == indexMap{axis: [3]int{0, 1, 2}, sign: [3]int{1, 1, 1}}
}

// voxelMap returns the affine taking voxel indices of dst to voxel indices
// of src (dst voxel → world → src voxel) and, when that is an axis
// permutation with flips and an integer shift to within exactTol over all of
// dst, the exact index mapping.
func voxelMap(src, dst Grid) (Affine, indexMap, bool, error) {
	inv, err := src.Affine.Inverse()
	if err != nil {
		return Affine{}, indexMap{}, false, err
	}
	m := inv.Mul(dst.Affine)
	var im indexMap
	used := [3]bool{}
	for r := 0; r < 3; r++ {
		best := 0
		for c := 1; c < 3; c++ {
			if math.Abs(m[r][c]) > math.Abs(m[r][best]) {
				best = c
			}
		}
		if used[best] {
			return m, indexMap{}, false, nil
		}
		used[best] = true
		im.axis[r] = best
		im.sign[r] = 1
		if m[r][best] < 0 {
			im.sign[r] = -1
		}
		off := math.Round(m[r][3])
		if math.Abs(off) > MaxVoxels {
			return m, indexMap{}, false, nil
		}
		im.off[r] = int(off)
		// The largest distance, over dst, between the affine mapping and
		// the exact one.
		dev := math.Abs(m[r][3] - off)
		for c := 0; c < 3; c++ {
			want := 0.0
			if c == best {
				want = float64(im.sign[r])
			}
			dev += math.Abs(m[r][c]-want) * float64(dst.Dims[c]-1)
		}
		if !(dev < exactTol) {
			return m, indexMap{}, false, nil
		}
	}
	return m, im, true, nil
}

// ResampleLabels returns l resampled onto ref by nearest neighbour through
// world coordinates: each voxel of ref takes the label of the voxel of l
// nearest to its centre, or 0 outside l. Grids that are equal, or differ
// only by axis order, flips and whole-voxel shifts (a LAS label volume on
// an LPS DICOM grid), are mapped index to index, exactly. It returns
// ErrNoOverlap when no voxel of ref falls inside l and ErrSingular when l's
// affine cannot be inverted.
func ResampleLabels(l *Labels, ref Grid) (*Labels, error) {
	if err := CheckDims(ref.Dims); err != nil {
		return nil, fmt.Errorf("target grid: %w", err)
	}
	if len(l.Data) != l.Len() {
		return nil, fmt.Errorf("label volume has %d voxels for a %dx%dx%d grid", len(l.Data), l.Dims[0], l.Dims[1], l.Dims[2])
	}
	m, im, exact, err := voxelMap(l.Grid, ref)
	if err != nil {
		return nil, fmt.Errorf("label grid: %w", err)
	}
	out := NewLabels(ref)
	if exact && im.identity() && l.Dims == ref.Dims {
		copy(out.Data, l.Data)
		return out, nil
	}

	src, sd := l.Data, l.Dims
	nx, ny, nz := ref.Dims[0], ref.Dims[1], ref.Dims[2]
	// slice fills ref slice k and returns how many of its voxels fell
	// inside l.
	slice := func(k int) int {
		inside := 0
		dst := out.Data[k*nx*ny : (k+1)*nx*ny]
		if exact {
			// Along a row of ref (i varies) one coordinate of l moves by
			// ±1 per voxel and the other two stay put: check those once
			// per row, clip i to where the moving one is inside l, and
			// copy with a constant stride.
			stride := [3]int{1, sd[0], sd[0] * sd[1]}
			var p [3]int
			p[2] = k
			for j := 0; j < ny; j++ {
				p[1] = j
				p[0] = 0
				base, iLo, iHi := 0, 0, nx
				for r := 0; r < 3; r++ {
					c := im.sign[r]*p[im.axis[r]] + im.off[r] // at i = 0
					base += c * stride[r]
					if im.axis[r] != 0 {
						if c < 0 || c >= sd[r] {
							iHi = 0
						}
						continue
					}
					// c + sign·i must lie in [0, sd[r]).
					if im.sign[r] > 0 {
						iLo, iHi = max(iLo, -c), min(iHi, sd[r]-c)
					} else {
						iLo, iHi = max(iLo, c-sd[r]+1), min(iHi, c+1)
					}
				}
				step := stride[0]
				for r := 0; r < 3; r++ {
					if im.axis[r] == 0 {
						step = im.sign[r] * stride[r]
					}
				}
				row := dst[nx*j : nx*(j+1)]
				for i := iLo; i < iHi; i++ {
					row[i] = src[base+i*step]
				}
				inside += max(0, iHi-iLo)
			}
			return inside
		}
		for j := 0; j < ny; j++ {
			x0, y0, z0 := m.Apply(0, float64(j), float64(k))
			for i := 0; i < nx; i++ {
				// Computed afresh, not accumulated, so that rounding does
				// not drift along a row. Coordinates far outside l can
				// exceed int's range as floats: compare before converting.
				fi := float64(i)
				fx := math.Floor(x0 + fi*m[0][0] + 0.5)
				fy := math.Floor(y0 + fi*m[1][0] + 0.5)
				fz := math.Floor(z0 + fi*m[2][0] + 0.5)
				if fx >= 0 && fy >= 0 && fz >= 0 && fx < float64(sd[0]) && fy < float64(sd[1]) && fz < float64(sd[2]) {
					dst[i+nx*j] = src[int(fx)+sd[0]*(int(fy)+sd[1]*int(fz))]
					inside++
				}
			}
		}
		return inside
	}

	workers := min(runtime.GOMAXPROCS(0), nz)
	counts := make([]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k < nz; k += workers {
				counts[w] += slice(k)
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return nil, ErrNoOverlap
	}
	return out, nil
}
