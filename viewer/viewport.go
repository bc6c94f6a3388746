package viewer

import (
	"image"
	"math"
)

// Zoom limits of Viewport.ZoomAbout.
const (
	MinZoom = 0.1
	MaxZoom = 64
)

// Viewport places a slice inside a target rectangle on screen. At Zoom 1
// with no pan the whole slice fits the target, centred, with its physical
// aspect ratio (from Slicer.PixelSpacing); Zoom scales about the target's
// centre, then PanX, PanY (screen pixels) move the slice. The zero Viewport
// is "fit, centred": a Zoom of zero or less counts as 1.
//
// Screen coordinates are those of the target rectangle's image (pixel (x, y)
// covers [x, x+1)×[y, y+1)); slice coordinates are continuous display
// coordinates, pixel (u, v) covering [u, u+1)×[v, v+1).
type Viewport struct {
	Zoom       float64
	PanX, PanY float64
}

// mapping is a Viewport resolved for one target and slicer:
// screen = centre + (slice - half)*k.
type mapping struct {
	kx, ky       float64 // screen pixels per slice pixel
	cx, cy       float64 // screen position of the slice's centre
	halfW, halfH float64
	w, h         int
}

func (vp Viewport) resolve(target image.Rectangle, s Slicer) mapping {
	w, h := s.Size()
	su, sv := s.PixelSpacing()
	if !(su > 0) || math.IsInf(su, 0) {
		su = 1
	}
	if !(sv > 0) || math.IsInf(sv, 0) {
		sv = 1
	}
	z := vp.Zoom
	if !(z > 0) || math.IsInf(z, 0) {
		z = 1
	}
	tw, th := float64(target.Dx()), float64(target.Dy())
	fit := 1.0
	if w > 0 && h > 0 && tw > 0 && th > 0 {
		fit = math.Min(tw/(float64(w)*su), th/(float64(h)*sv))
	}
	return mapping{
		kx: fit * z * su, ky: fit * z * sv,
		cx:    float64(target.Min.X) + tw/2 + vp.PanX,
		cy:    float64(target.Min.Y) + th/2 + vp.PanY,
		halfW: float64(w) / 2, halfH: float64(h) / 2,
		w: w, h: h,
	}
}

func (m mapping) toSlice(x, y float64) (u, v float64) {
	return m.halfW + (x-m.cx)/m.kx, m.halfH + (y-m.cy)/m.ky
}

func (m mapping) toScreen(u, v float64) (x, y float64) {
	return m.cx + (u-m.halfW)*m.kx, m.cy + (v-m.halfH)*m.ky
}

// ScreenToSlice maps screen point (x, y) of target to continuous slice
// coordinates; the pixel under it is (floor(u), floor(v)), inside the slice
// when 0 <= u < w and 0 <= v < h (Slicer.Size). For the pixel under a mouse
// position given in whole screen pixels, pass x+0.5, y+0.5.
func (vp Viewport) ScreenToSlice(target image.Rectangle, s Slicer, x, y float64) (u, v float64) {
	return vp.resolve(target, s).toSlice(x, y)
}

// SliceToScreen maps continuous slice coordinates to screen coordinates of
// target; the centre of pixel (u, v) is at SliceToScreen(u+0.5, v+0.5).
func (vp Viewport) SliceToScreen(target image.Rectangle, s Slicer, u, v float64) (x, y float64) {
	return vp.resolve(target, s).toScreen(u, v)
}

// PixelAt returns the slice pixel under screen pixel (x, y) of target and
// whether it is inside the slice.
func (vp Viewport) PixelAt(target image.Rectangle, s Slicer, x, y int) (u, v int, ok bool) {
	fu, fv := vp.ScreenToSlice(target, s, float64(x)+0.5, float64(y)+0.5)
	u, v = int(math.Floor(fu)), int(math.Floor(fv))
	w, h := s.Size()
	return u, v, fu >= 0 && fv >= 0 && u < w && v < h
}

// ScreenPixelSize returns how many screen pixels one slice pixel covers
// across and down.
func (vp Viewport) ScreenPixelSize(target image.Rectangle, s Slicer) (kx, ky float64) {
	m := vp.resolve(target, s)
	return m.kx, m.ky
}

// ZoomAbout returns the viewport zoomed by factor about screen point (x, y),
// which keeps showing the same slice point (as a mouse-wheel zoom does). The
// zoom is kept within [MinZoom, MaxZoom].
func (vp Viewport) ZoomAbout(target image.Rectangle, s Slicer, x, y, factor float64) Viewport {
	z := vp.Zoom
	if !(z > 0) || math.IsInf(z, 0) {
		z = 1
	}
	nz := math.Min(math.Max(z*factor, MinZoom), MaxZoom)
	if !(factor > 0) || math.IsNaN(nz) {
		return vp
	}
	f := nz / z
	m := vp.resolve(target, s)
	// The slice point under (x, y) is half + (x-cx)/k; with k' = k*f it stays
	// under (x, y) when cx' = x - (x-cx)*f.
	ncx := x - (x-m.cx)*f
	ncy := y - (y-m.cy)*f
	return Viewport{
		Zoom: nz,
		PanX: ncx - (float64(target.Min.X) + float64(target.Dx())/2),
		PanY: ncy - (float64(target.Min.Y) + float64(target.Dy())/2),
	}
}
