package section

// Components labels the 8-connected components of a 2D mask: lab[i] is
// 0 for background and 1..n for the component of pixel i. 8-connectivity
// because an organ's cross-section is often joined only diagonally at 3 mm
// pixels; splitting it would prompt SAM twice for one organ.
func Components(m *Mask) (lab []int32, n int) {
	lab = make([]int32, len(m.Data))
	stack := make([]int, 0, 64)
	for start, on := range m.Data {
		if !on || lab[start] != 0 {
			continue
		}
		n++
		lab[start] = int32(n)
		stack = append(stack[:0], start)
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			r, c := p/m.Cols, p%m.Cols
			for dr := -1; dr <= 1; dr++ {
				for dc := -1; dc <= 1; dc++ {
					rr, cc := r+dr, c+dc
					if rr < 0 || cc < 0 || rr >= m.Rows || cc >= m.Cols {
						continue
					}
					q := rr*m.Cols + cc
					if m.Data[q] && lab[q] == 0 {
						lab[q] = int32(n)
						stack = append(stack, q)
					}
				}
			}
		}
	}
	return lab, n
}

// Largest returns the id and pixel count of the largest of the n
// components of lab (Components' labelling; the lowest id on a tie), or
// 0, 0 when there is none.
func Largest(lab []int32, n int) (id int32, size int) {
	if n == 0 {
		return 0, 0
	}
	sizes := make([]int, n+1)
	for _, l := range lab {
		sizes[l]++
	}
	id = 1
	for c := int32(2); c <= int32(n); c++ {
		if sizes[c] > sizes[id] {
			id = c
		}
	}
	return id, sizes[id]
}

// Component returns the mask of component id of lab.
func Component(lab []int32, id int32, rows, cols int) *Mask {
	m := NewMask(rows, cols)
	for i, l := range lab {
		m.Data[i] = l == id
	}
	return m
}

// KeepLargest3D keeps, in a binary volume of dims d (i fastest), only the
// largest 6-connected component. It returns the number of voxels removed.
func KeepLargest3D(on []bool, d [3]int) int {
	nx, ny, nz := d[0], d[1], d[2]
	lab := make([]int32, len(on))
	var sizes []int
	stack := make([]int, 0, 1024)
	for start, v := range on {
		if !v || lab[start] != 0 {
			continue
		}
		id := int32(len(sizes) + 1)
		size := 0
		lab[start] = id
		stack = append(stack[:0], start)
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			size++
			i, j, k := p%nx, (p/nx)%ny, p/(nx*ny)
			visit := func(q int) {
				if on[q] && lab[q] == 0 {
					lab[q] = id
					stack = append(stack, q)
				}
			}
			if i > 0 {
				visit(p - 1)
			}
			if i < nx-1 {
				visit(p + 1)
			}
			if j > 0 {
				visit(p - nx)
			}
			if j < ny-1 {
				visit(p + nx)
			}
			if k > 0 {
				visit(p - nx*ny)
			}
			if k < nz-1 {
				visit(p + nx*ny)
			}
		}
		sizes = append(sizes, size)
	}
	if len(sizes) <= 1 {
		return 0
	}
	best := 0
	for i, s := range sizes {
		if s > sizes[best] {
			best = i
		}
	}
	removed := 0
	for p, l := range lab {
		if l != 0 && l != int32(best+1) {
			on[p] = false
			removed++
		}
	}
	return removed
}
