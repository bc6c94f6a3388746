package viewer

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/volume"
)

// anisotropic returns a one-slice axial volume of 10×10 voxels of 1×2 mm:
// 10 mm wide and 20 mm tall on screen.
func anisotropic() (*volume.Volume, Slicer) {
	a := volume.Identity()
	a[1][1] = 2
	v := &volume.Volume{Grid: volume.Grid{Dims: [3]int{10, 10, 1}, Affine: a}}
	v.Data = make([]float32, v.Len())
	for i := range v.Data {
		v.Data[i] = 1000
	}
	return v, NewSlicer(v.Grid, Axial)
}

func TestViewportFit(t *testing.T) {
	_, s := anisotropic()
	target := image.Rect(100, 200, 200, 300) // 100×100 screen pixels
	tests := []struct {
		name   string
		vp     Viewport
		u, v   float64 // slice point
		x, y   float64 // where it lands
		kx, ky float64
	}{
		// Fit: 20 mm tall into 100 px gives 5 px/mm: 5 px per column,
		// 10 px per row; 50 px wide, centred: x from 125 to 175.
		{"fit top-left", Viewport{}, 0, 0, 125, 200, 5, 10},
		{"fit centre", Viewport{}, 5, 5, 150, 250, 5, 10},
		{"fit bottom-right", Viewport{}, 10, 10, 175, 300, 5, 10},
		{"zoom 2 about the centre", Viewport{Zoom: 2}, 0, 0, 100, 150, 10, 20},
		{"pan", Viewport{PanX: 7, PanY: -3}, 5, 5, 157, 247, 5, 10},
		{"zoom and pan", Viewport{Zoom: 0.5, PanX: 10}, 0, 0, 147.5, 225, 2.5, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, y := tc.vp.SliceToScreen(target, s, tc.u, tc.v)
			if math.Abs(x-tc.x) > 1e-9 || math.Abs(y-tc.y) > 1e-9 {
				t.Errorf("SliceToScreen(%g, %g) = (%g, %g), want (%g, %g)", tc.u, tc.v, x, y, tc.x, tc.y)
			}
			u, v := tc.vp.ScreenToSlice(target, s, tc.x, tc.y)
			if math.Abs(u-tc.u) > 1e-9 || math.Abs(v-tc.v) > 1e-9 {
				t.Errorf("ScreenToSlice(%g, %g) = (%g, %g), want (%g, %g)", tc.x, tc.y, u, v, tc.u, tc.v)
			}
			if kx, ky := tc.vp.ScreenPixelSize(target, s); kx != tc.kx || ky != tc.ky {
				t.Errorf("ScreenPixelSize = %g×%g, want %g×%g", kx, ky, tc.kx, tc.ky)
			}
		})
	}
}

func TestViewportZoomAbout(t *testing.T) {
	_, s := anisotropic()
	target := image.Rect(0, 0, 300, 200)
	vp := Viewport{Zoom: 1.5, PanX: 12, PanY: -4}
	x, y := 140.0, 90.0
	u, v := vp.ScreenToSlice(target, s, x, y)
	for _, f := range []float64{2, 0.5, 1.1, 1e9, 1e-9} {
		z := vp.ZoomAbout(target, s, x, y, f)
		if z.Zoom < MinZoom || z.Zoom > MaxZoom {
			t.Errorf("factor %g: zoom %g outside limits", f, z.Zoom)
		}
		gu, gv := z.ScreenToSlice(target, s, x, y)
		if math.Abs(gu-u) > 1e-9 || math.Abs(gv-v) > 1e-9 {
			t.Errorf("factor %g: point under the cursor moved from (%g, %g) to (%g, %g)", f, u, v, gu, gv)
		}
	}
	if z := vp.ZoomAbout(target, s, x, y, math.NaN()); z != vp {
		t.Errorf("NaN factor changed the viewport to %+v", z)
	}
}

func TestViewportPixelAt(t *testing.T) {
	_, s := anisotropic()
	target := image.Rect(0, 0, 100, 100)
	tests := []struct {
		x, y int
		u, v int
		ok   bool
	}{
		{25, 0, 0, 0, true},
		{24, 0, -1, 0, false},
		{29, 9, 0, 0, true},
		{30, 10, 1, 1, true},
		{74, 99, 9, 9, true},
		{75, 50, 10, 5, false},
	}
	for _, tc := range tests {
		u, v, ok := Viewport{}.PixelAt(target, s, tc.x, tc.y)
		if u != tc.u || v != tc.v || ok != tc.ok {
			t.Errorf("PixelAt(%d, %d) = (%d, %d, %v), want (%d, %d, %v)", tc.x, tc.y, u, v, ok, tc.u, tc.v, tc.ok)
		}
	}
}

