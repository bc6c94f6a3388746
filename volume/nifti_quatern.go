package volume

import "math"

// The qform conversions follow nifti1_io.c (nifti_quatern_to_mat44 and
// nifti_mat44_to_quatern), the reference every NIfTI reader agrees with.
// They are written here rather than taken from gonii because gonii scales
// the matrix of a quaternion with a = 0 (a 180° rotation, common after DICOM
// conversion) by 1.0201, and its writer cannot derive a quaternion from an
// affine.

// quaternToAffine returns the qform matrix of quaternion (b, c, d), with a
// derived so that the quaternion has unit length, voxel sizes zoom, qfac
// (±1, pixdim[0]) and offset.
func quaternToAffine(b, c, d, qfac float64, zoom, offset [3]float64) Affine {
	a := 1 - (b*b + c*c + d*d)
	if a < 1e-7 {
		// The stored (b, c, d) is (nearly) a unit vector: a 180° rotation.
		// Normalise it, exactly: a = 0.
		n := 1 / math.Sqrt(b*b+c*c+d*d)
		b, c, d, a = b*n, c*n, d*n, 0
	} else {
		a = math.Sqrt(a)
	}
	xd, yd, zd := zoom[0], zoom[1], zoom[2]
	if qfac < 0 {
		zd = -zd
	}
	return Affine{
		{(a*a + b*b - c*c - d*d) * xd, 2 * (b*c - a*d) * yd, 2 * (b*d + a*c) * zd, offset[0]},
		{2 * (b*c + a*d) * xd, (a*a + c*c - b*b - d*d) * yd, 2 * (c*d - a*b) * zd, offset[1]},
		{2 * (b*d - a*c) * xd, 2 * (c*d + a*b) * yd, (a*a + d*d - c*c - b*b) * zd, offset[2]},
		{0, 0, 0, 1},
	}
}

// affineToQuatern derives the qform parameters of an affine: the quaternion
// (b, c, d) of its rotation, qfac, voxel sizes and offset. An affine with
// shear or non-orthogonal columns (gantry tilt kept in an sform) has no exact
// qform; its rotation is taken as the nearest orthogonal matrix (the polar
// decomposition), as nifti1_io does. It reports false for a singular affine.
func affineToQuatern(m Affine) (b, c, d, qfac float64, zoom, offset [3]float64, ok bool) {
	offset = [3]float64{m[0][3], m[1][3], m[2][3]}
	var r [3][3]float64
	for col := 0; col < 3; col++ {
		n := math.Sqrt(m[0][col]*m[0][col] + m[1][col]*m[1][col] + m[2][col]*m[2][col])
		if n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
			return 0, 0, 0, 0, zoom, offset, false
		}
		zoom[col] = n
		for row := 0; row < 3; row++ {
			r[row][col] = m[row][col] / n
		}
	}
	r, ok = polar(r)
	if !ok {
		return 0, 0, 0, 0, zoom, offset, false
	}
	qfac = 1
	if det3(r) < 0 {
		// A left-handed grid: the qform stores it as a rotation with the
		// third axis flipped.
		qfac = -1
		for row := 0; row < 3; row++ {
			r[row][2] = -r[row][2]
		}
	}

	var a float64
	if tr := r[0][0] + r[1][1] + r[2][2] + 1; tr > 0.5 {
		a = 0.5 * math.Sqrt(tr)
		b = 0.25 * (r[2][1] - r[1][2]) / a
		c = 0.25 * (r[0][2] - r[2][0]) / a
		d = 0.25 * (r[1][0] - r[0][1]) / a
	} else {
		xd := 1 + r[0][0] - (r[1][1] + r[2][2])
		yd := 1 + r[1][1] - (r[0][0] + r[2][2])
		zd := 1 + r[2][2] - (r[0][0] + r[1][1])
		switch {
		case xd > 1:
			b = 0.5 * math.Sqrt(xd)
			c = 0.25 * (r[0][1] + r[1][0]) / b
			d = 0.25 * (r[0][2] + r[2][0]) / b
			a = 0.25 * (r[2][1] - r[1][2]) / b
		case yd > 1:
			c = 0.5 * math.Sqrt(yd)
			b = 0.25 * (r[0][1] + r[1][0]) / c
			d = 0.25 * (r[1][2] + r[2][1]) / c
			a = 0.25 * (r[0][2] - r[2][0]) / c
		default:
			d = 0.5 * math.Sqrt(zd)
			b = 0.25 * (r[0][2] + r[2][0]) / d
			c = 0.25 * (r[1][2] + r[2][1]) / d
			a = 0.25 * (r[1][0] - r[0][1]) / d
		}
		if a < 0 {
			b, c, d = -b, -c, -d
		}
	}
	return b, c, d, qfac, zoom, offset, true
}

