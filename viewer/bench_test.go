package viewer

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/volume"
)

// benchVolume returns a volume of the given dimensions with noisy soft
// tissue values and a label volume holding a few large blobs, as a CT with a
// segmentation looks to the renderer.
func benchVolume(dims [3]int) (*volume.Volume, *volume.Labels) {
	g := volume.Grid{Dims: dims, Affine: volume.Identity()}
	rng := rand.New(rand.NewPCG(1, 2))
	v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	for i := range v.Data {
		v.Data[i] = float32(rng.NormFloat64()*200 - 100)
	}
	l := volume.NewLabels(g)
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				// Concentric rings in i, k: labels 0..7 in bands.
				di, dk := i-dims[0]/2, k-dims[2]/2
				l.Data[g.Index(i, j, k)] = uint16((di*di+dk*dk)/2000) % 8
			}
		}
	}
	return v, l
}

var benchSink *image.RGBA

// BenchmarkRender renders a 512×512 slice with the abdomen window and a
// label overlay. "axial" reads voxels in storage order; "coronal" reads a
// slice whose rows are a whole plane apart in memory.
func BenchmarkRender(b *testing.B) {
	vol, lab := benchVolume([3]int{512, 32, 512})
	table := assets.DefaultColorTable()
	w := Window{Width: 400, Level: 40}
	cases := []struct {
		name  string
		plane Plane
		ov    *Overlay
		vp    *Viewport
		size  image.Point
	}{
		{"coronal-512/fill", Coronal, &Overlay{Labels: lab, Table: table, Opacity: 0.5}, nil, image.Point{}},
		{"coronal-512/outline", Coronal, &Overlay{Labels: lab, Table: table, Opacity: 0.5, Outline: true}, nil, image.Point{}},
		{"coronal-512/no-overlay", Coronal, nil, nil, image.Point{}},
		{"coronal-512/viewport-1280x960-zoom2", Coronal, &Overlay{Labels: lab, Table: table, Opacity: 0.5}, &Viewport{Zoom: 2}, image.Pt(1280, 960)},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			s := NewSlicer(vol.Grid, tc.plane)
			sw, sh := s.Size()
			dst := image.NewRGBA(image.Rect(0, 0, sw, sh))
			if tc.vp != nil {
				dst = image.NewRGBA(image.Rectangle{Max: tc.size})
			}
			slice := s.NumSlices() / 2
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if tc.vp != nil {
					err = RenderViewport(dst, vol, s, slice, w, tc.ov, *tc.vp)
				} else {
					err = Render(dst, vol, s, slice, w, tc.ov)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			benchSink = dst
		})
	}
	// The axial case: a 512×512×8 volume read in storage order.
	avol, alab := benchVolume([3]int{512, 512, 8})
	b.Run("axial-512/fill", func(b *testing.B) {
		s := NewSlicer(avol.Grid, Axial)
		dst := image.NewRGBA(image.Rect(0, 0, 512, 512))
		ov := &Overlay{Labels: alab, Table: table, Opacity: 0.5}
		b.ReportAllocs()
		for b.Loop() {
			if err := Render(dst, avol, s, 4, w, ov); err != nil {
				b.Fatal(err)
			}
		}
		benchSink = dst
	})
}

// referenceRender is the straightforward way to draw the same frame with
// the standard library: grey pixels through image.RGBA.SetRGBA, the labels
// into an NRGBA layer, composited with draw.Draw (Porter-Duff over). It is
// the baseline BenchmarkRenderReference measures Render against, and
// TestRenderMatchesReference checks Render's blending with it.
func referenceRender(dst *image.RGBA, vol *volume.Volume, s Slicer, slice int, w Window, ov *Overlay) {
	sw, sh := s.Size()
	lo := w.Level - w.Width/2
	layer := image.NewNRGBA(image.Rect(0, 0, sw, sh))
	for v := 0; v < sh; v++ {
		for u := 0; u < sw; u++ {
			hu, _ := HUAt(vol, s, slice, u, v)
			g := math.Round(math.Min(math.Max((float64(hu)-lo)/w.Width*255, 0), 255))
			dst.SetRGBA(u, v, color.RGBA{uint8(g), uint8(g), uint8(g), 255})
			if l, _ := LabelAt(ov.Labels, s, slice, u, v); l != 0 && !ov.Hidden[l] {
				c := ov.Table.Color(l)
				c.A = uint8(math.Round(float64(c.A) * ov.Opacity))
				layer.SetNRGBA(u, v, c)
			}
		}
	}
	draw.Draw(dst, dst.Rect, layer, image.Point{}, draw.Over)
}

// BenchmarkRenderReference runs referenceRender on the axial case of
// BenchmarkRender; compare the two in the same run (see
// docs/benchmarks.md).
func BenchmarkRenderReference(b *testing.B) {
	vol, lab := benchVolume([3]int{512, 512, 8})
	s := NewSlicer(vol.Grid, Axial)
	ov := &Overlay{Labels: lab, Table: assets.DefaultColorTable(), Opacity: 0.5}
	dst := image.NewRGBA(image.Rect(0, 0, 512, 512))
	b.ReportAllocs()
	for b.Loop() {
		referenceRender(dst, vol, s, 4, Window{Width: 400, Level: 40}, ov)
	}
	benchSink = dst
}
