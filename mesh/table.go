package mesh

import (
	"fmt"
	"math"
	"sync"
)

// The marching-cubes case table is not typed in: it is derived, once, from
// two rules, which is what makes the surface watertight by construction.
//
//  1. On each face of a cube the isoline is decided by the face's four
//     corners alone, the same way from both cubes that share the face. A
//     face whose inside corners are diagonal (the ambiguous face) is cut so
//     that the inside corners are joined: voxels that share an edge are one
//     surface. Because both cubes draw the same segments on their common
//     face, the surface has no cracks.
//  2. Each segment is directed so that, seen from outside the cube, the
//     inside lies to its left ((q−p) × n points into the inside, n the
//     face's outward normal). The two cubes sharing a face then run along
//     each segment in opposite directions, and the segments of a cube join
//     head to tail into closed cycles: one polygon per cycle, oriented with
//     its normal pointing outwards.
//
// A polygon is cut into a fan of triangles from a corner whose diagonals
// all cross the cube's interior; a diagonal lying in a face could be drawn
// by the neighbouring cube as well and give an edge of four triangles.
// Every edge is then either a face segment (two cubes, one triangle each)
// or inside one cube (two triangles of one polygon), so every edge has
// exactly two triangles, running along it in opposite directions. With the
// joining rule every polygon of the 256 cases has such a corner (at most
// five triangles a case, as in Lorensen and Cline's table), so every vertex
// lies on a cube edge; the table's construction checks it.
//
// Corners: bit 0 is x, bit 1 y, bit 2 z. Edges: 4·axis + the other two
// coordinates (lower axis first) as a 2-bit number. Face: 2·axis + side.

// mcCase is one of the 256 corner configurations.
type mcCase struct {
	// edges lists the cube edges the surface crosses.
	edges []uint8
	// tris are triangles over cube edges.
	tris [][3]uint8
}

var mcTable = sync.OnceValue(buildTable)

func corner(c int) [3]int { return [3]int{c & 1, c >> 1 & 1, c >> 2 & 1} }

// edgeCorners returns the two corners of edge e, the lower first.
func edgeCorners(e int) (a, b int) {
	axis, o := e/4, e%4
	u, v := (axis+1)%3, (axis+2)%3
	if u > v {
		u, v = v, u
	}
	a = (o&1)<<u | (o>>1&1)<<v
	return a, a | 1<<axis
}

// edgeMid returns twice the position of edge e's midpoint in the unit cube.
func edgeMid(e int) [3]float64 {
	a, b := edgeCorners(e)
	ca, cb := corner(a), corner(b)
	return [3]float64{float64(ca[0] + cb[0]), float64(ca[1] + cb[1]), float64(ca[2] + cb[2])}
}

// edgeBetween returns the edge joining corners a and b (which differ in
// one bit).
func edgeBetween(a, b int) int {
	for e := range 12 {
		x, y := edgeCorners(e)
		if (x == a && y == b) || (x == b && y == a) {
			return e
		}
	}
	panic(fmt.Sprintf("mesh: corners %d and %d share no edge", a, b))
}

// edgeFaces returns the two faces edge e lies in.
func edgeFaces(e int) [2]int {
	a, _ := edgeCorners(e)
	ca := corner(a)
	axis := e / 4
	var f [2]int
	n := 0
	for ax := range 3 {
		if ax != axis {
			f[n] = 2*ax + ca[ax]
			n++
		}
	}
	return f
}

func shareFace(e1, e2 int) bool {
	f1, f2 := edgeFaces(e1), edgeFaces(e2)
	return f1[0] == f2[0] || f1[0] == f2[1] || f1[1] == f2[0] || f1[1] == f2[1]
}

func buildTable() *[256]mcCase {
	var t [256]mcCase
	for cs := range 256 {
		t[cs] = buildCase(cs)
	}
	return &t
}

