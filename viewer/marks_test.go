package viewer

import (
	"image"
	"image/color"
	"slices"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

var red = color.NRGBA{R: 255, A: 255}

func TestCrosshairAt(t *testing.T) {
	tests := []struct {
		name       string
		x, y       int
		clip       image.Rectangle
		lit, unlit []image.Point
	}{
		{"inside", 10, 12, image.Rect(0, 0, 20, 20), []image.Point{{0, 12}, {19, 12}, {10, 0}, {10, 19}},
			[]image.Point{{10, 12}, {12, 12}, {16, 12}, {0, 0}}},
		{"left of the image", -10, 12, image.Rect(0, 0, 20, 20), []image.Point{{0, 12}, {19, 12}}, []image.Point{{0, 0}, {0, 5}}},
		{"below the image", 10, 40, image.Rect(0, 0, 20, 20), []image.Point{{10, 0}, {10, 19}}, []image.Point{{0, 19}}},
		{"clipped", 10, 12, image.Rect(8, 0, 20, 5), []image.Point{{10, 0}, {10, 4}}, []image.Point{{0, 12}, {10, 19}, {19, 12}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := image.NewRGBA(image.Rect(0, 0, 20, 20))
			crosshairAt(img, tt.x, tt.y, red, tt.clip)
			for _, p := range tt.lit {
				if img.RGBAAt(p.X, p.Y).R != 255 {
					t.Errorf("pixel %v not on the crosshair", p)
				}
			}
			for _, p := range tt.unlit {
				if img.RGBAAt(p.X, p.Y).R != 0 {
					t.Errorf("pixel %v drawn, want it left alone", p)
				}
			}
		})
	}
}

// DrawCrosshair puts the lines through the centre of the voxel's screen
// pixels as the viewport places them, and blends with the colour's alpha.
func TestDrawCrosshairFollowsTheViewport(t *testing.T) {
	g := volume.Grid{Dims: [3]int{10, 10, 3}, Affine: volume.Identity()}
	s := NewSlicer(g, Axial)
	for _, vp := range []Viewport{{}, {Zoom: 2, PanX: -7, PanY: 11}} {
		img := image.NewRGBA(image.Rect(0, 0, 100, 100))
		DrawCrosshair(img, s, vp, 4, 6, color.NRGBA{R: 255, A: 128}, img.Bounds())
		x, y := vp.SliceToScreen(img.Bounds(), s, 4.5, 6.5)
		px, py := int(x), int(y)
		if got := img.RGBAAt(0, py).R; got != 128 {
			t.Errorf("%+v: row %d at the left edge is %d, want the half-blended 128", vp, py, got)
		}
		if got := img.RGBAAt(px, 99).R; got != 128 {
			t.Errorf("%+v: column %d at the bottom edge is %d, want 128", vp, px, got)
		}
		if img.RGBAAt(px, py).R != 0 || img.RGBAAt(px+CrosshairGap, py).R != 0 {
			t.Errorf("%+v: the gap around (%d, %d) is drawn", vp, px, py)
		}
	}
}

// DrawOutline marks exactly the screen pixels inside the labels whose
// 4-neighbours are not all inside (or that touch the image's edge), as
// sampled one by one with Viewport.PixelAt, at any zoom and pan.
func TestDrawOutlineMatchesPixelAt(t *testing.T) {
	g := volume.Grid{Dims: [3]int{60, 40, 3}, Affine: volume.Identity()}
	g.Affine[0][0], g.Affine[1][1] = 0.7, 1.3 // anisotropic pixels
	l := volume.NewLabels(g)
	for j := 5; j < 30; j++ {
		for i := 10; i < 50; i++ {
			if (i-30)*(i-30)+(j-17)*(j-17) < 150 {
				l.Data[g.Index(i, j, 1)] = 5
			}
		}
	}
	s := NewSlicer(g, Axial)
	tests := []struct {
		name string
		vp   Viewport
	}{
		{"fit", Viewport{}},
		{"zoomed and panned", Viewport{Zoom: 2.3, PanX: 15, PanY: -40}},
		{"zoomed out", Viewport{Zoom: 0.5}},
		{"panned off the edge", Viewport{Zoom: 4, PanX: 300}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := image.NewRGBA(image.Rect(0, 0, 300, 200))
			if err := DrawOutline(img, l, s, 1, tt.vp, red); err != nil {
				t.Fatal(err)
			}
			// DrawOutlineAt, reading voxel by voxel, draws the same.
			at := image.NewRGBA(img.Bounds())
			if err := DrawOutlineAt(at, g, func(i int) uint16 { return l.Data[i] }, s, 1, tt.vp, red); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(at.Pix, img.Pix) {
				t.Error("DrawOutlineAt drew other pixels than DrawOutline")
			}
			b := img.Bounds()
			inside := func(x, y int) bool {
				u, v, ok := tt.vp.PixelAt(b, s, x, y)
				return ok && l.Data[s.Index(1, u, v)] != 0
			}
			n := 0
			for y := range b.Dy() {
				for x := range b.Dx() {
					want := inside(x, y) && (x == 0 || y == 0 || x == b.Dx()-1 || y == b.Dy()-1 ||
						!inside(x-1, y) || !inside(x+1, y) || !inside(x, y-1) || !inside(x, y+1))
					got := img.RGBAAt(x, y) == color.RGBA{R: 255, A: 255}
					if got != want {
						t.Fatalf("pixel (%d, %d): outlined %v, want %v", x, y, got, want)
					}
					if got {
						n++
					}
				}
			}
			if n == 0 && tt.name != "panned off the edge" {
				t.Error("nothing outlined")
			}
		})
	}
	// An empty slice draws nothing; labels of another grid or a slice
	// outside are refused.
	img := image.NewRGBA(image.Rect(0, 0, 30, 20))
	if err := DrawOutline(img, l, s, 0, Viewport{}, red); err != nil {
		t.Fatal(err)
	}
	for _, p := range img.Pix {
		if p != 0 {
			t.Fatal("an empty slice drew an outline")
		}
	}
	other := volume.NewLabels(volume.Grid{Dims: [3]int{60, 40, 3}, Affine: volume.Identity()})
	for name, err := range map[string]error{
		"other grid":    DrawOutline(img, other, s, 1, Viewport{}, red),
		"slice outside": DrawOutline(img, l, s, 3, Viewport{}, red),
		"no labels":     DrawOutline(img, nil, s, 1, Viewport{}, red),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// BenchmarkDrawOutline outlines a mask covering a quarter of a 512×512
// slice into an 800×800 view.
func BenchmarkDrawOutline(b *testing.B) {
	g := volume.Grid{Dims: [3]int{512, 512, 4}, Affine: volume.Identity()}
	l := volume.NewLabels(g)
	for j := 128; j < 384; j++ {
		for i := 128; i < 384; i++ {
			l.Data[g.Index(i, j, 2)] = 5
		}
	}
	s := NewSlicer(g, Axial)
	img := image.NewRGBA(image.Rect(0, 0, 800, 800))
	for b.Loop() {
		if err := DrawOutline(img, l, s, 2, Viewport{}, red); err != nil {
			b.Fatal(err)
		}
	}
}
