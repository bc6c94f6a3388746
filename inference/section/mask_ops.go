package section

import (
	"math"

	"github.com/polyseg/polyseg/metrics"
)

// Morphology and distances on slice masks, in millimetres where the
// pixels are not square (CT pixels are, but a reformatted plane's are not).

// DistanceTo returns, for every pixel, its Euclidean distance in mm to the
// nearest set pixel of m (0 on set pixels, +Inf everywhere when m is
// empty); dr and dc are the pixel sizes along rows and columns.
func DistanceTo(m *Mask, dr, dc float64) []float64 {
	d := metrics.SquaredDistances(m.Data, [3]int{m.Cols, m.Rows, 1}, [3]float64{dc, dr, 1})
	for i, x := range d {
		d[i] = math.Sqrt(x)
	}
	return d
}

// DilateMM returns the pixels within r mm of m. The distances are computed
// only within m's bounding box widened by r: farther pixels are outside
// the dilation anyway, and an organ's box is a small part of a slice.
func DilateMM(m *Mask, r, dr, dc float64) *Mask {
	out := NewMask(m.Rows, m.Cols)
	b, ok := m.Bounds()
	if !ok {
		return out
	}
	pr, pc := int(math.Ceil(r/dr))+1, int(math.Ceil(r/dc))+1
	b.R0, b.C0 = max(b.R0-pr, 0), max(b.C0-pc, 0)
	b.R1, b.C1 = min(b.R1+pr, m.Rows-1), min(b.C1+pc, m.Cols-1)
	crop := Crop(m, b)
	dist := DistanceTo(crop, dr, dc)
	for row := 0; row < crop.Rows; row++ {
		for c := 0; c < crop.Cols; c++ {
			out.Data[(row+b.R0)*m.Cols+c+b.C0] = dist[row*crop.Cols+c] <= r
		}
	}
	return out
}

// Crop returns the part of m inside box b.
func Crop(m *Mask, b Box) *Mask {
	out := NewMask(b.R1-b.R0+1, b.C1-b.C0+1)
	for row := 0; row < out.Rows; row++ {
		copy(out.Data[row*out.Cols:(row+1)*out.Cols], m.Data[(row+b.R0)*m.Cols+b.C0:(row+b.R0)*m.Cols+b.C1+1])
	}
	return out
}

// ErodeMM returns the pixels of m farther than r mm from its outside
// (pixels beyond the image count as outside).
func ErodeMM(m *Mask, r, dr, dc float64) *Mask {
	out := NewMask(m.Rows, m.Cols)
	for i, d := range Depth(m, dr, dc) {
		out.Data[i] = d > r
	}
	return out
}

// FillHoles sets the background pixels of m that cannot reach the image
// border through 4-connected background: an organ's cross-section has no
// holes, though vessels inside it may have another density.
func FillHoles(m *Mask) *Mask {
	rows, cols := m.Rows, m.Cols
	outside := make([]bool, len(m.Data))
	stack := make([]int, 0, 2*(rows+cols))
	push := func(i int) {
		if !m.Data[i] && !outside[i] {
			outside[i] = true
			stack = append(stack, i)
		}
	}
	for r := 0; r < rows; r++ {
		push(r * cols)
		push(r*cols + cols - 1)
	}
	for c := 0; c < cols; c++ {
		push(c)
		push((rows-1)*cols + c)
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		r, c := i/cols, i%cols
		if r > 0 {
			push(i - cols)
		}
		if r < rows-1 {
			push(i + cols)
		}
		if c > 0 {
			push(i - 1)
		}
		if c < cols-1 {
			push(i + 1)
		}
	}
	out := NewMask(rows, cols)
	for i := range out.Data {
		out.Data[i] = !outside[i]
	}
	return out
}