func buildCase(cs int) mcCase {
	in := func(c int) bool { return cs>>c&1 == 1 }
	next := [12]int{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}
	for f := range 6 {
		axis, side := f/2, f%2
		u, v := (axis+1)%3, (axis+2)%3
		if u > v {
			u, v = v, u
		}
		// The face's corners in cyclic order.
		var q [4]int
		for n, uv := range [4][2]int{{0, 0}, {1, 0}, {1, 1}, {0, 1}} {
			q[n] = side<<axis | uv[0]<<u | uv[1]<<v
		}
		fe := func(n int) int { return edgeBetween(q[n%4], q[(n+1)%4]) }
		var cut []int
		for n := range 4 {
			if in(q[n]) != in(q[(n+1)%4]) {
				cut = append(cut, n)
			}
		}
		var segs [][2]int
		switch len(cut) {
		case 2:
			segs = [][2]int{{fe(cut[0]), fe(cut[1])}}
		case 4:
			// Cut off the two outside corners: the inside ones are joined.
			for n := range 4 {
				if !in(q[n]) {
					segs = append(segs, [2]int{fe(n + 3), fe(n)})
				}
			}
		}
		var normal [3]float64
		normal[axis] = float64(2*side - 1)
		for _, s := range segs {
			p, r := edgeMid(s[0]), edgeMid(s[1])
			d := cross(sub(r, p), normal)
			// The inside end of each cut edge must lie on d's side.
			sign := 0
			for _, e := range s {
				a, b := edgeCorners(e)
				ci := a
				if !in(a) {
					ci = b
				}
				c := corner(ci)
				off := dot(d, sub([3]float64{2 * float64(c[0]), 2 * float64(c[1]), 2 * float64(c[2])}, p))
				switch {
				case off > 0 && sign >= 0:
					sign = 1
				case off < 0 && sign <= 0:
					sign = -1
				default:
					panic(fmt.Sprintf("mesh: case %d face %d: segment %v splits its inside corners", cs, f, s))
				}
			}
			from, to := s[0], s[1]
			if sign < 0 {
				from, to = to, from
			}
			if next[from] != -1 {
				panic(fmt.Sprintf("mesh: case %d: two segments leave edge %d", cs, from))
			}
			next[from] = to
		}
	}
	var c mcCase
	var seen [12]bool
	for e := range 12 {
		if next[e] < 0 || seen[e] {
			continue
		}
		var cyc []int
		for x := e; !seen[x]; x = next[x] {
			if next[x] < 0 {
				panic(fmt.Sprintf("mesh: case %d: the segments through edge %d do not close", cs, x))
			}
			seen[x] = true
			cyc = append(cyc, x)
		}
		if cyc[0] != next[cyc[len(cyc)-1]] {
			panic(fmt.Sprintf("mesh: case %d: cycle from edge %d does not close on itself", cs, e))
		}
		for _, x := range cyc {
			c.edges = append(c.edges, uint8(x))
		}
		c.addPolygon(cyc)
	}
	return c
}

// addPolygon triangulates one oriented cycle of edges.
func (c *mcCase) addPolygon(cyc []int) {
	n := len(cyc)
	at := func(i int) uint8 { return uint8(cyc[(i%n+n)%n]) }
	if n == 3 {
		c.tris = append(c.tris, [3]uint8{at(0), at(1), at(2)})
		return
	}
	best, bestQ := -1, -1.0
	for a := range n {
		ok := true
		for j := 2; j < n-1 && ok; j++ {
			ok = !shareFace(cyc[a], cyc[(a+j)%n])
		}
		if !ok {
			continue
		}
		// Prefer the fan whose worst triangle is the least thin, judged on
		// the midpoints (where a binary mask puts the vertices).
		q := math.Inf(1)
		for j := 1; j < n-1; j++ {
			q = min(q, triQuality(edgeMid(cyc[a]), edgeMid(cyc[(a+j)%n]), edgeMid(cyc[(a+j+1)%n])))
		}
		if q > bestQ {
			best, bestQ = a, q
		}
	}
	if best < 0 {
		panic(fmt.Sprintf("mesh: polygon %v has no fan without a diagonal in a face", cyc))
	}
	for j := 1; j < n-1; j++ {
		c.tris = append(c.tris, [3]uint8{at(best), at(best + j), at(best + j + 1)})
	}
}

// triQuality is 4√3·area / (sum of squared sides): 1 for an equilateral
// triangle, 0 for a degenerate one.
func triQuality(a, b, c [3]float64) float64 {
	ar := norm(cross(sub(b, a), sub(c, a))) / 2
	s := dot(sub(b, a), sub(b, a)) + dot(sub(c, b), sub(c, b)) + dot(sub(a, c), sub(a, c))
	if s == 0 {
		return 0
	}
	return 4 * math.Sqrt(3) * ar / s
}
