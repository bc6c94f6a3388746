// Package volume holds CT volumes and label volumes in memory, reads them
// from NIfTI files, NRRD files and DICOM series, writes them as NIfTI and
// NRRD (label volumes also as 3D Slicer segmentations, .seg.nrrd, with
// their segments' names and colours), and resamples label volumes between
// grids.
//
// # World coordinates
//
// Inside this package, and everywhere in the project, world coordinates are
// NIfTI's RAS+ in millimetres. RAS+ means the x axis increases towards the patient's Right, y towards
// Anterior, z towards Superior. DICOM's patient coordinates are LPS+
// (x towards Left, y towards Posterior); the DICOM reader converts them by
// negating x and y, exactly as dcm2niix and nibabel do; the NRRD reader
// converts the file's space the same way (LPS negates x and y, LAS x), and
// the NRRD writer writes LPS, as 3D Slicer does.
//
// # Voxel layout
//
// Voxel (i, j, k) of a grid with dimensions (nx, ny, nz) is stored at index
// i + j*nx + k*nx*ny: i varies fastest, as in a NIfTI file. The affine maps
// the voxel index (i, j, k, 1) to world (x, y, z, 1).
package volume

import (
	"errors"
	"fmt"
	"math"
)

// MaxVoxels bounds the voxel count of any volume this package allocates:
// 2^31 voxels (8 GiB as float32) is far beyond any CT scan, and a header that
// claims more is hostile or corrupt.
const MaxVoxels = 1 << 31

// Affine maps voxel indices to world coordinates (RAS+, mm). Row-major:
// world = A · (i, j, k, 1)ᵀ. The last row is (0, 0, 0, 1).
type Affine [4][4]float64

// Identity returns the identity affine.
func Identity() Affine {
	return Affine{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}
}

// Apply maps voxel coordinates to world coordinates.
func (a Affine) Apply(i, j, k float64) (x, y, z float64) {
	x = a[0][0]*i + a[0][1]*j + a[0][2]*k + a[0][3]
	y = a[1][0]*i + a[1][1]*j + a[1][2]*k + a[1][3]
	z = a[2][0]*i + a[2][1]*j + a[2][2]*k + a[2][3]
	return x, y, z
}

// Mul returns a·b.
func (a Affine) Mul(b Affine) Affine {
	var r Affine
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			var s float64
			for k := 0; k < 4; k++ {
				s += a[i][k] * b[k][j]
			}
			r[i][j] = s
		}
	}
	return r
}

// ErrSingular is returned when an affine cannot be inverted.
var ErrSingular = errors.New("volume: singular affine")

// Inverse returns the inverse of an affine (world to voxel).
func (a Affine) Inverse() (Affine, error) {
	// Invert the 3x3 linear part and the translation separately; the last
	// row of an affine is fixed.
	m := [3][3]float64{
		{a[0][0], a[0][1], a[0][2]},
		{a[1][0], a[1][1], a[1][2]},
		{a[2][0], a[2][1], a[2][2]},
	}
	det := m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) -
		m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
		m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
	if det == 0 || math.IsNaN(det) || math.IsInf(det, 0) {
		return Affine{}, ErrSingular
	}
	var inv [3][3]float64
	inv[0][0] = (m[1][1]*m[2][2] - m[1][2]*m[2][1]) / det
	inv[0][1] = (m[0][2]*m[2][1] - m[0][1]*m[2][2]) / det
	inv[0][2] = (m[0][1]*m[1][2] - m[0][2]*m[1][1]) / det
	inv[1][0] = (m[1][2]*m[2][0] - m[1][0]*m[2][2]) / det
	inv[1][1] = (m[0][0]*m[2][2] - m[0][2]*m[2][0]) / det
	inv[1][2] = (m[0][2]*m[1][0] - m[0][0]*m[1][2]) / det
	inv[2][0] = (m[1][0]*m[2][1] - m[1][1]*m[2][0]) / det
	inv[2][1] = (m[0][1]*m[2][0] - m[0][0]*m[2][1]) / det
	inv[2][2] = (m[0][0]*m[1][1] - m[0][1]*m[1][0]) / det
	var r Affine
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			r[i][j] = inv[i][j]
		}
		r[i][3] = -(inv[i][0]*a[0][3] + inv[i][1]*a[1][3] + inv[i][2]*a[2][3])
	}
	r[3] = [4]float64{0, 0, 0, 1}
	return r, nil
}

// Spacing returns the voxel size along i, j and k in mm: the lengths of the
// affine's first three columns.
func (a Affine) Spacing() [3]float64 {
	var s [3]float64
	for c := 0; c < 3; c++ {
		s[c] = math.Sqrt(a[0][c]*a[0][c] + a[1][c]*a[1][c] + a[2][c]*a[2][c])
	}
	return s
}

// Axes tells, for each voxel axis i, j, k, which world axis (0 = x, 1 = y,
// 2 = z) it is closest to and whether it points the opposite way (-1) or the
// same way (+1). Each world axis is used once, so oblique grids get the
// best axis-aligned approximation (as nibabel's io_orientation).
func (a Affine) Axes() (world [3]int, sign [3]int) {
	used := [3]bool{}
	// Greedy on the largest normalised component: adequate for the small
	// obliquity of CT (gantry tilt) and exact for axis-aligned grids.
	sp := a.Spacing()
	done := [3]bool{}
	for n := 0; n < 3; n++ {
		best, bc, br := -1.0, 0, 0
		for c := 0; c < 3; c++ {
			if done[c] {
				continue
			}
			for r := 0; r < 3; r++ {
				if used[r] {
					continue
				}
				v := 0.0
				if sp[c] > 0 {
					v = math.Abs(a[r][c]) / sp[c]
				}
				if v > best {
					best, bc, br = v, c, r
				}
			}
		}
		done[bc], used[br] = true, true
		world[bc] = br
		sign[bc] = 1
		if a[br][bc] < 0 {
			sign[bc] = -1
		}
	}
	return world, sign
}