// TestRenderViewport checks aspect-correct placement (black bars beside a
// tall slice) and that outlines stay one screen pixel wide when zoomed.
func TestRenderViewport(t *testing.T) {
	vol, s := anisotropic()
	lab := volume.NewLabels(vol.Grid)
	for v := 2; v < 8; v++ {
		for u := 2; u < 8; u++ {
			lab.Data[s.Index(0, u, v)] = 1
		}
	}
	table, _ := assets.NewColorTable([]assets.Label{{Value: 1, Name: "one", Color: color.NRGBA{255, 0, 0, 255}}})
	img := image.NewRGBA(image.Rect(0, 0, 100, 100))
	ov := &Overlay{Labels: lab, Table: table, Opacity: 1, Outline: true}
	if err := RenderViewport(img, vol, s, 0, Window{400, 40}, ov, Viewport{}); err != nil {
		t.Fatal(err)
	}
	black := color.RGBA{0, 0, 0, 255}
	white := color.RGBA{255, 255, 255, 255}
	red := color.RGBA{255, 0, 0, 255}
	// Columns 2..7 of the slice cover screen x 35..64 (5 px each), rows
	// 2..7 cover y 20..79 (10 px each).
	want := map[image.Point]color.RGBA{
		{24, 50}: black, {75, 50}: black, // bars beside the slice
		{25, 0}: white, {74, 99}: white,
		{34, 50}: white, {35, 50}: red, {36, 50}: white, // left edge of the mask: one pixel
		{64, 50}: red, {63, 50}: white, {65, 50}: white,
		{50, 20}: red, {50, 21}: white, {50, 79}: red, {50, 78}: white,
		{50, 50}: white, // interior
	}
	for p, c := range want {
		if got := img.RGBAAt(p.X, p.Y); got != c {
			t.Errorf("pixel %v = %v, want %v", p, got, c)
		}
	}
	// At zoom 1 with an exact fit, RenderViewport of a target the slice's
	// size equals Render.
	iso, lab2 := phantom()
	sa := NewSlicer(iso.Grid, Coronal)
	w, h := sa.Size()
	du, dv := sa.PixelSpacing()
	// Make the target's aspect that of the slice in mm, one pixel per mm.
	tw, th := int(float64(w)*du), int(float64(h)*dv)
	a := image.NewRGBA(image.Rect(0, 0, tw, th))
	ov2 := &Overlay{Labels: lab2, Opacity: 0.5}
	if err := RenderViewport(a, iso, sa, 1, Window{400, 0}, ov2, Viewport{}); err != nil {
		t.Fatal(err)
	}
	b := image.NewRGBA(image.Rect(0, 0, w, h))
	if err := Render(b, iso, sa, 1, Window{400, 0}, ov2); err != nil {
		t.Fatal(err)
	}
	for y := 0; y < th; y++ {
		for x := 0; x < tw; x++ {
			if got, want := a.RGBAAt(x, y), b.RGBAAt(int(float64(x)/du), int(float64(y)/dv)); got != want {
				t.Fatalf("viewport pixel (%d, %d) = %v, want %v", x, y, got, want)
			}
		}
	}
}

// slowViewport draws what RenderViewport must draw, one screen pixel at a
// time through the public mapping (PixelAt), with no precomputation.
func slowViewport(dst *image.RGBA, vol *volume.Volume, s Slicer, slice int, w Window, ov *Overlay, vp Viewport) {
	r := dst.Rect
	label := func(x, y int) uint16 {
		u, v, ok := vp.PixelAt(r, s, x, y)
		if !ok {
			return 0
		}
		l, _ := LabelAt(ov.Labels, s, slice, u, v)
		return l
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			u, v, ok := vp.PixelAt(r, s, x, y)
			if !ok {
				dst.SetRGBA(x, y, color.RGBA{0, 0, 0, 255})
				continue
			}
			hu, _ := HUAt(vol, s, slice, u, v)
			g := float64(w.Gray(hu))
			out := [3]float64{g, g, g}
			l := label(x, y)
			edge := label(x-1, y) != l || label(x+1, y) != l || label(x, y-1) != l || label(x, y+1) != l
			if l != 0 && !ov.Hidden[l] && (!ov.Outline || edge) {
				c := ov.Table.Color(l)
				a := ov.Opacity * float64(c.A) / 255
				for n, cc := range [3]uint8{c.R, c.G, c.B} {
					out[n] = g*(1-a) + float64(cc)*a
				}
			}
			dst.SetRGBA(x, y, color.RGBA{uint8(math.Round(out[0])), uint8(math.Round(out[1])), uint8(math.Round(out[2])), 255})
		}
	}
}

// TestRenderViewportMatchesSlow compares RenderViewport with slowViewport
// over random viewports, zoomed in (where rows repeat and are copied) and
// out, filled and outlined, in every plane.
func TestRenderViewportMatchesSlow(t *testing.T) {
	vol, lab := phantom()
	rng := rand.New(rand.NewPCG(3, 5))
	for trial := 0; trial < 60; trial++ {
		p := Planes[trial%3]
		s := NewSlicer(vol.Grid, p)
		target := image.Rect(rng.IntN(20)-10, rng.IntN(20)-10, 0, 0)
		target.Max = target.Min.Add(image.Pt(1+rng.IntN(90), 1+rng.IntN(90)))
		vp := Viewport{Zoom: math.Exp(rng.Float64()*4 - 1.5), PanX: rng.Float64()*60 - 30, PanY: rng.Float64()*60 - 30}
		ov := &Overlay{Labels: lab, Table: assets.DefaultColorTable(), Opacity: rng.Float64(),
			Outline: trial%2 == 0, Hidden: map[uint16]bool{uint16(rng.IntN(4)): true}}
		n := rng.IntN(s.NumSlices())
		got := image.NewRGBA(target)
		want := image.NewRGBA(target)
		if err := RenderViewport(got, vol, s, n, Window{Width: 300, Level: -50}, ov, vp); err != nil {
			t.Fatal(err)
		}
		slowViewport(want, vol, s, n, Window{Width: 300, Level: -50}, ov, vp)
		for y := target.Min.Y; y < target.Max.Y; y++ {
			for x := target.Min.X; x < target.Max.X; x++ {
				g, w := got.RGBAAt(x, y), want.RGBAAt(x, y)
				if !near(g.R, w.R) || !near(g.G, w.G) || !near(g.B, w.B) || g.A != 255 {
					t.Fatalf("trial %d (%s, target %v, %+v, outline %v): pixel (%d, %d) = %v, want %v",
						trial, p, target, vp, ov.Outline, x, y, g, w)
				}
			}
		}
	}
}