func det3(m [3][3]float64) float64 {
	return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) -
		m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
		m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
}

// polar returns the orthogonal factor of m's polar decomposition by
// Newton's iteration X ← (X + X⁻ᵀ)/2, which converges quadratically for
// the nearly orthogonal matrices met here and leaves an orthogonal matrix
// unchanged.
func polar(m [3][3]float64) ([3][3]float64, bool) {
	x := m
	for iter := 0; iter < 100; iter++ {
		det := det3(x)
		if det == 0 || math.IsNaN(det) || math.IsInf(det, 0) {
			return x, false
		}
		// X⁻ᵀ is the cofactor matrix divided by the determinant.
		var cof [3][3]float64
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				i1, i2 := (i+1)%3, (i+2)%3
				j1, j2 := (j+1)%3, (j+2)%3
				cof[i][j] = (x[i1][j1]*x[i2][j2] - x[i1][j2]*x[i2][j1]) / det
			}
		}
		var next [3][3]float64
		var change float64
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				next[i][j] = 0.5 * (x[i][j] + cof[i][j])
				change += math.Abs(next[i][j] - x[i][j])
			}
		}
		x = next
		if change < 1e-15 {
			break
		}
	}
	return x, true
}

// float32Quatern rounds a quaternion to the float32 values NIfTI-1 stores.
// A reader recomputes a = sqrt(1 - b² - c² - d²); near a 180° rotation a is
// small and that subtraction magnifies the rounding of b, c and d about a
// thousandfold (2e-4 in the matrix for a DICOM grid with gantry tilt).
// Readers differ, too: nifti1_io (ITK, 3D Slicer) computes in double and
// takes a = 0 when 1 - b² - c² - d² < 1e-7, nibabel computes it exactly,
// takes 0 below 0 and refuses values below -3 float32 epsilons. So among the float32 values
// within two ulps of b, c and d, it picks the triple whose worse
// reconstruction of the two is closest to the exact rotation.
func float32Quatern(b, c, d float64) (float64, float64, float64) {
	unit := [3]float64{1, 1, 1}
	want := quaternToAffine(b, c, d, 1, unit, [3]float64{})
	dist := func(m Affine) float64 {
		var e float64
		for r := 0; r < 3; r++ {
			for col := 0; col < 3; col++ {
				e = max(e, math.Abs(m[r][col]-want[r][col]))
			}
		}
		return e
	}
	near := func(x float64) [5]float32 {
		f := float32(x)
		for range 2 {
			f = math.Nextafter32(f, float32(math.Inf(-1)))
		}
		var out [5]float32
		for i := range out {
			out[i] = f
			f = math.Nextafter32(f, float32(math.Inf(1)))
		}
		return out
	}
	best := math.Inf(1)
	bb, bc, bd := float64(float32(b)), float64(float32(c)), float64(float32(d))
	for _, x := range near(b) {
		for _, y := range near(c) {
			for _, z := range near(d) {
				nb, ok := nibabelQuatern(x, y, z)
				if !ok {
					continue
				}
				e := max(dist(quaternToAffine(float64(x), float64(y), float64(z), 1, unit, [3]float64{})), dist(nb))
				if e < best {
					best, bb, bc, bd = e, float64(x), float64(y), float64(z)
				}
			}
		}
	}
	return bb, bc, bd
}

// nibabelQuatern returns the rotation nibabel (fillpositive and quat2mat)
// builds from a stored quaternion, or false where nibabel refuses it.
// nibabel computes a in extended precision from the float32 values;
// float64 is as good here, since the squares of float32 values are exact in
// it.
func nibabelQuatern(b, c, d float32) (Affine, bool) {
	const eps32 = 1.1920929e-07
	x, y, z := float64(b), float64(c), float64(d)
	w2 := 1 - (x*x + y*y + z*z)
	var w float64
	if w2 < 0 {
		if w2 < -3*eps32 {
			return Affine{}, false
		}
	} else {
		w = math.Sqrt(w2)
	}
	s := 2 / (w*w + x*x + y*y + z*z)
	return Affine{
		{1 - s*(y*y+z*z), s * (x*y - w*z), s * (x*z + w*y), 0},
		{s * (x*y + w*z), 1 - s*(x*x+z*z), s * (y*z - w*x), 0},
		{s * (x*z - w*y), s * (y*z + w*x), 1 - s*(x*x+y*y), 0},
		{0, 0, 0, 1},
	}, true
}
