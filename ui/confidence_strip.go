package ui

import (
	"image"
	"image/color"
	"math"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/polyseg/polyseg/app"
)

// Colours of the confidence strip: a slice a person should look at is
// red, one to glance at amber, a trusted one green; anchors are white and
// slices no propagation decided stay dark.
var (
	stripTrusted  = color.NRGBA{R: 40, G: 170, B: 70, A: 255}
	stripGlance   = color.NRGBA{R: 230, G: 170, B: 20, A: 255}
	stripDoubtful = color.NRGBA{R: 215, G: 45, B: 40, A: 255}
	stripAnchor   = color.NRGBA{R: 240, G: 240, B: 240, A: 255}
	stripEmpty    = color.NRGBA{R: 45, G: 45, B: 45, A: 255}
	stripCursor   = color.NRGBA{R: 255, G: 210, B: 0, A: 255}
)

// stripWidth is the strip's width in Fyne units: wide enough to hit with
// the mouse, narrow enough to leave the view its room.
const stripWidth = 18

// confidenceStrip is a slice slider for the axial view that shows, for
// every slice, how much the propagation of the chosen label trusts it: the
// top is the last slice (superior), the bottom the first. Clicking or
// dragging goes to a slice; hovering names its confidence.
type confidenceStrip struct {
	widget.BaseWidget

	// OnSlice is called with the slice clicked or dragged to.
	OnSlice func(slice int)
	// OnHover is called with the slice under the mouse (ok false when it
	// left the strip).
	OnHover func(c app.SliceConfidence, ok bool)

	raster *canvas.Raster

	mu      sync.Mutex
	conf    []app.SliceConfidence
	below   float64 // the session's doubt threshold
	current int
}

func newConfidenceStrip() *confidenceStrip {
	s := &confidenceStrip{current: -1}
	s.raster = canvas.NewRaster(s.draw)
	s.ExtendBaseWidget(s)
	return s
}

// Set shows conf (one entry per slice, possibly none) with slice current
// marked.
func (s *confidenceStrip) Set(conf []app.SliceConfidence, current int, below float64) {
	s.mu.Lock()
	s.conf, s.current, s.below = conf, current, below
	s.mu.Unlock()
	s.raster.Refresh()
}

// colour returns the strip colour of one slice.
func stripColour(c app.SliceConfidence, below float64) color.NRGBA {
	switch {
	case math.IsNaN(c.Confidence):
		return stripEmpty
	case c.Anchor:
		return stripAnchor
	case c.Doubtful:
		return stripDoubtful
	case c.Confidence < (1+below)/2:
		return stripGlance
	}
	return stripTrusted
}

func (s *confidenceStrip) draw(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, max(w, 1), max(h, 1)))
	s.mu.Lock()
	conf, current, below := s.conf, s.current, s.below
	s.mu.Unlock()
	n := len(conf)
	for y := 0; y < h; y++ {
		col := stripEmpty
		if n > 0 {
			k := s.sliceAtRow(y, h, n)
			col = stripColour(conf[k], below)
			if k == current {
				col = stripCursor
			}
		}
		for x := 0; x < w; x++ {
			// A dark rim keeps neighbouring slices apart when they are
			// tall enough to see.
			if x == 0 || x == w-1 {
				img.SetNRGBA(x, y, stripEmpty)
				continue
			}
			// A slice flagged but not propagated is drawn hollow: a
			// doubtful rim around nothing decided.
			if k := s.sliceAtRow(y, h, max(n, 1)); n > 0 && k != current && conf[k].Unchecked && x > 3 && x < w-4 {
				img.SetNRGBA(x, y, stripEmpty)
				continue
			}
			img.SetNRGBA(x, y, col)
		}
	}
	return img
}

// sliceAtRow maps pixel row y of a strip h pixels tall to one of n slices,
// the last slice at the top.
func (s *confidenceStrip) sliceAtRow(y, h, n int) int {
	k := n - 1 - int(float64(y)*float64(n)/float64(h))
	return min(max(k, 0), n-1)
}

// sliceAt maps a position to a slice, false when there are none.
func (s *confidenceStrip) sliceAt(pos fyne.Position) (app.SliceConfidence, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.Size().Height
	if len(s.conf) == 0 || h <= 0 {
		return app.SliceConfidence{}, false
	}
	y := min(max(pos.Y, 0), h-1)
	k := len(s.conf) - 1 - int(y*float32(len(s.conf))/h)
	k = min(max(k, 0), len(s.conf)-1)
	return s.conf[k], true
}

func (s *confidenceStrip) goTo(pos fyne.Position) {
	if c, ok := s.sliceAt(pos); ok && s.OnSlice != nil {
		s.OnSlice(c.Slice)
	}
}

// Tapped goes to the slice clicked.
func (s *confidenceStrip) Tapped(ev *fyne.PointEvent) { s.goTo(ev.Position) }

// Dragged scrubs through the slices.
func (s *confidenceStrip) Dragged(ev *fyne.DragEvent) { s.goTo(ev.Position) }

// DragEnd implements fyne.Draggable.
func (s *confidenceStrip) DragEnd() {}

// MouseIn implements desktop.Hoverable.
func (s *confidenceStrip) MouseIn(ev *desktop.MouseEvent) { s.MouseMoved(ev) }

// MouseMoved names the slice under the mouse.
func (s *confidenceStrip) MouseMoved(ev *desktop.MouseEvent) {
	if c, ok := s.sliceAt(ev.Position); ok && s.OnHover != nil {
		s.OnHover(c, true)
	}
}

// MouseOut implements desktop.Hoverable.
func (s *confidenceStrip) MouseOut() {
	if s.OnHover != nil {
		s.OnHover(app.SliceConfidence{}, false)
	}
}

// CreateRenderer implements fyne.Widget.
func (s *confidenceStrip) CreateRenderer() fyne.WidgetRenderer {
	return &stripRenderer{s: s}
}

type stripRenderer struct{ s *confidenceStrip }

func (r *stripRenderer) Layout(size fyne.Size)        { r.s.raster.Resize(size) }
func (r *stripRenderer) MinSize() fyne.Size           { return fyne.NewSize(stripWidth, 60) }
func (r *stripRenderer) Refresh()                     { r.s.raster.Refresh() }
func (r *stripRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.s.raster} }
func (r *stripRenderer) Destroy()                     {}

var (
	_ fyne.Tappable     = (*confidenceStrip)(nil)
	_ fyne.Draggable    = (*confidenceStrip)(nil)
	_ desktop.Hoverable = (*confidenceStrip)(nil)
)
