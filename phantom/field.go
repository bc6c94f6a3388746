package phantom

import (
	"math"
	"math/rand/v2"
)

// waves is a smooth random field: a sum of plane waves with random
// directions and phases, normalised to unit standard deviation. It is cheap
// to evaluate anywhere, needs no grid, and is the same at a point whatever
// the order of evaluation, which keeps parallel rasterisation deterministic.
type waves []wave

type wave struct {
	kx, ky, kz, phase, amp float64
}

// newWaves returns a field of n waves whose wavelengths lie in [minLen,
// maxLen] (in the units of the coordinates it will be evaluated at).
func newWaves(r *rand.Rand, n int, minLen, maxLen float64) waves {
	w := make(waves, n)
	for i := range w {
		// A uniform direction on the sphere.
		z := 2*r.Float64() - 1
		t := 2 * math.Pi * r.Float64()
		s := math.Sqrt(1 - z*z)
		l := minLen + (maxLen-minLen)*r.Float64()
		k := 2 * math.Pi / l
		w[i] = wave{kx: k * s * math.Cos(t), ky: k * s * math.Sin(t), kz: k * z,
			phase: 2 * math.Pi * r.Float64(), amp: math.Sqrt(2.0 / float64(n))}
	}
	return w
}

// bound returns the largest absolute value the field can take.
func (w waves) bound() float64 {
	var s float64
	for _, v := range w {
		s += math.Abs(v.amp)
	}
	return s
}

// at evaluates the field.
func (w waves) at(x, y, z float64) float64 {
	var s float64
	for _, v := range w {
		s += v.amp * math.Sin(v.kx*x+v.ky*y+v.kz*z+v.phase)
	}
	return s
}

// gaussKernel returns a normalised Gaussian kernel for sigma in pixels,
// truncated at 3 sigma; nil when sigma is too small to matter.
func gaussKernel(sigma float64) []float32 {
	if sigma < 0.05 {
		return nil
	}
	h := int(math.Ceil(3 * sigma))
	k := make([]float32, 2*h+1)
	var sum float64
	for i := range k {
		d := float64(i - h)
		v := math.Exp(-d * d / (2 * sigma * sigma))
		k[i] = float32(v)
		sum += v
	}
	for i := range k {
		k[i] = float32(float64(k[i]) / sum)
	}
	return k
}

// blur2D convolves an nx×ny image in place with a separable kernel, with
// edge values repeated beyond the border. tmp must hold nx*ny values.
func blur2D(img, tmp []float32, nx, ny int, k []float32) {
	if k == nil {
		return
	}
	h := len(k) / 2
	clamp := func(v, n int) int {
		if v < 0 {
			return 0
		}
		if v >= n {
			return n - 1
		}
		return v
	}
	for y := 0; y < ny; y++ {
		row := img[y*nx : (y+1)*nx]
		out := tmp[y*nx : (y+1)*nx]
		for x := 0; x < nx; x++ {
			var s float32
			for t, kv := range k {
				s += kv * row[clamp(x+t-h, nx)]
			}
			out[x] = s
		}
	}
	for y := 0; y < ny; y++ {
		out := img[y*nx : (y+1)*nx]
		for x := 0; x < nx; x++ {
			var s float32
			for t, kv := range k {
				s += kv * tmp[clamp(y+t-h, ny)*nx+x]
			}
			out[x] = s
		}
	}
}
