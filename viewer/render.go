package viewer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"math"
	"runtime"
	"sync"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/volume"
)

// GridTolerance is how far (mm, per affine entry) a label volume's grid may
// differ from the scan's for the overlay to be drawn on it. Label volumes on
// another grid must be resampled first (package volume); drawing them voxel
// for voxel would misplace them, for example mirror an LAS label volume over
// an LPS scan of the same dimensions.
const GridTolerance = 0.01

// Overlay is a label volume drawn over a scan. Labels must be on the scan's
// grid. The zero Overlay (or a nil *Overlay) draws nothing.
type Overlay struct {
	Labels *volume.Labels
	// Table gives each value's colour; nil gives every value its
	// assets.FallbackColor.
	Table *assets.ColorTable
	// Opacity in [0, 1] multiplies each label colour's own alpha; values
	// outside are clamped.
	Opacity float64
	// Outline draws only boundary pixels: labelled pixels with a 4-neighbour
	// (on screen) of another value, or at the edge of the slice.
	Outline bool
	// Hidden values are not drawn; they still bound their neighbours'
	// outlines.
	Hidden map[uint16]bool
}

// Render draws slice number slice of vol, as s shows it, into dst, one
// pixel per voxel: dst's bounds must have the size s.Size(). Grey levels
// come from window w; the overlay, if any, is alpha-blended on top. s must
// have been built for vol's grid.
func Render(dst *image.RGBA, vol *volume.Volume, s Slicer, slice int, w Window, ov *Overlay) error {
	sw, sh := s.Size()
	if dst == nil || dst.Rect.Dx() != sw || dst.Rect.Dy() != sh {
		return fmt.Errorf("render %s slice %d: destination must be %d×%d", s.plane, slice, sw, sh)
	}
	return render(dst, vol, s, slice, w, ov, nativeCells(sw), nativeCells(sh))
}

// nativeCells returns the slice column (or row) under each of n screen
// columns at one pixel per voxel, with the margins described at job.
func nativeCells(n int) []int {
	c := make([]int, n+2)
	c[0], c[n+1] = -1, -1
	for i := 1; i <= n; i++ {
		c[i] = i - 1
	}
	return c
}

// RenderViewport draws slice number slice of vol into all of dst, placed by
// vp: nearest-neighbour sampling, the physical aspect ratio kept, black
// outside the slice. Outlines are one screen pixel wide at any zoom.
func RenderViewport(dst *image.RGBA, vol *volume.Volume, s Slicer, slice int, w Window, ov *Overlay, vp Viewport) error {
	if dst == nil {
		return fmt.Errorf("render %s slice %d: nil destination", s.plane, slice)
	}
	return renderRect(dst, vol, s, slice, w, ov, vp, dst.Rect)
}

// RenderViewportRect draws only the pixels of dst inside r, exactly as
// RenderViewport draws them, and leaves the others alone: a view that
// knows which voxels changed (a paint stroke) redraws only the part of
// the screen that shows them.
func RenderViewportRect(dst *image.RGBA, vol *volume.Volume, s Slicer, slice int, w Window, ov *Overlay, vp Viewport, r image.Rectangle) error {
	if dst == nil {
		return fmt.Errorf("render %s slice %d: nil destination", s.plane, slice)
	}
	return renderRect(dst, vol, s, slice, w, ov, vp, r.Intersect(dst.Rect))
}

