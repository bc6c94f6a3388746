package viewer

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/polyseg/polyseg/volume"
)

// CrosshairGap is how many screen pixels either side of the crosshair's
// point its lines leave out, so that the voxel under it stays visible.
const CrosshairGap = 6

// DrawCrosshair blends a horizontal and a vertical line of colour c
// (its alpha the blend's) into dst through the centre of the voxel at
// display position (u, v) of s's slices, as vp places the slice in dst's
// bounds, leaving CrosshairGap pixels around the point itself. Only
// pixels inside clip are drawn (a frame redrawn in part); lines whose
// point lies outside dst are drawn where they cross it.
func DrawCrosshair(dst *image.RGBA, s Slicer, vp Viewport, u, v int, c color.NRGBA, clip image.Rectangle) {
	x, y := vp.SliceToScreen(dst.Bounds(), s, float64(u)+0.5, float64(v)+0.5)
	crosshairAt(dst, int(math.Floor(x)), int(math.Floor(y)), c, clip)
}

// crosshairAt draws the crosshair through screen pixel (x, y).
func crosshairAt(dst *image.RGBA, x, y int, c color.NRGBA, clip image.Rectangle) {
	b := dst.Bounds().Intersect(clip)
	a := uint32(c.A)
	blend := func(px, py int) {
		o := dst.PixOffset(px, py)
		p := dst.Pix[o : o+3 : o+3]
		p[0] = uint8((uint32(p[0])*(255-a) + uint32(c.R)*a) / 255)
		p[1] = uint8((uint32(p[1])*(255-a) + uint32(c.G)*a) / 255)
		p[2] = uint8((uint32(p[2])*(255-a) + uint32(c.B)*a) / 255)
	}
	if y >= b.Min.Y && y < b.Max.Y {
		for px := b.Min.X; px < b.Max.X; px++ {
			if px < x-CrosshairGap || px > x+CrosshairGap {
				blend(px, y)
			}
		}
	}
	if x >= b.Min.X && x < b.Max.X {
		for py := b.Min.Y; py < b.Max.Y; py++ {
			if py < y-CrosshairGap || py > y+CrosshairGap {
				blend(x, py)
			}
		}
	}
}

// DrawOutline draws in colour c, opaque and one screen pixel wide, the
// boundary of the non-zero voxels of l on slice number slice of s as vp
// places it in dst's bounds: the screen pixels showing such a voxel with a
// 4-neighbour (on screen) that does not, or at the edge of dst. It marks
// a mask (a model's preview) apart from the label overlay under it, at any
// zoom. l must lie on s's grid.
func DrawOutline(dst *image.RGBA, l *volume.Labels, s Slicer, slice int, vp Viewport, c color.NRGBA) error {
	if l == nil || !l.Grid.Equal(s.Grid(), GridTolerance) || len(l.Data) != s.Grid().Len() {
		return fmt.Errorf("outline %s slice %d: labels not on the slicer's grid", s.plane, slice+1)
	}
	return drawOutline(dst, dataLabels(l.Data), s, slice, vp, c)
}

// DrawOutlineAt is DrawOutline for labels on grid g read voxel by voxel
// (at: the value at a data index), such as a preview that holds only the
// slices it proposes something on.
func DrawOutlineAt(dst *image.RGBA, g volume.Grid, at func(i int) uint16, s Slicer, slice int, vp Viewport, c color.NRGBA) error {
	if at == nil || !g.Equal(s.Grid(), GridTolerance) {
		return fmt.Errorf("outline %s slice %d: labels not on the slicer's grid", s.plane, slice+1)
	}
	return drawOutline(dst, funcLabels(at), s, slice, vp, c)
}

// voxelLabels reads a label value by data index. drawOutline is generic
// over it, rather than taking a func, so that DrawOutline's reads of a
// slice stay plain loads (a func call per pixel made BenchmarkDrawOutline,
// an 800×800 view, nearly twice as slow).
type voxelLabels interface{ at(i int) uint16 }

type dataLabels []uint16

func (d dataLabels) at(i int) uint16 { return d[i] }

type funcLabels func(i int) uint16

func (f funcLabels) at(i int) uint16 { return f(i) }

func drawOutline[L voxelLabels](dst *image.RGBA, l L, s Slicer, slice int, vp Viewport, c color.NRGBA) error {
	if slice < 0 || slice >= s.NumSlices() {
		return fmt.Errorf("outline %s slice %d: outside 1..%d", s.plane, slice+1, s.NumSlices())
	}
	// Most slices of a slice's preview are empty: look before sampling the
	// whole screen.
	origin, du, dv := s.Steps(slice)
	w, h := s.Size()
	found := false
	for y := 0; y < h && !found; y++ {
		for x := 0; x < w; x++ {
			if l.at(origin+x*du+y*dv) != 0 {
				found = true
				break
			}
		}
	}
	if !found {
		return nil
	}
	b := dst.Bounds()
	sw, sh := b.Dx(), b.Dy()
	// The viewport scales and shifts each axis on its own, so the slice
	// column of a screen column (and row of a row) is computed once.
	cols, rows := make([]int, sw), make([]int, sh)
	for x := range sw {
		fu, _ := vp.ScreenToSlice(b, s, float64(b.Min.X+x)+0.5, 0.5)
		cols[x] = -1
		if u := int(math.Floor(fu)); fu >= 0 && u < w {
			cols[x] = u
		}
	}
	for y := range sh {
		_, fv := vp.ScreenToSlice(b, s, 0.5, float64(b.Min.Y+y)+0.5)
		rows[y] = -1
		if v := int(math.Floor(fv)); fv >= 0 && v < h {
			rows[y] = v
		}
	}
	in := make([]bool, sw*sh)
	for y, v := range rows {
		if v < 0 {
			continue
		}
		row := origin + v*dv // steps may be negative: rows[y] holds v itself
		for x, u := range cols {
			if u >= 0 && l.at(row+u*du) != 0 {
				in[y*sw+x] = true
			}
		}
	}
	for y := range sh {
		for x := range sw {
			if !in[y*sw+x] {
				continue
			}
			if x > 0 && x < sw-1 && y > 0 && y < sh-1 &&
				in[y*sw+x-1] && in[y*sw+x+1] && in[(y-1)*sw+x] && in[(y+1)*sw+x] {
				continue
			}
			o := dst.PixOffset(b.Min.X+x, b.Min.Y+y)
			dst.Pix[o], dst.Pix[o+1], dst.Pix[o+2], dst.Pix[o+3] = c.R, c.G, c.B, 255
		}
	}
	return nil
}
