package render3d

import (
	"context"
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/polyseg/polyseg/mesh"
	"github.com/polyseg/polyseg/volume"
)

var bg = color.RGBA{0, 0, 0, 255}

// cube returns a closed cube mesh of side s centred at c, facing outwards.
func cube(c Vec, s float64) *mesh.Mesh {
	m := &mesh.Mesh{Color: color.NRGBA{200, 180, 160, 255}}
	for n := range 8 {
		p := [3]float32{}
		for a := range 3 {
			p[a] = float32(c[a] + s*(float64(n>>a&1)-0.5))
		}
		m.Vertices = append(m.Vertices, p)
	}
	// Two triangles per face, counter-clockwise seen from outside.
	faces := [6][4]uint32{{0, 2, 3, 1}, {4, 5, 7, 6}, {0, 1, 5, 4}, {2, 6, 7, 3}, {0, 4, 6, 2}, {1, 3, 7, 5}}
	for _, f := range faces {
		m.Triangles = append(m.Triangles, [3]uint32{f[0], f[1], f[2]}, [3]uint32{f[0], f[2], f[3]})
	}
	return m
}

// icosphere returns a sphere of radius r at c: an icosahedron subdivided
// level times, vertices pushed onto the sphere.
func icosphere(c Vec, r float64, level int) *mesh.Mesh {
	t := (1 + math.Sqrt(5)) / 2
	vs := []Vec{{-1, t, 0}, {1, t, 0}, {-1, -t, 0}, {1, -t, 0}, {0, -1, t}, {0, 1, t}, {0, -1, -t}, {0, 1, -t}, {t, 0, -1}, {t, 0, 1}, {-t, 0, -1}, {-t, 0, 1}}
	fs := [][3]uint32{{0, 11, 5}, {0, 5, 1}, {0, 1, 7}, {0, 7, 10}, {0, 10, 11}, {1, 5, 9}, {5, 11, 4}, {11, 10, 2}, {10, 7, 6}, {7, 1, 8},
		{3, 9, 4}, {3, 4, 2}, {3, 2, 6}, {3, 6, 8}, {3, 8, 9}, {4, 9, 5}, {2, 4, 11}, {6, 2, 10}, {8, 6, 7}, {9, 8, 1}}
	for range level {
		mid := map[[2]uint32]uint32{}
		half := func(a, b uint32) uint32 {
			k := [2]uint32{min(a, b), max(a, b)}
			if v, ok := mid[k]; ok {
				return v
			}
			vs = append(vs, scale(add(vs[a], vs[b]), 0.5))
			mid[k] = uint32(len(vs) - 1)
			return mid[k]
		}
		var next [][3]uint32
		for _, f := range fs {
			a, b, c := half(f[0], f[1]), half(f[1], f[2]), half(f[2], f[0])
			next = append(next, [3]uint32{f[0], a, c}, [3]uint32{f[1], b, a}, [3]uint32{f[2], c, b}, [3]uint32{a, b, c})
		}
		fs = next
	}
	m := &mesh.Mesh{Color: color.NRGBA{255, 255, 255, 255}, Triangles: fs}
	for _, v := range vs {
		p := add(c, scale(v, r/norm(v)))
		m.Vertices = append(m.Vertices, [3]float32{float32(p[0]), float32(p[1]), float32(p[2])})
	}
	return m
}

func covered(img *image.RGBA) int {
	n := 0
	for i := 0; i < len(img.Pix); i += 4 {
		if img.Pix[i] != bg.R || img.Pix[i+1] != bg.G || img.Pix[i+2] != bg.B {
			n++
		}
	}
	return n
}