// Overlapping keeps the 8-connected parts of m that touch ref: SAM
// sometimes returns a second blob elsewhere in the box's image, which is
// never the organ the prompt was about. The parts are found by a scanline
// flood from the pixels they share with ref, so only the parts kept are
// visited, a run of pixels at a time: a propagation asks this of every
// slice.
func Overlapping(m, ref *Mask) *Mask {
	out := NewMask(m.Rows, m.Cols)
	type span struct{ r, c0, c1 int } // a run on row r, c0..c1 inclusive
	var todo []span
	// fill marks the run of m through (r, c) and queues it.
	fill := func(r, c int) {
		row, done := m.Data[r*m.Cols:(r+1)*m.Cols], out.Data[r*m.Cols:(r+1)*m.Cols]
		c0, c1 := c, c
		for c0 > 0 && row[c0-1] && !done[c0-1] {
			c0--
		}
		for c1 < m.Cols-1 && row[c1+1] && !done[c1+1] {
			c1++
		}
		for x := c0; x <= c1; x++ {
			done[x] = true
		}
		todo = append(todo, span{r, c0, c1})
	}
	for i, on := range m.Data {
		if !on || !ref.Data[i] || out.Data[i] {
			continue
		}
		fill(i/m.Cols, i%m.Cols)
		for len(todo) > 0 {
			sp := todo[len(todo)-1]
			todo = todo[:len(todo)-1]
			// The rows above and below, one pixel wider: diagonal
			// neighbours connect.
			for _, r := range [2]int{sp.r - 1, sp.r + 1} {
				if r < 0 || r >= m.Rows {
					continue
				}
				row, done := m.Data[r*m.Cols:(r+1)*m.Cols], out.Data[r*m.Cols:(r+1)*m.Cols]
				for c := max(sp.c0-1, 0); c <= min(sp.c1+1, m.Cols-1); c++ {
					if row[c] && !done[c] {
						fill(r, c)
					}
				}
			}
		}
	}
	return out
}

// Depth returns every pixel's distance in mm to the nearest pixel outside
// m, counting pixels beyond the slice as outside: how deep inside m each
// pixel lies (0 outside m). Click simulation and SAM's implicit points take
// a region's deepest pixel as its most certain one.
func Depth(m *Mask, dr, dc float64) []float64 {
	out := NewMask(m.Rows+2, m.Cols+2)
	for i := range out.Data {
		out.Data[i] = true
	}
	for r := 0; r < m.Rows; r++ {
		for c := 0; c < m.Cols; c++ {
			out.Data[(r+1)*out.Cols+c+1] = !m.Data[r*m.Cols+c]
		}
	}
	d := DistanceTo(out, dr, dc)
	res := make([]float64, len(m.Data))
	for r := 0; r < m.Rows; r++ {
		copy(res[r*m.Cols:(r+1)*m.Cols], d[(r+1)*out.Cols+1:(r+1)*out.Cols+1+m.Cols])
	}
	return res
}

// Deepest returns the pixel of m farthest from its outside (Depth), the
// first in row order among equals, and false when m is empty: where an
// annotator clicks a structure to say the most about it.
func Deepest(m *Mask, dr, dc float64) (int, bool) {
	d := Depth(m, dr, dc)
	best, at := -1.0, -1
	for i, x := range d {
		if m.Data[i] && x > best {
			best, at = x, i
		}
	}
	return at, at >= 0
}

// OpenMM returns m opened by a disc of radius r mm (eroded, then dilated
// back), within m: what is narrower than 2r goes, necks included.
func OpenMM(m *Mask, r, dr, dc float64) *Mask {
	opened := DilateMM(ErodeMM(m, r, dr, dc), r, dr, dc)
	for i := range opened.Data {
		opened.Data[i] = opened.Data[i] && m.Data[i]
	}
	return opened
}

// NeckPieces returns the pieces m falls into when cut at necks narrower
// than 2r mm: the 8-connected components (as Components labels them) of
// OpenMM(m, r). A leak into a neighbour runs through a narrow contact,
// which the opening breaks.
func NeckPieces(m *Mask, r, dr, dc float64) (lab []int32, n int) {
	return Components(OpenMM(m, r, dr, dc))
}

// Regrow returns the part of m that the pieces of NeckPieces' lab marked
// in keep (indexed by id) hold once grown back by r mm within m: what the
// opening shaved off their own edge comes back, and what touches it, but
// never a pixel of a piece not kept. (Of the pixels regrown, only those
// closer to a kept piece than to any other belong to it; dropping what
// lies in another piece holds well enough.) It returns an empty mask
// when no piece is kept.
func Regrow(m *Mask, lab []int32, keep []bool, r, dr, dc float64) *Mask {
	body := NewMask(m.Rows, m.Cols)
	for i, id := range lab {
		body.Data[i] = id > 0 && keep[id]
	}
	grown := DilateMM(body, r, dr, dc)
	for i, id := range lab {
		grown.Data[i] = grown.Data[i] && m.Data[i] && (id == 0 || keep[id])
	}
	return Overlapping(grown, body)
}
