package inference

import "math"

// Image embeddings as evidence: SAM's encoder describes every 16×16 patch
// of its input with 256 numbers, and patches of one organ look alike
// across slices. The mean over an anchor's mask is the organ's prototype
// (PerSAM's idea); a propagated mask whose patches no longer resemble it
// has moved onto another structure.

// cellOf returns the embedding cell (row, column of the samGrid² grid)
// under slice pixel (r, c).
func (e *Embedding) cellOf(r, c, size int) (int, int) {
	sc := e.scale(size) * samGrid / float64(size)
	return min(int((float64(r)+0.5)*sc), samGrid-1), min(int((float64(c)+0.5)*sc), samGrid-1)
}

// maskedMean returns the mean embedding over the cells that m covers,
// each cell weighted by the number of its pixels in m, and false when m is
// empty.
func (e *Embedding) maskedMean(m *Mask2D, size int) ([]float64, bool) {
	w := make([]float64, samGrid*samGrid)
	total := 0.0
	for r := 0; r < m.Rows; r++ {
		for c := 0; c < m.Cols; c++ {
			if m.Data[r*m.Cols+c] {
				cr, cc := e.cellOf(r, c, size)
				w[cr*samGrid+cc]++
				total++
			}
		}
	}
	if total == 0 {
		return nil, false
	}
	mean := make([]float64, samChannels)
	for ch := 0; ch < samChannels; ch++ {
		plane := e.Data[ch*samGrid*samGrid : (ch+1)*samGrid*samGrid]
		var s float64
		for i, wi := range w {
			if wi != 0 {
				s += wi * float64(plane[i])
			}
		}
		mean[ch] = s / total
	}
	return mean, true
}

// cosine is the cosine similarity of a and b (0 when either is zero).
func cosine(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}