// renderRect draws the pixels of dst inside r (within dst.Rect), with the
// slice placed by vp in all of dst.
func renderRect(dst *image.RGBA, vol *volume.Volume, s Slicer, slice int, w Window, ov *Overlay, vp Viewport, r image.Rectangle) error {
	m := vp.resolve(dst.Rect, s)
	// Screen column x is cols[x+1-r.Min.X]; the margins sample just
	// outside r so that outlines do not follow its edges, and match what
	// a whole render draws there.
	cols := make([]int, r.Dx()+2)
	for x := range cols {
		u, _ := m.toSlice(float64(r.Min.X+x-1)+0.5, 0)
		cols[x] = cellIndex(u, m.w)
	}
	rows := make([]int, r.Dy()+2)
	for y := range rows {
		_, v := m.toSlice(0, float64(r.Min.Y+y-1)+0.5)
		rows[y] = cellIndex(v, m.h)
	}
	if r.Empty() {
		if err := check(vol, s, slice, ov); err != nil {
			return fmt.Errorf("render %s slice %d: %w", s.plane, slice, err)
		}
		return nil
	}
	return render(dst.SubImage(r).(*image.RGBA), vol, s, slice, w, ov, cols, rows)
}

// cellIndex returns floor(c) if it is in [0, n), else -1.
func cellIndex(c float64, n int) int {
	if !(c >= 0) || c >= float64(n) {
		return -1
	}
	return int(c)
}

// HUAt returns the value of vol at display position (slice, u, v) of s and
// whether the position is inside the volume; false also when s was built
// for another grid.
func HUAt(vol *volume.Volume, s Slicer, slice, u, v int) (float32, bool) {
	if vol == nil || !s.Contains(slice, u, v) || !s.grid.Equal(vol.Grid, GridTolerance) || len(vol.Data) != vol.Len() {
		return 0, false
	}
	return vol.Data[s.Index(slice, u, v)], true
}

// LabelAt returns the label at display position (slice, u, v) of s and
// whether the position is inside the label volume; false also when s was
// built for another grid.
func LabelAt(l *volume.Labels, s Slicer, slice, u, v int) (uint16, bool) {
	if l == nil || !s.Contains(slice, u, v) || !s.grid.Equal(l.Grid, GridTolerance) || len(l.Data) != l.Len() {
		return 0, false
	}
	return l.Data[s.Index(slice, u, v)], true
}

// paint is how one label value is blended: out = (grey*inv + pre + 128) >> 8
// per channel, in 8-bit fixed point. inv == 256 means not drawn.
type paint struct {
	pre [3]uint32
	inv uint32
}

// palette precomputes paints for the values up to the table's largest (at
// least 255, at most maxFastPalette-1); rarer larger values are computed when
// met (drawRows).
const maxFastPalette = 4096

type palette struct {
	fast    []paint
	table   *assets.ColorTable
	opacity float64
	hidden  map[uint16]bool
}

func newPalette(ov *Overlay) *palette {
	op := ov.Opacity
	if !(op > 0) {
		op = 0
	}
	if op > 1 {
		op = 1
	}
	// Cover the table's values, within bounds: a table listing 65535 would
	// otherwise cost a megabyte of paints per frame.
	n := 256
	if ls := ov.Table.Labels(); len(ls) > 0 {
		n = min(max(n, int(ls[len(ls)-1].Value)+1), maxFastPalette)
	}
	p := &palette{fast: make([]paint, n), table: ov.Table, opacity: op, hidden: ov.Hidden}
	for v := range p.fast {
		p.fast[v] = p.compute(uint16(v))
	}
	return p
}

func (p *palette) compute(v uint16) paint {
	if v == 0 || p.hidden[v] {
		return paint{inv: 256}
	}
	c := p.table.Color(v)
	a := uint32(math.Round(p.opacity * float64(c.A) / 255 * 256))
	return paint{pre: [3]uint32{uint32(c.R) * a, uint32(c.G) * a, uint32(c.B) * a}, inv: 256 - a}
}

// job is one rendering, shared read-only by the goroutines that draw its
// rows.
type job struct {
	dst     *image.RGBA
	data    []float32
	labels  []uint16 // nil: no overlay
	ramp    ramp
	pal     *palette
	outline bool
	// cols[x+1] is the slice column under screen column x, -1 outside the
	// slice, for x from -1 to the target's width: one column of margin on
	// each side, which outlines look at. rows likewise.
	cols   []int
	rows   []int
	colOff []int // data index step of each entry of cols: cols[x]*du
	rowOff []int // data index of each entry of rows' column 0: origin + rows[y]*dv
}

