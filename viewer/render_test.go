package viewer

import (
	"image"
	"image/color"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/volume"
)

// flat returns a one-slice axial RAS volume of n×n voxels, all at hu, with
// an empty label volume.
func flat(n int, hu float32) (*volume.Volume, *volume.Labels) {
	g := volume.Grid{Dims: [3]int{n, n, 1}, Affine: volume.Identity()}
	v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	for i := range v.Data {
		v.Data[i] = hu
	}
	return v, volume.NewLabels(g)
}

// square labels the display pixels [u0, u1)×[v0, v1) of axial slice 0.
func square(l *volume.Labels, s Slicer, u0, v0, u1, v1 int, val uint16) {
	for v := v0; v < v1; v++ {
		for u := u0; u < u1; u++ {
			l.Data[s.Index(0, u, v)] = val
		}
	}
}

func renderAxial(t *testing.T, v *volume.Volume, w Window, ov *Overlay) *image.RGBA {
	t.Helper()
	s := NewSlicer(v.Grid, Axial)
	sw, sh := s.Size()
	img := image.NewRGBA(image.Rect(0, 0, sw, sh))
	if err := Render(img, v, s, 0, w, ov); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return img
}

func near(a, b uint8) bool { d := int(a) - int(b); return d >= -1 && d <= 1 }

func TestOpacityBlending(t *testing.T) {
	table, err := assets.NewColorTable([]assets.Label{
		{Value: 1, Name: "red", Color: color.NRGBA{200, 0, 0, 255}},
		{Value: 2, Name: "half_alpha_green", Color: color.NRGBA{0, 250, 0, 128}},
		{Value: 65535, Name: "largest", Color: color.NRGBA{0, 0, 200, 255}}, // beyond the precomputed palette
	})
	if err != nil {
		t.Fatal(err)
	}
	w := Window{Width: 255, Level: 127.5} // HU 100 -> grey 100
	tests := []struct {
		label   uint16
		opacity float64
		want    color.RGBA
	}{
		{0, 1, color.RGBA{100, 100, 100, 255}},  // background untouched
		{1, 0, color.RGBA{100, 100, 100, 255}},  // invisible
		{1, 0.5, color.RGBA{150, 50, 50, 255}},  // 100*0.5 + 200*0.5
		{1, 1, color.RGBA{200, 0, 0, 255}},      // opaque
		{1, 0.25, color.RGBA{125, 75, 75, 255}}, // 100*0.75 + 200*0.25
		{1, 7, color.RGBA{200, 0, 0, 255}},      // clamped to 1
		{1, -1, color.RGBA{100, 100, 100, 255}}, // clamped to 0
		{2, 1, color.RGBA{50, 175, 50, 255}},    // label alpha 128/255 ≈ 0.5
		{2, 0.5, color.RGBA{75, 137, 75, 255}},  // 0.25: 100*0.75 + 250*0.25 = 137.5
		{65535, 0.5, color.RGBA{50, 50, 150, 255}},
		{5000, 1, func() color.RGBA { c := assets.FallbackColor(5000); return color.RGBA{c.R, c.G, c.B, 255} }()},
		{40, 1, func() color.RGBA { c := assets.FallbackColor(40); return color.RGBA{c.R, c.G, c.B, 255} }()},
	}
	for _, tc := range tests {
		v, l := flat(3, 100)
		for i := range l.Data {
			l.Data[i] = tc.label
		}
		img := renderAxial(t, v, w, &Overlay{Labels: l, Table: table, Opacity: tc.opacity})
		got := img.RGBAAt(1, 1)
		if !near(got.R, tc.want.R) || !near(got.G, tc.want.G) || !near(got.B, tc.want.B) || got.A != 255 {
			t.Errorf("label %d opacity %g: %v, want %v", tc.label, tc.opacity, got, tc.want)
		}
	}
}