// AxisCodes returns the orientation codes of the voxel axes, the letter
// each axis points towards, as nibabel's aff2axcodes: "RAS", "LPS", "LAS"...
func (a Affine) AxisCodes() string {
	pos := [3]byte{'R', 'A', 'S'}
	neg := [3]byte{'L', 'P', 'I'}
	w, s := a.Axes()
	b := make([]byte, 3)
	for c := 0; c < 3; c++ {
		if s[c] > 0 {
			b[c] = pos[w[c]]
		} else {
			b[c] = neg[w[c]]
		}
	}
	return string(b)
}

// Grid is a voxel lattice placed in the world.
type Grid struct {
	Dims   [3]int
	Affine Affine
}

// Len returns the number of voxels.
func (g Grid) Len() int { return g.Dims[0] * g.Dims[1] * g.Dims[2] }

// Spacing returns the voxel size in mm along i, j, k.
func (g Grid) Spacing() [3]float64 { return g.Affine.Spacing() }

// Index returns the position of voxel (i, j, k) in a data slice.
func (g Grid) Index(i, j, k int) int { return i + g.Dims[0]*(j+g.Dims[1]*k) }

// Contains reports whether (i, j, k) is inside the grid.
func (g Grid) Contains(i, j, k int) bool {
	return i >= 0 && j >= 0 && k >= 0 && i < g.Dims[0] && j < g.Dims[1] && k < g.Dims[2]
}

// Equal reports whether two grids have the same dimensions and affines
// agreeing within tol millimetres (per matrix entry).
func (g Grid) Equal(o Grid, tol float64) bool {
	if g.Dims != o.Dims {
		return false
	}
	for r := 0; r < 3; r++ {
		for c := 0; c < 4; c++ {
			if math.Abs(g.Affine[r][c]-o.Affine[r][c]) > tol {
				return false
			}
		}
	}
	return true
}

// CheckDims validates dimensions before anything is allocated for them.
func CheckDims(d [3]int) error {
	n := int64(1)
	for _, v := range d {
		if v <= 0 {
			return fmt.Errorf("invalid dimensions %dx%dx%d", d[0], d[1], d[2])
		}
		n *= int64(v)
		if n > MaxVoxels {
			return fmt.Errorf("dimensions %dx%dx%d exceed the limit of %d voxels", d[0], d[1], d[2], int64(MaxVoxels))
		}
	}
	return nil
}

// NIfTIMeta keeps the spatial header fields of a NIfTI file so that a label
// volume written for a scan carries exactly the scan's qform and sform.
type NIfTIMeta struct {
	QformCode int
	SformCode int
	Qform     Affine // the matrix the quaternion encodes (computed here, not by gonii: see stack.md)
	Sform     Affine
	// Quaternion parameters as stored, so a round trip is bit-exact.
	QuaternB, QuaternC, QuaternD float64
	QOffset                      [3]float64
	Qfac                         float64
	Pixdim                       [8]float64
	XYZTUnits                    int
}

// Volume is a CT volume: one float32 per voxel, in Hounsfield units once the
// file's scaling (NIfTI scl_slope/scl_inter, DICOM RescaleSlope/Intercept)
// has been applied.
type Volume struct {
	Grid
	Data []float32

	// Source names the file or folder the volume was read from.
	Source string
	// Meta holds NIfTI spatial fields; the DICOM reader fills it from the
	// DICOM geometry (qform and sform codes 1, scanner coordinates).
	Meta NIfTIMeta
	// Warnings are things a user should know that do not stop reading:
	// uneven slice spacing, gantry tilt, an affine taken from pixdim alone.
	Warnings []string
}

// At returns the value of voxel (i, j, k).
func (v *Volume) At(i, j, k int) float32 { return v.Data[v.Index(i, j, k)] }

// Range returns the minimum and maximum voxel values.
func (v *Volume) Range() (lo, hi float32) {
	if len(v.Data) == 0 {
		return 0, 0
	}
	lo, hi = v.Data[0], v.Data[0]
	for _, x := range v.Data {
		if x < lo {
			lo = x
		}
		if x > hi {
			hi = x
		}
	}
	return lo, hi
}

// Labels is a label volume: one label value per voxel, 0 for background.
type Labels struct {
	Grid
	Data []uint16
	// Segments names and colours label values, as the file read gave
	// them (a .seg.nrrd's segments, the colour table beside a NIfTI file),
	// and as a writer is to store them; nil when there are none. Values
	// not listed have no name of their own.
	Segments []Segment
}

// NewLabels returns an empty label volume on grid g.
func NewLabels(g Grid) *Labels {
	return &Labels{Grid: g, Data: make([]uint16, g.Len())}
}

// At returns the label of voxel (i, j, k).
func (l *Labels) At(i, j, k int) uint16 { return l.Data[l.Index(i, j, k)] }

// Present returns the label values other than 0 that l holds, in
// increasing order: the segments a writer of meshes or DICOM SEG makes.
func (l *Labels) Present() []uint16 {
	var seen [1 << 16]bool
	for _, v := range l.Data {
		seen[v] = true
	}
	var out []uint16
	for v := 1; v < len(seen); v++ {
		if seen[v] {
			out = append(out, uint16(v))
		}
	}
	return out
}

// Max returns the largest label value.
func (l *Labels) Max() uint16 {
	var m uint16
	for _, x := range l.Data {
		if x > m {
			m = x
		}
	}
	return m
}