var errNoVolume = errors.New("no volume")

func render(dst *image.RGBA, vol *volume.Volume, s Slicer, slice int, w Window, ov *Overlay, cols, rows []int) error {
	if err := check(vol, s, slice, ov); err != nil {
		return fmt.Errorf("render %s slice %d: %w", s.plane, slice, err)
	}
	origin, du, dv := s.Steps(slice)
	j := &job{dst: dst, data: vol.Data, ramp: w.ramp(), cols: cols, rows: rows,
		colOff: make([]int, len(cols)), rowOff: make([]int, len(rows))}
	for x, u := range cols {
		j.colOff[x] = u * du
	}
	for y, v := range rows {
		j.rowOff[y] = origin + v*dv
	}
	if ov != nil && ov.Labels != nil {
		j.labels = ov.Labels.Data
		j.pal = newPalette(ov)
		j.outline = ov.Outline
	}
	// Rows are independent; split them over the processors when the image
	// is large enough for goroutines to pay off.
	height := len(rows) - 2
	workers := runtime.GOMAXPROCS(0)
	if n := height * len(cols) / (128 * 128); n < workers {
		workers = n
	}
	if workers <= 1 {
		j.drawRows(0, height)
		return nil
	}
	var wg sync.WaitGroup
	per := (height + workers - 1) / workers
	for y0 := 0; y0 < height; y0 += per {
		y1 := min(y0+per, height)
		wg.Add(1)
		go func() {
			defer wg.Done()
			j.drawRows(y0, y1)
		}()
	}
	wg.Wait()
	return nil
}

func check(vol *volume.Volume, s Slicer, slice int, ov *Overlay) error {
	if vol == nil {
		return errNoVolume
	}
	if len(vol.Data) != vol.Len() {
		return fmt.Errorf("volume has %d values for %d voxels", len(vol.Data), vol.Len())
	}
	if !s.grid.Equal(vol.Grid, GridTolerance) {
		return fmt.Errorf("slicer built for another grid (%v %s) than the volume's (%v %s)",
			s.grid.Dims, s.grid.Affine.AxisCodes(), vol.Dims, vol.Affine.AxisCodes())
	}
	if slice < 0 || slice >= s.NumSlices() {
		return fmt.Errorf("slice out of range [0, %d)", s.NumSlices())
	}
	if ov == nil || ov.Labels == nil {
		return nil
	}
	if len(ov.Labels.Data) != ov.Labels.Len() {
		return fmt.Errorf("label volume has %d values for %d voxels", len(ov.Labels.Data), ov.Labels.Len())
	}
	if !ov.Labels.Grid.Equal(vol.Grid, GridTolerance) {
		return fmt.Errorf("label volume (%v, %s) is not on the scan's grid (%v, %s): resample it first",
			ov.Labels.Dims, ov.Labels.Affine.AxisCodes(), vol.Dims, vol.Affine.AxisCodes())
	}
	return nil
}

