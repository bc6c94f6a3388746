package volume

// DICOM series reading, part 2: from the headers of a series' files to a
// grid in RAS+ world coordinates.

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Tolerances for comparing the geometry of the files of one series. DICOM
// writes these as decimal strings with a handful of digits, so exact
// comparison would reject real series.
const (
	cosineTol    = 1e-4 // direction cosines
	spacingTol   = 1e-4 // relative, pixel spacing
	duplicateTol = 0.01 // mm along the normal: two slices this close are the same position
	tiltTolDeg   = 0.1  // angle between the slice step and the normal
)

// seriesGeometry is a series put in order: the files along the slice
// normal, the grid they form, and what a user should know about it.
type seriesGeometry struct {
	order    []int // indices into the files, one per slice, in k order
	grid     Grid
	warnings []string
	// gaps describes each place where the slices lie farther apart than
	// the rest (a slice missing), naming the files on either side.
	gaps []string
}

// assembleSeries sorts the files of one series along the slice normal and
// derives the grid. The affine is computed in DICOM's LPS+ patient frame and
// then converted to RAS+ by negating x and y:
//
//	column i = row direction cosine    × column spacing (PixelSpacing[1])
//	column j = column direction cosine × row spacing    (PixelSpacing[0])
//	column k = (IPP_last − IPP_first) / (n − 1)
//	origin   = IPP of the first slice
//
// PixelSpacing[0] is the distance between rows (along the column
// direction), hence the crossed order. Column k follows the slices
// themselves, so a gantry-tilted series gets a sheared but exact affine.
func assembleSeries(files []*dicomFile) (seriesGeometry, error) {
	var g seriesGeometry
	if len(files) == 0 {
		return g, errors.New("no image files")
	}
	ref := files[0]
	// Pixel formats and rescaling may differ from file to file (each file
	// is decoded with its own); the geometry may not.
	for _, f := range files {
		if err := checkHeader(f); err != nil {
			return g, err
		}
		if f.rows != ref.rows || f.cols != ref.cols {
			return g, fmt.Errorf("inconsistent image size: %s is %dx%d, %s is %dx%d (columns x rows)",
				ref.path, ref.cols, ref.rows, f.path, f.cols, f.rows)
		}
		for c := 0; c < 6; c++ {
			if math.Abs(f.iop[c]-ref.iop[c]) > cosineTol {
				return g, fmt.Errorf("inconsistent ImageOrientationPatient: %s has %v, %s has %v", ref.path, ref.iop, f.path, f.iop)
			}
		}
		for c := 0; c < 2; c++ {
			if math.Abs(f.pixelSpacing[c]-ref.pixelSpacing[c]) > spacingTol*ref.pixelSpacing[c] {
				return g, fmt.Errorf("inconsistent PixelSpacing: %s has %v, %s has %v", ref.path, ref.pixelSpacing, f.path, f.pixelSpacing)
			}
		}
	}
	row, col, err := cosines(ref)
	if err != nil {
		return g, err
	}
	normal := cross(row, col)

	// Sort along the normal; equal positions by instance number, so that
	// the first of a duplicated position is the one kept.
	type slice struct {
		idx int
		pos float64
	}
	sl := make([]slice, len(files))
	for i, f := range files {
		sl[i] = slice{i, dot(f.ipp, normal[:])}
	}
	sort.SliceStable(sl, func(a, b int) bool {
		if math.Abs(sl[a].pos-sl[b].pos) > duplicateTol {
			return sl[a].pos < sl[b].pos
		}
		return files[sl[a].idx].instance < files[sl[b].idx].instance
	})
	dups, lastPos := 0, math.Inf(-1)
	for _, s := range sl {
		if s.pos-lastPos <= duplicateTol {
			dups++
			continue
		}
		g.order = append(g.order, s.idx)
		lastPos = s.pos
	}
	if dups > 0 {
		g.warnings = append(g.warnings, fmt.Sprintf("%d files repeat the slice position of another file; kept the one with the lowest InstanceNumber at each position", dups))
	}

	nz := len(g.order)
	dims := [3]int{ref.cols, ref.rows, nz}
	if err := CheckDims(dims); err != nil {
		return g, err
	}
	first := files[g.order[0]]
	var step [3]float64
	if nz == 1 {
		th := first.thickness
		if !(th > 0) {
			th = 1
			g.warnings = append(g.warnings, "a single slice without SliceThickness: assumed 1 mm")
		}
		for c := range step {
			step[c] = normal[c] * th
		}
	} else {
		last := files[g.order[nz-1]]
		for c := range step {
			step[c] = (last.ipp[c] - first.ipp[c]) / float64(nz-1)
		}
		w, gaps := spacingWarnings(files, g.order, normal)
		g.warnings, g.gaps = append(g.warnings, w...), gaps
		stepLen := math.Sqrt(dot(step[:], step[:]))
		if cosAngle := dot(step[:], normal[:]) / stepLen; cosAngle < math.Cos(tiltTolDeg*math.Pi/180) {
			g.warnings = append(g.warnings, fmt.Sprintf("gantry tilt: the slices advance %.2f° off their normal; the affine is sheared to follow them", math.Acos(math.Min(1, cosAngle))*180/math.Pi))
		}
	}

	rowSp, colSp := ref.pixelSpacing[0], ref.pixelSpacing[1]
	var lps Affine
	for r := 0; r < 3; r++ {
		lps[r][0] = row[r] * colSp
		lps[r][1] = col[r] * rowSp
		lps[r][2] = step[r]
		lps[r][3] = first.ipp[r]
	}
	lps[3] = [4]float64{0, 0, 0, 1}
	g.grid = Grid{Dims: dims, Affine: lpsToRAS(lps)}
	if _, err := g.grid.Affine.Inverse(); err != nil {
		return g, fmt.Errorf("degenerate slice geometry (slices at one position?): %w", err)
	}
	return g, nil
}