func TestOutlineAndHidden(t *testing.T) {
	v, l := flat(9, 0)
	s := NewSlicer(v.Grid, Axial)
	square(l, s, 2, 2, 7, 7, 1) // 5×5 block of label 1
	square(l, s, 4, 4, 5, 5, 2) // one pixel of label 2 in its middle
	table, _ := assets.NewColorTable([]assets.Label{
		{Value: 1, Name: "one", Color: color.NRGBA{255, 0, 0, 255}},
		{Value: 2, Name: "two", Color: color.NRGBA{0, 0, 255, 255}},
	})
	grey := color.RGBA{128, 128, 128, 255}
	red := color.RGBA{255, 0, 0, 255}
	blue := color.RGBA{0, 0, 255, 255}
	w := Window{Width: 400, Level: 0}
	tests := []struct {
		name string
		ov   Overlay
		want map[image.Point]color.RGBA
	}{
		{"filled", Overlay{Labels: l, Table: table, Opacity: 1}, map[image.Point]color.RGBA{
			{0, 0}: grey, {2, 2}: red, {3, 3}: red, {4, 4}: blue, {6, 6}: red, {7, 7}: grey,
		}},
		{"outline", Overlay{Labels: l, Table: table, Opacity: 1, Outline: true}, map[image.Point]color.RGBA{
			{0, 0}: grey, {2, 2}: red, {4, 2}: red, {6, 4}: red, // the block's rim
			{3, 3}: grey, {5, 5}: grey, {3, 5}: grey, // interior, not next to label 2
			{4, 3}: red, {3, 4}: red, // next to label 2: boundary of label 1
			{4, 4}: blue, // label 2's single pixel is all boundary
		}},
		{"hidden", Overlay{Labels: l, Table: table, Opacity: 1, Hidden: map[uint16]bool{2: true}}, map[image.Point]color.RGBA{
			{3, 3}: red, {4, 4}: grey,
		}},
		{"hidden outline", Overlay{Labels: l, Table: table, Opacity: 1, Outline: true, Hidden: map[uint16]bool{1: true}}, map[image.Point]color.RGBA{
			{2, 2}: grey, {4, 3}: grey, {4, 4}: blue,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := renderAxial(t, v, w, &tc.ov)
			for p, want := range tc.want {
				if got := img.RGBAAt(p.X, p.Y); got != want {
					t.Errorf("pixel %v = %v, want %v", p, got, want)
				}
			}
		})
	}
	// Every pixel of the outline image that is coloured must be a boundary
	// pixel; count them: the 5×5 rim (16) plus label 2's four neighbours
	// plus label 2 itself.
	img := renderAxial(t, v, w, &Overlay{Labels: l, Table: table, Opacity: 1, Outline: true})
	n := 0
	for y := 0; y < 9; y++ {
		for x := 0; x < 9; x++ {
			if img.RGBAAt(x, y) != grey {
				n++
			}
		}
	}
	if n != 16+4+1 {
		t.Errorf("%d outline pixels, want 21", n)
	}
}