// drawRows draws screen rows [y0, y1).
func (j *job) drawRows(y0, y1 int) {
	d := j.dst
	width := len(j.cols) - 2
	cols := j.cols[1 : width+1]
	// The mapping is monotonic, so the columns inside the slice are one
	// run [x0, x1); the loop over it needs no per-pixel test.
	x0, x1 := 0, width
	for x0 < width && cols[x0] < 0 {
		x0++
	}
	for x1 > x0 && cols[x1-1] < 0 {
		x1--
	}
	const black = 0xff000000 // opaque black as a little-endian RGBA word
	data, labels, rmp := j.data, j.labels, j.ramp
	var fast []paint
	if j.pal != nil {
		fast = j.pal.fast
	}
	// Label values beyond the palette's table are rare; each goroutine
	// caches their paints for itself.
	var rare map[uint16]paint
	// For outlines, the labels under screen rows y-1, y and y+1 (index
	// x+1 for column x, with the margins), rolled down row by row.
	outline := j.outline && labels != nil
	var up, cur, down []uint16
	if outline {
		up, cur, down = make([]uint16, width+2), make([]uint16, width+2), make([]uint16, width+2)
		j.gather(up, y0-1)
		j.gather(cur, y0)
	}
	var prev []byte
	for y := y0; y < y1; y++ {
		if outline {
			j.gather(down, y+1)
		}
		o := d.PixOffset(d.Rect.Min.X, d.Rect.Min.Y+y)
		p := d.Pix[o : o+4*width : o+4*width]
		if prev != nil && j.sameAsAbove(y) {
			// Zoomed in, several screen rows show one slice row.
			copy(p, prev)
		} else {
			j.drawRow(p, y, x0, x1, black, data, labels, rmp, fast, &rare, up, cur, down)
		}
		prev = p
		if outline {
			up, cur, down = cur, down, up
		}
	}
}

// sameAsAbove reports whether screen row y (y > 0) looks exactly like row
// y-1: it shows the same slice row and, for outlines, so do its neighbours.
func (j *job) sameAsAbove(y int) bool {
	r := j.rows // r[y+1] is screen row y
	if r[y] != r[y+1] {
		return false
	}
	if j.outline && j.labels != nil {
		return r[y-1] == r[y] && r[y+2] == r[y+1]
	}
	return true
}

// drawRow draws screen row y into p.
func (j *job) drawRow(p []byte, y, x0, x1 int, black uint32, data []float32, labels []uint16, rmp ramp,
	fast []paint, rare *map[uint16]paint, up, cur, down []uint16) {
	width := len(p) / 4
	if j.rows[y+1] < 0 || x0 == x1 {
		for x := 0; x < width; x++ {
			binary.LittleEndian.PutUint32(p[4*x:], black)
		}
		return
	}
	for x := 0; x < x0; x++ {
		binary.LittleEndian.PutUint32(p[4*x:], black)
	}
	for x := x1; x < width; x++ {
		binary.LittleEndian.PutUint32(p[4*x:], black)
	}
	rb := j.rowOff[y+1]
	offs := j.colOff[1 : width+1]
	outline := j.outline && labels != nil
	for x := x0; x < x1; x++ {
		idx := rb + offs[x]
		g := uint32(rmp.gray(data[idx]))
		c := black | g*0x010101
		if labels != nil {
			if l := labels[idx]; l != 0 {
				var pt paint
				if int(l) < len(fast) {
					pt = fast[l]
				} else {
					var ok bool
					if pt, ok = (*rare)[l]; !ok {
						if *rare == nil {
							*rare = make(map[uint16]paint)
						}
						pt = j.pal.compute(l)
						(*rare)[l] = pt
					}
				}
				if pt.inv < 256 && (!outline || cur[x] != l || cur[x+2] != l || up[x+1] != l || down[x+1] != l) {
					c = black |
						(g*pt.inv+pt.pre[0]+128)>>8 |
						(g*pt.inv+pt.pre[1]+128)>>8<<8 |
						(g*pt.inv+pt.pre[2]+128)>>8<<16
				}
			}
		}
		binary.LittleEndian.PutUint32(p[4*x:], c)
	}
}

// gather fills buf[x+1] with the label under screen pixel (x, y), for x
// from -1 to the target's width; y may be -1 or the target's height (the
// margins). Outside the slice the label is 0.
func (j *job) gather(buf []uint16, y int) {
	if j.rows[y+1] < 0 {
		clear(buf)
		return
	}
	rb := j.rowOff[y+1]
	for x, u := range j.cols {
		if u < 0 {
			buf[x] = 0
		} else {
			buf[x] = j.labels[rb+j.colOff[x]]
		}
	}
}