// lpsToRAS converts an affine to DICOM's LPS+ patient frame into one to
// RAS+: x and y change sign, z does not.
func lpsToRAS(a Affine) Affine {
	for c := 0; c < 4; c++ {
		// +0 turns the -0 of a negated zero into 0, for printing.
		a[0][c] = -a[0][c] + 0
		a[1][c] = -a[1][c] + 0
	}
	return a
}

// checkHeader rejects a file whose header cannot take part in a volume.
func checkHeader(f *dicomFile) error {
	switch {
	case len(f.ipp) != 3:
		return fmt.Errorf("%s: no valid ImagePositionPatient (0020,0032)", f.path)
	case len(f.iop) != 6:
		return fmt.Errorf("%s: no valid ImageOrientationPatient (0020,0037)", f.path)
	case len(f.pixelSpacing) != 2 || !(f.pixelSpacing[0] > 0) || !(f.pixelSpacing[1] > 0):
		return fmt.Errorf("%s: no valid PixelSpacing (0028,0030)", f.path)
	case f.rows <= 0 || f.cols <= 0:
		return fmt.Errorf("%s: invalid image size %dx%d", f.path, f.cols, f.rows)
	case f.frames != 1:
		return fmt.Errorf("%s: multi-frame images (%d frames) are not supported", f.path, f.frames)
	case f.samples != 1:
		return fmt.Errorf("%s: %d samples per pixel: not a greyscale image", f.path, f.samples)
	}
	return nil
}

// cosines returns the unit row and column direction cosines of a file,
// checking that they are unit length and orthogonal.
func cosines(f *dicomFile) (row, col [3]float64, err error) {
	copy(row[:], f.iop[:3])
	copy(col[:], f.iop[3:])
	nr, nc := math.Sqrt(dot(row[:], row[:])), math.Sqrt(dot(col[:], col[:]))
	if math.Abs(nr-1) > 1e-2 || math.Abs(nc-1) > 1e-2 || math.Abs(dot(row[:], col[:])) > 1e-2 {
		return row, col, fmt.Errorf("%s: ImageOrientationPatient %v is not two orthogonal unit vectors", f.path, f.iop)
	}
	for c := range row {
		row[c] /= nr
		col[c] /= nc
	}
	return row, col, nil
}

// spacingWarnings reports uneven spacing and gaps between the sorted slices;
// gaps also come alone, naming the files on either side.
func spacingWarnings(files []*dicomFile, order []int, normal [3]float64) (w, gaps []string) {
	d := make([]float64, len(order)-1)
	for k := range d {
		d[k] = dot(files[order[k+1]].ipp, normal[:]) - dot(files[order[k]].ipp, normal[:])
	}
	sorted := append([]float64(nil), d...)
	sort.Float64s(sorted)
	med := sorted[len(sorted)/2]
	lo, hi := sorted[0], sorted[len(sorted)-1]
	for k, x := range d {
		if x > 1.5*med {
			w = append(w, fmt.Sprintf("gap of %.3g mm between slices %d and %d where the median spacing is %.3g mm: slices may be missing", x, k, k+1, med))
			gaps = append(gaps, fmt.Sprintf("gap of %.3g mm between %s and %s where the median spacing is %.3g mm: slices are missing", x, files[order[k]].path, files[order[k+1]].path, med))
		}
	}
	if tol := math.Max(0.01, 0.01*med); hi-med > tol || med-lo > tol {
		w = append(w, fmt.Sprintf("uneven slice spacing: %.4g to %.4g mm (median %.4g mm); the grid assumes the mean spacing", lo, hi, med))
	}
	return w, gaps
}

func dot(a, b []float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

func cross(a, b [3]float64) [3]float64 {
	return [3]float64{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