func TestRenderErrors(t *testing.T) {
	v, l := flat(4, 0)
	s := NewSlicer(v.Grid, Axial)
	ok := image.NewRGBA(image.Rect(0, 0, 4, 4))
	// Same dimensions, other voxel order: drawing it voxel for voxel would
	// mirror it.
	flipped := *l
	flipped.Affine = volume.Affine{{-1, 0, 0, 3}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}
	short := &volume.Volume{Grid: v.Grid, Data: v.Data[:3]}
	other, _ := flat(5, 0)
	tests := []struct {
		name  string
		dst   *image.RGBA
		vol   *volume.Volume
		slice int
		ov    *Overlay
		want  string
	}{
		{"wrong destination size", image.NewRGBA(image.Rect(0, 0, 3, 4)), v, 0, nil, "destination"},
		{"nil destination", nil, v, 0, nil, "destination"},
		{"nil volume", ok, nil, 0, nil, "no volume"},
		{"short data", ok, short, 0, nil, "values for"},
		{"slicer for another grid", ok, other, 0, nil, "another grid"},
		{"slicer for another orientation", ok, &volume.Volume{Grid: flipped.Grid, Data: v.Data}, 0, nil, "another grid"},
		{"slice too large", ok, v, 1, nil, "out of range"},
		{"negative slice", ok, v, -1, nil, "out of range"},
		{"labels on another grid", ok, v, 0, &Overlay{Labels: &flipped}, "resample"},
		{"short labels", ok, v, 0, &Overlay{Labels: &volume.Labels{Grid: v.Grid}}, "label volume has"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Render(tc.dst, tc.vol, s, tc.slice, Window{400, 40}, tc.ov)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if err := RenderViewport(nil, v, s, 0, Window{400, 40}, nil, Viewport{}); err == nil {
		t.Error("RenderViewport(nil dst): no error")
	}
}

// TestRenderSubImage renders into a sub-image, whose Pix starts elsewhere.
func TestRenderSubImage(t *testing.T) {
	v, _ := flat(4, 1000)
	s := NewSlicer(v.Grid, Axial)
	big := image.NewRGBA(image.Rect(0, 0, 10, 10))
	sub := big.SubImage(image.Rect(3, 5, 7, 9)).(*image.RGBA)
	if err := Render(sub, v, s, 0, Window{400, 40}, nil); err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 10; y++ {
		for x := 0; x < 10; x++ {
			in := image.Pt(x, y).In(sub.Rect)
			if got := big.RGBAAt(x, y).R == 255; got != in {
				t.Fatalf("pixel (%d, %d) white = %v, want %v", x, y, got, in)
			}
		}
	}
}

func TestLabelAt(t *testing.T) {
	vol, lab := phantom()
	s := NewSlicer(vol.Grid, Sagittal)
	i, j, k := s.Voxel(2, 1, 3)
	if got, ok := LabelAt(lab, s, 2, 1, 3); !ok || got != lab.At(i, j, k) {
		t.Errorf("LabelAt = %d, %v; want %d", got, ok, lab.At(i, j, k))
	}
	if _, ok := LabelAt(lab, s, 2, -1, 3); ok {
		t.Error("LabelAt outside: ok")
	}
	if _, ok := HUAt(vol, s, s.NumSlices(), 0, 0); ok {
		t.Error("HUAt outside: ok")
	}
}

// TestOutlineEdges: a label filling the slice is outlined along the slice's
// edges, but not along the target's edges when zoomed in beyond them.
func TestOutlineEdges(t *testing.T) {
	v, l := flat(8, 0)
	for i := range l.Data {
		l.Data[i] = 1000 // beyond any table: the fallback colour
	}
	s := NewSlicer(v.Grid, Axial)
	ov := &Overlay{Labels: l, Opacity: 1, Outline: true}
	fc := assets.FallbackColor(1000)
	col := color.RGBA{fc.R, fc.G, fc.B, 255}
	grey := color.RGBA{128, 128, 128, 255}
	img := renderAxial(t, v, Window{Width: 400, Level: 0}, ov)
	for _, c := range []struct {
		p    image.Point
		want color.RGBA
	}{{image.Pt(0, 0), col}, {image.Pt(7, 3), col}, {image.Pt(3, 7), col}, {image.Pt(3, 3), grey}} {
		if got := img.RGBAAt(c.p.X, c.p.Y); got != c.want {
			t.Errorf("native pixel %v = %v, want %v", c.p, got, c.want)
		}
	}
	zoomed := image.NewRGBA(image.Rect(0, 0, 40, 40))
	if err := RenderViewport(zoomed, v, s, 0, Window{Width: 400, Level: 0}, ov, Viewport{Zoom: 4}); err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 40; y++ {
		for x := 0; x < 40; x++ {
			if got := zoomed.RGBAAt(x, y); got != grey {
				t.Fatalf("zoomed pixel (%d, %d) = %v: outline drawn at the target's edge", x, y, got)
			}
		}
	}
}

// TestRenderMatchesReference compares Render's fixed-point blending with
// the standard library's Porter-Duff "over" on noisy data with many labels.
func TestRenderMatchesReference(t *testing.T) {
	vol, lab := benchVolume([3]int{64, 48, 3})
	for i := range lab.Data {
		lab.Data[i] = uint16(i*7919) % 40
	}
	s := NewSlicer(vol.Grid, Axial)
	for _, op := range []float64{0, 0.3, 0.5, 0.8, 1} {
		ov := &Overlay{Labels: lab, Table: assets.DefaultColorTable(), Opacity: op, Hidden: map[uint16]bool{7: true}}
		got := image.NewRGBA(image.Rect(0, 0, 64, 48))
		want := image.NewRGBA(image.Rect(0, 0, 64, 48))
		if err := Render(got, vol, s, 1, Window{Width: 400, Level: 40}, ov); err != nil {
			t.Fatal(err)
		}
		referenceRender(want, vol, s, 1, Window{Width: 400, Level: 40}, ov)
		for i := range got.Pix {
			if !near(got.Pix[i], want.Pix[i]) {
				t.Fatalf("opacity %g: byte %d (pixel %d) = %d, reference %d", op, i, i/4, got.Pix[i], want.Pix[i])
			}
		}
	}
}

// TestRenderLarge renders frames large enough to be split over goroutines
// and compares them with the one-goroutine references (run with -race to
// check the split too).
func TestRenderLarge(t *testing.T) {
	vol, lab := benchVolume([3]int{256, 256, 2})
	s := NewSlicer(vol.Grid, Axial)
	w := Window{Width: 400, Level: 40}
	ov := &Overlay{Labels: lab, Table: assets.DefaultColorTable(), Opacity: 0.6}
	got := image.NewRGBA(image.Rect(0, 0, 256, 256))
	want := image.NewRGBA(image.Rect(0, 0, 256, 256))
	if err := Render(got, vol, s, 1, w, ov); err != nil {
		t.Fatal(err)
	}
	referenceRender(want, vol, s, 1, w, ov)
	for i := range got.Pix {
		if !near(got.Pix[i], want.Pix[i]) {
			t.Fatalf("Render: byte %d (pixel %d) = %d, reference %d", i, i/4, got.Pix[i], want.Pix[i])
		}
	}
	ov.Outline = true
	vp := Viewport{Zoom: 1.7, PanX: 13, PanY: -20}
	got = image.NewRGBA(image.Rect(0, 0, 400, 300))
	want = image.NewRGBA(image.Rect(0, 0, 400, 300))
	if err := RenderViewport(got, vol, s, 0, w, ov, vp); err != nil {
		t.Fatal(err)
	}
	slowViewport(want, vol, s, 0, w, ov, vp)
	for i := range got.Pix {
		if !near(got.Pix[i], want.Pix[i]) {
			t.Fatalf("RenderViewport: byte %d (pixel %d) = %d, reference %d", i, i/4, got.Pix[i], want.Pix[i])
		}
	}
}

// RenderViewportRect draws exactly what RenderViewport draws inside its
// rectangle, outlines included, and nothing outside it.
func TestRenderViewportRectMatchesWhole(t *testing.T) {
	vol, lab := benchVolume([3]int{48, 40, 36})
	table := assets.DefaultColorTable()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, p := range Planes {
		for _, outline := range []bool{false, true} {
			for _, vp := range []Viewport{{}, {Zoom: 3.3, PanX: 17, PanY: -9}, {Zoom: 0.4}} {
				s := NewSlicer(vol.Grid, p)
				ov := &Overlay{Labels: lab, Table: table, Opacity: 0.6, Outline: outline}
				whole := image.NewRGBA(image.Rect(0, 0, 173, 131))
				if err := RenderViewport(whole, vol, s, s.NumSlices()/2, Window{Width: 400, Level: 40}, ov, vp); err != nil {
					t.Fatal(err)
				}
				for range 8 {
					x0, y0 := rng.IntN(190)-10, rng.IntN(150)-10
					r := image.Rect(x0, y0, x0+rng.IntN(60), y0+rng.IntN(60))
					part := image.NewRGBA(whole.Rect)
					for i := range part.Pix {
						part.Pix[i] = 7
					}
					if err := RenderViewportRect(part, vol, s, s.NumSlices()/2, Window{Width: 400, Level: 40}, ov, vp, r); err != nil {
						t.Fatal(err)
					}
					for y := range whole.Rect.Dy() {
						for x := range whole.Rect.Dx() {
							want := color.RGBA{7, 7, 7, 7}
							if (image.Point{x, y}).In(r) {
								want = whole.RGBAAt(x, y)
							}
							if got := part.RGBAAt(x, y); got != want {
								t.Fatalf("%s outline %v %+v rect %v: pixel (%d, %d) = %v, want %v", p, outline, vp, r, x, y, got, want)
							}
						}
					}
				}
			}
		}
	}
}
