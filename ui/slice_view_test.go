package ui

import (
	"image"
	"image/color"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// syntheticSession returns a session showing a 40×30×20 ramp volume.
func syntheticSession(t testing.TB) *app.Session {
	s := app.New(app.Options{AutosaveDir: t.TempDir()})
	g := volume.Grid{Dims: [3]int{40, 30, 20}, Affine: volume.Identity()}
	v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	for i := range v.Data {
		v.Data[i] = float32(i%400) - 200
	}
	if err := s.SetVolume(v, ""); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSliceViewRedrawsOnlyOnChange(t *testing.T) {
	test.NewTempApp(t)
	s := syntheticSession(t)
	defer s.Close()
	v := NewSliceView(s, viewer.Axial)
	w := test.NewTempWindow(t, v)
	w.Resize(fyne.NewSize(200, 200))

	first := v.draw(200, 200)
	if again := v.draw(200, 200); again != first {
		t.Error("a second draw with nothing changed rendered a new frame")
	}
	s.SetWindow(viewer.Window{Width: 100, Level: 0})
	if again := v.draw(200, 200); again == first {
		t.Error("a window change did not render a new frame")
	}
	if bigger := v.draw(300, 200); bigger.Bounds().Dx() != 300 {
		t.Errorf("frame of %v for a 300×200 raster", bigger.Bounds())
	}
}

func TestSliceViewWithoutScan(t *testing.T) {
	test.NewTempApp(t)
	s := app.New(app.Options{})
	defer s.Close()
	v := NewSliceView(s, viewer.Coronal)
	w := test.NewTempWindow(t, v)
	w.Resize(fyne.NewSize(100, 100))
	img := v.draw(100, 100).(*image.RGBA)
	if c := img.RGBAAt(50, 50); c != (color.RGBA{A: 255}) {
		t.Errorf("empty view pixel %v, want black", c)
	}
	// Input with no scan does nothing, and does not panic.
	v.StepSlice(1)
	v.Zoom(2)
	test.TapAt(v, fyne.NewPos(50, 50))
	if n, total := v.Slice(); n != 0 || total != 0 {
		t.Errorf("Slice() = %d, %d with no scan", n, total)
	}
}

func BenchmarkSliceViewDraw(b *testing.B) {
	test.NewTempApp(b)
	s := syntheticSession(b)
	defer s.Close()
	v := NewSliceView(s, viewer.Axial)
	w := test.NewTempWindow(b, v)
	w.Resize(fyne.NewSize(512, 512))
	c := s.Cursor()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		// Moving the crosshair changes the session, so each draw renders.
		c[0] = n % 40
		s.SetCursor(c)
		v.draw(512, 512)
	}
}
