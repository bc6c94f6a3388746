package section

// ResizeBilinear resamples a row-major h x w float32 image to nh x nw with
// bilinear interpolation on pixel centres (half-pixel convention, edges
// clamped): the same as PyTorch's interpolate(align_corners=False) without
// antialiasing and OpenCV's INTER_LINEAR. Written on float32 because model
// inputs and probabilities must not be quantised to 8 bits, which is all
// the image libraries resize.
func ResizeBilinear(src []float32, h, w, nh, nw int) []float32 {
	dst := make([]float32, nh*nw)
	ResizeBilinearInto(dst, nw, src, h, w, nh, nw)
	return dst
}

// ResizeBilinearInto writes the resized image into dst, whose rows are
// stride values apart (so it can fill the top-left corner of a padded
// buffer).
func ResizeBilinearInto(dst []float32, stride int, src []float32, h, w, nh, nw int) {
	type tap struct {
		i0, i1 int
		f      float32
	}
	taps := func(n, nn int) []tap {
		t := make([]tap, nn)
		scale := float64(n) / float64(nn)
		for o := range t {
			x := (float64(o)+0.5)*scale - 0.5
			if x < 0 {
				x = 0
			}
			i0 := int(x)
			if i0 > n-1 {
				i0 = n - 1
			}
			i1 := min(i0+1, n-1)
			t[o] = tap{i0, i1, float32(x - float64(i0))}
		}
		return t
	}
	rt, ct := taps(h, nh), taps(w, nw)
	for y, ty := range rt {
		r0, r1 := src[ty.i0*w:ty.i0*w+w], src[ty.i1*w:ty.i1*w+w]
		out := dst[y*stride : y*stride+nw]
		for x, tx := range ct {
			a := r0[tx.i0] + (r0[tx.i1]-r0[tx.i0])*tx.f
			b := r1[tx.i0] + (r1[tx.i1]-r1[tx.i0])*tx.f
			out[x] = a + (b-a)*ty.f
		}
	}
}

// Windowed maps a HU value to [0, 1] through the window of width starting
// at lo. NaN (float NIfTI files use it for "no data" outside the field of
// view) maps to 0, the bottom of the window, like air: left as NaN it would
// spread through the resize and the network and end as an error blaming the
// model.
func Windowed(x float32, lo, width float64) float64 {
	if x != x {
		return 0
	}
	return min(max((float64(x)-lo)/width, 0), 1)
}