func render(s *Scene, cam *Camera, w, h int, opts ...func(*Renderer)) (*image.RGBA, *Renderer) {
	r := &Renderer{Background: bg}
	for _, o := range opts {
		o(r)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r.Render(img, s, cam)
	return img, r
}

// TestCubeSilhouette: a 100 mm cube seen orthographically at 1 px/mm
// covers 100×100 pixels face on, and 100√2×100 turned 45° about the
// vertical; in perspective its front face's projection.
func TestCubeSilhouette(t *testing.T) {
	s := &Scene{Objects: []*Object{NewObject(cube(Vec{10, 20, 30}, 100))}}
	cam := NewCamera()
	cam.Target = Vec{10, 20, 30}
	cam.Ortho = true
	// The view is 200 mm high at 200 px: 1 px per mm.
	cam.Distance = 100 / math.Tan(cam.FOV/2)
	for _, c := range []struct {
		name string
		yaw  float64
		want float64
	}{
		{"face on", 0, 100 * 100},
		{"turned 45°", math.Pi / 4, 100 * math.Sqrt2 * 100},
	} {
		cc := cam
		cc.Orbit(c.yaw, 0)
		img, _ := render(s, &cc, 200, 200)
		got := float64(covered(img))
		// Pixel-centre sampling gets the area right to about a pixel row
		// along the outline.
		if math.Abs(got-c.want) > 0.02*c.want {
			t.Errorf("%s: %g pixels, want %g", c.name, got, c.want)
		}
	}
	pc := cam
	pc.Ortho = false
	pc.Distance = 400
	img, _ := render(s, &pc, 200, 200)
	// The front face (50 mm nearer than the centre) hides the rest.
	side := 100 / (pc.Distance - 50) * 100 / math.Tan(pc.FOV/2)
	if got := float64(covered(img)); math.Abs(got-side*side) > 0.02*side*side {
		t.Errorf("perspective: %g pixels, want %g", got, side*side)
	}
	// The empty scene and a hidden object draw nothing.
	s.Objects[0].Visible = false
	if img, _ := render(s, &cam, 50, 50); covered(img) != 0 {
		t.Error("a hidden cube was drawn")
	}
}

// TestSphereShading: under the headlight a sphere is brightest facing the
// eye and darkens monotonically towards its outline.
func TestSphereShading(t *testing.T) {
	for _, shading := range []Shading{Gouraud, Flat} {
		s := &Scene{Objects: []*Object{NewObject(icosphere(Vec{0, 0, 0}, 50, 5))}}
		cam := NewCamera()
		cam.Ortho = true
		cam.Distance = 60 / math.Tan(cam.FOV/2)
		img, _ := render(s, &cam, 240, 240, func(r *Renderer) { r.Shading = shading })
		// From the centre to the right along the middle row: 50 mm at
		// 2 px/mm is 100 pixels.
		prev := 256
		tol := 1
		if shading == Flat {
			tol = 12 // facets step the light
		}
		y := 120
		for x := 120; x < 120+98; x++ {
			v := int(img.RGBAAt(x, y).R)
			if v > prev+tol {
				t.Errorf("shading %d: brightness rises from %d to %d at x=%d", shading, prev, v, x)
				break
			}
			prev = min(prev, v)
		}
		centre, edge := int(img.RGBAAt(120, 120).R), int(img.RGBAAt(120+97, 120).R)
		if centre < 245 || edge > 120 {
			t.Errorf("shading %d: centre %d, near the outline %d", shading, centre, edge)
		}
		if c := img.RGBAAt(120+105, 120); c != bg {
			t.Errorf("shading %d: outside the sphere %v", shading, c)
		}
	}
}

// TestPick: picking the pixel over a surface gives the surface point, for
// an analytic sphere and for a marching-cubes surface of a ball of labels
// (within a voxel of the true sphere).
func TestPick(t *testing.T) {
	const r = 50.0
	c := Vec{5, -10, 20}
	for _, ortho := range []bool{false, true} {
		s := &Scene{Objects: []*Object{NewObject(icosphere(c, r, 5))}}
		cam := NewCamera()
		cam.Reset(add(c, Vec{-r, -r, -r}), add(c, Vec{r, r, r}))
		cam.Ortho = ortho
		cam.Orbit(0.7, 0.3)
		_, rd := render(s, &cam, 300, 300)
		for _, px := range [][2]int{{150, 150}, {120, 170}, {190, 100}} {
			h, ok := rd.Pick(px[0], px[1])
			if !ok {
				t.Fatalf("ortho %v: nothing at %v", ortho, px)
			}
			if d := math.Abs(norm(sub(h.Point, c)) - r); d > 0.05 {
				t.Errorf("ortho %v: pick at %v is %.3f mm off the sphere", ortho, px, d)
			}
			// It is the near side: the one the eye sees.
			if dot(sub(h.Point, c), sub(cam.Eye(), c)) <= 0 {
				t.Errorf("ortho %v: pick at %v is on the far side", ortho, px)
			}
			o, d := cam.Ray(float64(px[0])+0.5, float64(px[1])+0.5, 300, 300)
			exact, ok := s.Raycast(o, d)
			if !ok || norm(sub(exact.Point, h.Point)) > 1e-6 {
				t.Errorf("ortho %v: pick %v, ray cast %v", ortho, h.Point, exact.Point)
			}
		}
		if _, ok := rd.Pick(2, 2); ok {
			t.Errorf("ortho %v: a hit in the corner, where there is no surface", ortho)
		}
		if _, ok := rd.Pick(-1, 400); ok {
			t.Error("a hit outside the image")
		}
	}

	// A ball of labels on 2 mm voxels, smoothed as the app would.
	const vox = 2.0
	n := 40
	a := volume.Affine{{vox, 0, 0, -40}, {0, vox, 0, -40}, {0, 0, vox, -40}, {0, 0, 0, 1}}
	l := volume.NewLabels(volume.Grid{Dims: [3]int{n, n, n}, Affine: a})
	centre := Vec{-40 + vox*19.5, -40 + vox*19.5, -40 + vox*19.5}
	for k := range n {
		for j := range n {
			for i := range n {
				x, y, z := a.Apply(float64(i), float64(j), float64(k))
				if norm(sub(Vec{x, y, z}, centre)) <= 30 {
					l.Data[l.Index(i, j, k)] = 1
				}
			}
		}
	}
	m, err := mesh.Extract(context.Background(), l, 1, mesh.Options{Smooth: 20})
	if err != nil {
		t.Fatal(err)
	}
	s := &Scene{Objects: []*Object{NewObject(m)}}
	cam := NewCamera()
	lo, hi := m.Bounds()
	cam.Reset(vec(lo), vec(hi))
	_, rd := render(s, &cam, 200, 200)
	for _, px := range [][2]int{{100, 100}, {80, 120}, {130, 90}} {
		h, ok := rd.Pick(px[0], px[1])
		if !ok {
			t.Fatalf("nothing at %v", px)
		}
		if d := math.Abs(norm(sub(h.Point, centre)) - 30); d > vox {
			t.Errorf("pick at %v is %.2f mm off the true sphere: more than a voxel", px, d)
		}
	}
}

func TestWorkersAgree(t *testing.T) {
	s := &Scene{Objects: []*Object{NewObject(icosphere(Vec{0, 0, 0}, 40, 4)), NewObject(cube(Vec{30, -20, 10}, 50))}}
	s.Objects[1].Color = color.NRGBA{50, 200, 90, 255}
	cam := NewCamera()
	lo, hi, _ := s.Bounds()
	cam.Reset(lo, hi)
	cam.Orbit(0.4, -0.2)
	ref, _ := render(s, &cam, 160, 120, func(r *Renderer) { r.Workers = 1 })
	for _, w := range []int{2, 3, 7} {
		img, _ := render(s, &cam, 160, 120, func(r *Renderer) { r.Workers = w })
		for i := range img.Pix {
			if img.Pix[i] != ref.Pix[i] {
				t.Fatalf("%d workers: byte %d is %d, one worker %d", w, i, img.Pix[i], ref.Pix[i])
			}
		}
	}
	// Drawing into a sub-image writes only there.
	big := image.NewRGBA(image.Rect(0, 0, 300, 200))
	sub := big.SubImage(image.Rect(100, 50, 260, 170)).(*image.RGBA)
	(&Renderer{Background: bg}).Render(sub, s, &cam)
	for y := range 120 {
		for x := range 160 {
			if sub.RGBAAt(100+x, 50+y) != ref.RGBAAt(x, y) {
				t.Fatalf("sub-image differs at %d,%d", x, y)
			}
		}
	}
	if big.RGBAAt(10, 10) != (color.RGBA{}) {
		t.Error("drawing into a sub-image wrote outside it")
	}
}

// TestAgainstReference: the fast renderer and the straightforward one
// draw the same picture but for pixels on outlines.
func TestAgainstReference(t *testing.T) {
	s := benchScene(t, 60)
	cam := NewCamera()
	lo, hi, _ := s.Bounds()
	cam.Reset(lo, hi)
	cam.Orbit(0.5, 0.3)
	img, _ := render(s, &cam, 200, 200, func(r *Renderer) { r.Shading = Flat })
	ref := image.NewRGBA(image.Rect(0, 0, 200, 200))
	referenceRender(ref, s, &cam, bg)
	diff, cov := 0, 0
	for i := 0; i < len(img.Pix); i += 4 {
		a, b := img.Pix[i:i+3], ref.Pix[i:i+3]
		if a[0] != bg.R || a[1] != bg.G || a[2] != bg.B {
			cov++
		}
		for k := range 3 {
			if d := int(a[k]) - int(b[k]); d > 3 || d < -3 {
				diff++
				break
			}
		}
	}
	if cov < 5000 || float64(diff) > 0.02*float64(cov) {
		t.Errorf("%d of %d covered pixels differ from the reference", diff, cov)
	}
}

// TestSlicePlanes: the planes of an LPS-ordered grid through its centre,
// and how they are drawn: over the background and over surfaces behind
// them, not over surfaces in front.
func TestSlicePlanes(t *testing.T) {
	g := volume.Grid{Dims: [3]int{10, 20, 5}, Affine: volume.Affine{{-1, 0, 0, 5}, {0, -2, 0, 10}, {0, 0, 3, -6}, {0, 0, 0, 1}}}
	cols := [3]color.NRGBA{{255, 0, 0, 128}, {0, 255, 0, 128}, {0, 0, 255, 128}}
	qs := SlicePlanes(g, [3]float64{4.5, 9.5, 2}, cols)
	// The axial plane (k = 2) lies at z = −6 + 3·2 = 0 and spans the
	// grid's outer faces.
	for _, c := range qs[0].Corners {
		if c[2] != 0 || c[0] < -5.5 || c[0] > 5.5 || c[1] < -30.5 || c[1] > 11 {
			t.Errorf("axial corner %v", c)
		}
	}
	if qs[0].Color != cols[0] || qs[2].Color != cols[2] {
		t.Error("colours out of order")
	}
	for _, c := range qs[2].Corners { // sagittal: i = 4.5, x = 0.5
		if c[0] != 0.5 {
			t.Errorf("sagittal corner %v", c)
		}
	}

	// A coronal quad (y = 0) between the eye (anterior) and a cube behind
	// it, and a second cube in front of the plane.
	behind := NewObject(cube(Vec{-40, -30, 0}, 20))
	front := NewObject(cube(Vec{40, 30, 0}, 20))
	quad := Quad{Corners: [4]Vec{{-100, 0, -100}, {100, 0, -100}, {100, 0, 100}, {-100, 0, 100}}, Color: color.NRGBA{0, 0, 255, 128}}
	cam := NewCamera()
	cam.Ortho = true
	cam.Distance = 100 / math.Tan(cam.FOV/2)
	plain, _ := render(&Scene{Objects: []*Object{behind, front}}, &cam, 200, 200)
	withQuad, _ := render(&Scene{Objects: []*Object{behind, front}, Quads: []Quad{quad}}, &cam, 200, 200)
	at := func(img *image.RGBA, p Vec) color.RGBA {
		x, y, _, _ := cam.Project(p, 200, 200)
		return img.RGBAAt(int(x), int(y))
	}
	if got := at(withQuad, Vec{-40, -30, 0}); got.B <= at(plain, Vec{-40, -30, 0}).B {
		t.Errorf("the cube behind the plane is not tinted: %v", got)
	}
	if got, want := at(withQuad, Vec{40, 30, 0}), at(plain, Vec{40, 30, 0}); got != want {
		t.Errorf("the cube in front of the plane is tinted: %v, want %v", got, want)
	}
	if got := at(withQuad, Vec{0, 0, 80}); got.B < 100 || got.R != 0 {
		t.Errorf("the plane over the background: %v", got)
	}
}
