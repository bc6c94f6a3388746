package render3d

import (
	"image"
	"image/color"
	"math"
	"runtime"
	"sync"

	"github.com/polyseg/polyseg/internal/parallel"
)

// Shading is how a triangle's colour varies across it.
type Shading int

const (
	// Gouraud interpolates the light computed at the vertices from their
	// normals: smooth surfaces.
	Gouraud Shading = iota
	// Flat lights each triangle by its own normal: the facets show.
	Flat
)

// Lighting: a headlight along the view, so what faces the viewer is
// brightest and the silhouette darkest; the ambient part keeps grazing
// surfaces visible.
const (
	ambient = 0.18
	diffuse = 1 - ambient
)

// bandRows is the height of the screen bands the raster work is split
// into: small enough for a fair share per worker, large enough that a
// triangle seldom spans two.
const bandRows = 16

// Renderer draws scenes into images: z-buffered triangles lit by a
// headlight, back faces culled (meshes are closed and face outwards), then
// the quads blended over them. It keeps its buffers, and the last frame's
// depth and which triangle each pixel shows, for Pick. It is not safe for
// concurrent use; the zero value is ready.
type Renderer struct {
	Shading    Shading
	Background color.RGBA
	// Workers bounds the goroutines; 0 means GOMAXPROCS.
	Workers int

	w, h  int
	z     []float32 // nearness of the surface shown: larger is nearer; −1 none
	obj   []int32   // index+1 of the object shown, 0 none
	tri   []int32   // its triangle
	verts [][]svert // per object, this frame
	bins  [][][]binTri
	luts  [][256][3]uint8

	fwd Vec // the viewing direction, for flat shading

	// The last frame, for Pick.
	cam   Camera
	scene *Scene
}

// svert is a vertex on the screen: position, nearness (q, see frame) and
// light; q < 0 marks a vertex outside the depth range.
type svert struct{ x, y, q, i float32 }

// frame holds the per-frame constants.
type frame struct {
	pr        projector
	ortho     bool
	near, far float64
}

// nearness maps a depth along the view to q: for a perspective camera
// near/z, which is affine in screen space and so interpolates exactly;
// for an orthographic one (far−z)/(far−near). Both are larger nearer the
// eye and lie in [0, 1] inside the depth range.
func (f *frame) nearness(z float64) float32 {
	if z < f.near || z > f.far {
		return -1
	}
	if f.ortho {
		return float32((f.far - z) / (f.far - f.near))
	}
	return float32(f.near / z)
}

// depth is nearness's inverse.
func (f *frame) depth(q float64) float64 {
	if f.ortho {
		return f.far - q*(f.far-f.near)
	}
	return f.near / q
}

func (r *Renderer) workers() int {
	if r.Workers > 0 {
		return r.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// Render draws scene s as camera cam sees it into dst (its whole
// rectangle). Triangles with a vertex behind the eye's near plane are left
// out (the camera is meant to stay outside the meshes).
func (r *Renderer) Render(dst *image.RGBA, s *Scene, cam *Camera) {
	b := dst.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return
	}
	r.w, r.h, r.cam, r.scene = w, h, *cam, s
	n := w * h
	if cap(r.z) < n {
		r.z, r.obj, r.tri = make([]float32, n), make([]int32, n), make([]int32, n)
	}
	r.z, r.obj, r.tri = r.z[:n], r.obj[:n], r.tri[:n]
	f := r.frame(s, cam, w, h)
	r.fwd = f.pr.f
	workers := r.workers()

	// Vertices to the screen, lit.
	for len(r.verts) < len(s.Objects) {
		r.verts = append(r.verts, nil)
	}
	for len(r.luts) < len(s.Objects) {
		r.luts = append(r.luts, [256][3]uint8{})
	}
	for oi, o := range s.Objects {
		if !o.Visible {
			continue
		}
		r.verts[oi] = r.transform(o, &f, r.verts[oi], workers)
		c := o.Color
		for l := range 256 {
			k := float64(l) / 255
			r.luts[oi][l] = [3]uint8{uint8(float64(c.R)*k + 0.5), uint8(float64(c.G)*k + 0.5), uint8(float64(c.B)*k + 0.5)}
		}
	}

	// Triangles culled and sorted into screen bands, each worker its own
	// contiguous share (so the order, and the result, is the same every
	// time).
	bands := (h + bandRows - 1) / bandRows
	for len(r.bins) < workers {
		r.bins = append(r.bins, nil)
	}
	total := 0
	for _, o := range s.Objects {
		if o.Visible {
			total += len(o.Mesh.Triangles)
		}
	}
	var wg sync.WaitGroup
	for wk := range workers {
		if len(r.bins[wk]) < bands {
			r.bins[wk] = append(r.bins[wk], make([][]binTri, bands-len(r.bins[wk]))...)
		}
		for bi := range r.bins[wk] {
			r.bins[wk][bi] = r.bins[wk][bi][:0]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.bin(s, wk*total/workers, (wk+1)*total/workers, r.bins[wk], float32(w), float32(h))
		}()
	}
	wg.Wait()

	// Bands rasterised in parallel: clear, triangles, quads.
	quads := r.quadTriangles(s, &f)
	parallel.For(bands, workers, func(bi int) {
		y0, y1 := bi*bandRows, min((bi+1)*bandRows, h)
		r.clear(dst, y0, y1)
		for wk := range workers {
			bin := r.bins[wk][bi]
			for k := range bin {
				r.raster(dst, s, &bin[k], y0, y1)
			}
		}
		for _, q := range quads {
			r.blend(dst, q, y0, y1)
		}
	})
}

// frame sets the depth range around the scene's bounding sphere.
func (r *Renderer) frame(s *Scene, cam *Camera, w, h int) frame {
	f := frame{pr: cam.projector(w, h), ortho: cam.Ortho}
	lo, hi, ok := s.Bounds()
	if !ok {
		lo, hi = cam.Target, cam.Target
	}
	c := scale(add(lo, hi), 0.5)
	rad := norm(sub(hi, lo))/2*1.01 + 1e-3
	zc := dot(sub(c, f.pr.eye), f.pr.f)
	f.near, f.far = zc-rad, zc+rad
	if !f.ortho {
		// Inside the bounding sphere the near plane comes close to the
		// eye, but not to it: depth precision would go.
		f.near = max(f.near, 1e-3*f.far, 1e-2)
	}
	return f
}

func (r *Renderer) transform(o *Object, f *frame, out []svert, workers int) []svert {
	vs := o.Mesh.Vertices
	if cap(out) < len(vs) {
		out = make([]svert, len(vs))
	}
	out = out[:len(vs)]
	// The camera's axes and the eye's offsets along them, in float32:
	// a vertex costs three dot products and the light one more.
	pr := &f.pr
	var m [3][4]float32
	for a, ax := range [3]Vec{pr.r, pr.u, pr.f} {
		m[a] = [4]float32{float32(ax[0]), float32(ax[1]), float32(ax[2]), float32(-dot(ax, pr.eye))}
	}
	s, cx, cy := float32(pr.s), float32(pr.cx), float32(pr.cy)
	const chunk = 8192
	parallel.For((len(vs)+chunk-1)/chunk, workers, func(c int) {
		for v := c * chunk; v < min(len(vs), (c+1)*chunk); v++ {
			p := vs[v]
			xc := m[0][0]*p[0] + m[0][1]*p[1] + m[0][2]*p[2] + m[0][3]
			yc := m[1][0]*p[0] + m[1][1]*p[1] + m[1][2]*p[2] + m[1][3]
			z := m[2][0]*p[0] + m[2][1]*p[1] + m[2][2]*p[2] + m[2][3]
			q := f.nearness(float64(z))
			var x, y float32
			if f.ortho {
				x, y = cx+xc*s, cy-yc*s
			} else {
				x, y = cx+xc/z*s, cy-yc/z*s
			}
			// The headlight shines along the view: what faces the eye
			// is brightest.
			nr := o.normals[v]
			li := ambient + diffuse*max(0, -(nr[0]*m[2][0]+nr[1]*m[2][1]+nr[2]*m[2][2]))
			out[v] = svert{x, y, q, li}
		}
	})
	return out
}

// span3 returns the least and the largest of three numbers that are not
// NaN (the builtin min and max, which must order NaNs and signed zeros,
// cost a third of the triangle set-up).
func span3(a, b, c float32) (lo, hi float32) {
	lo, hi = a, a
	if b < lo {
		lo = b
	} else {
		hi = b
	}
	if c < lo {
		lo = c
	}
	if c > hi {
		hi = c
	}
	return lo, hi
}

// ceil and floor of float32 without the trip through float64; int
// conversion truncates towards zero, which is the ceiling of a negative
// number and the floor of a positive one.
func ceil32(v float32) int {
	i := int(v)
	if v > float32(i) {
		i++
	}
	return i
}

func floor32(v float32) int {
	i := int(v)
	if v < float32(i) {
		i--
	}
	return i
}

// bin culls the triangles [from, to) (counted through the visible
// objects) and adds each to the bands its pixels lie in.
func (r *Renderer) bin(s *Scene, from, to int, bins [][]binTri, w, h float32) {
	base := 0
	for oi, o := range s.Objects {
		if !o.Visible {
			continue
		}
		nt := len(o.Mesh.Triangles)
		lo, hi := max(from-base, 0), min(to-base, nt)
		base += nt
		if lo >= hi {
			continue
		}
		sv := r.verts[oi]
		tris := o.Mesh.Triangles
		for t := lo; t < hi; t++ {
			tr := tris[t]
			a, b, c := sv[tr[0]], sv[tr[1]], sv[tr[2]]
			if a.q < 0 || b.q < 0 || c.q < 0 {
				continue
			}
			// y grows downwards, so a triangle that faces the eye
			// (counter-clockwise seen from outside) has negative area.
			if (b.x-a.x)*(c.y-a.y)-(b.y-a.y)*(c.x-a.x) >= 0 {
				continue
			}
			x0, x1 := span3(a.x, b.x, c.x)
			y0, y1 := span3(a.y, b.y, c.y)
			// Pixel centres at i + 0.5 inside the box, on the screen.
			if x1 < 0.5 || y1 < 0.5 || x0 > w-0.5 || y0 > h-0.5 {
				continue
			}
			py0 := max(ceil32(y0-0.5), 0)
			py1 := min(floor32(y1-0.5), int(h)-1)
			px0 := max(ceil32(x0-0.5), 0)
			px1 := min(floor32(x1-0.5), int(w)-1)
			if py0 > py1 || px0 > px1 {
				continue
			}
			// The screen vertices travel with the triangle, reversed so
			// that its area is positive: the raster stage then reads
			// its bands' lists in order instead of vertices at random.
			bt := binTri{v: [3]svert{a, c, b}, obj: int32(oi), tri: int32(t)}
			for bi := py0 / bandRows; bi <= py1/bandRows; bi++ {
				bins[bi] = append(bins[bi], bt)
			}
		}
	}
}

func (r *Renderer) clear(dst *image.RGBA, y0, y1 int) {
	bg := r.Background
	for y := y0; y < y1; y++ {
		row := dst.Pix[dst.PixOffset(dst.Rect.Min.X, dst.Rect.Min.Y+y):][:4*r.w]
		for x := 0; x < len(row); x += 4 {
			row[x], row[x+1], row[x+2], row[x+3] = bg.R, bg.G, bg.B, bg.A
		}
		zs := r.z[y*r.w:][:r.w]
		for x := range zs {
			zs[x] = -1
		}
		clear(r.obj[y*r.w:][:r.w])
	}
}

// binTri is a front-facing triangle on the screen, its vertices ordered
// so that its area is positive with y downwards.
type binTri struct {
	v        [3]svert
	obj, tri int32
}

// raster draws a binned triangle on the rows [y0, y1).
func (r *Renderer) raster(dst *image.RGBA, s *Scene, bt *binTri, y0, y1 int) {
	a, b, c := bt.v[0], bt.v[1], bt.v[2]
	oi, t := int(bt.obj), int(bt.tri)
	area := (b.x-a.x)*(c.y-a.y) - (b.y-a.y)*(c.x-a.x)
	if !(area > 0) {
		return
	}
	ia, ib, ic := a.i, b.i, c.i
	if r.Shading == Flat {
		// The face's own normal, lit along the view.
		n := s.Objects[oi].fnormals[t]
		f := &r.fwd
		li := float32(ambient + diffuse*max(0, -(float64(n[0])*f[0]+float64(n[1])*f[1]+float64(n[2])*f[2])))
		ia, ib, ic = li, li, li
	}
	ylo, yhi := span3(a.y, b.y, c.y)
	xlo, xhi := span3(a.x, b.x, c.x)
	py0 := max(ceil32(ylo-0.5), y0)
	py1 := min(floor32(yhi-0.5), y1-1)
	px0 := max(ceil32(xlo-0.5), 0)
	px1 := min(floor32(xhi-0.5), r.w-1)
	if py0 > py1 || px0 > px1 {
		return
	}
	inv := 1 / area
	// Edge functions: w0 for the edge b→c (a's weight), w1 c→a, w2 a→b.
	// Each is affine in the pixel centre; step them along x.
	e := func(u, v svert, x, y float32) float32 { return (v.x-u.x)*(y-u.y) - (v.y-u.y)*(x-u.x) }
	dx0, dx1, dx2 := -(c.y - b.y), -(a.y - c.y), -(b.y - a.y)
	lut := &r.luts[oi]
	id := int32(oi + 1)
	for y := py0; y <= py1; y++ {
		cx, cy := float32(px0)+0.5, float32(y)+0.5
		w0, w1, w2 := e(b, c, cx, cy), e(c, a, cx, cy), e(a, b, cx, cy)
		row := y * r.w
		pix := dst.PixOffset(dst.Rect.Min.X, dst.Rect.Min.Y+y)
		for x := px0; x <= px1; x++ {
			if w0 >= 0 && w1 >= 0 && w2 >= 0 {
				q := (w0*a.q + w1*b.q + w2*c.q) * inv
				k := row + x
				if q > r.z[k] {
					r.z[k] = q
					r.obj[k], r.tri[k] = id, int32(t)
					// Weights are non-negative and sum to one, so the
					// light stays within the vertices' [ambient, 1].
					li := (w0*ia + w1*ib + w2*ic) * inv
					col := lut[uint8(li*255+0.5)]
					p := dst.Pix[pix+4*x:][:4]
					p[0], p[1], p[2], p[3] = col[0], col[1], col[2], 255
				}
			}
			w0 += dx0
			w1 += dx1
			w2 += dx2
		}
	}
}

// screenTri is a quad's triangle on the screen, two-sided.
type screenTri struct {
	v   [3]svert
	col color.NRGBA
}

// quadTriangles clips the quads to the near plane and returns their
// triangles on the screen.
func (r *Renderer) quadTriangles(s *Scene, f *frame) []screenTri {
	var out []screenTri
	for _, q := range s.Quads {
		if q.Color.A == 0 {
			continue
		}
		// Sutherland–Hodgman against the near plane (and the far one),
		// in depth along the view.
		poly := q.Corners[:]
		for _, keep := range []func(z float64) float64{
			func(z float64) float64 { return z - f.near },
			func(z float64) float64 { return f.far - z },
		} {
			var clipped []Vec
			for n := range poly {
				p, nx := poly[n], poly[(n+1)%len(poly)]
				dp := keep(dot(sub(p, f.pr.eye), f.pr.f))
				dn := keep(dot(sub(nx, f.pr.eye), f.pr.f))
				if dp >= 0 {
					clipped = append(clipped, p)
				}
				if (dp >= 0) != (dn >= 0) {
					t := dp / (dp - dn)
					clipped = append(clipped, add(p, scale(sub(nx, p), t)))
				}
			}
			poly = clipped
		}
		if len(poly) < 3 {
			continue
		}
		sv := make([]svert, len(poly))
		for n, p := range poly {
			x, y, z := f.pr.project(p)
			sv[n] = svert{float32(x), float32(y), max(f.nearness(z), 0), 1}
		}
		for n := 1; n+1 < len(sv); n++ {
			out = append(out, screenTri{v: [3]svert{sv[0], sv[n], sv[n+1]}, col: q.Color})
		}
	}
	return out
}

// blend draws a quad's triangle over what is nearer than it, without
// hiding anything.
func (r *Renderer) blend(dst *image.RGBA, st screenTri, y0, y1 int) {
	a, b, c := st.v[0], st.v[1], st.v[2]
	area := (b.x-a.x)*(c.y-a.y) - (b.y-a.y)*(c.x-a.x)
	if area < 0 {
		b, c = c, b
		area = -area
	}
	if !(area > 0) {
		return
	}
	py0 := max(int(math.Ceil(float64(min(a.y, b.y, c.y)-0.5))), y0)
	py1 := min(int(math.Floor(float64(max(a.y, b.y, c.y)-0.5))), y1-1)
	px0 := max(int(math.Ceil(float64(min(a.x, b.x, c.x)-0.5))), 0)
	px1 := min(int(math.Floor(float64(max(a.x, b.x, c.x)-0.5))), r.w-1)
	inv := 1 / area
	e := func(u, v svert, x, y float32) float32 { return (v.x-u.x)*(y-u.y) - (v.y-u.y)*(x-u.x) }
	al := uint32(st.col.A)
	cr, cg, cb := uint32(st.col.R)*al, uint32(st.col.G)*al, uint32(st.col.B)*al
	for y := py0; y <= py1; y++ {
		pix := dst.PixOffset(dst.Rect.Min.X, dst.Rect.Min.Y+y)
		for x := px0; x <= px1; x++ {
			px, py := float32(x)+0.5, float32(y)+0.5
			w0, w1, w2 := e(b, c, px, py), e(c, a, px, py), e(a, b, px, py)
			if w0 < 0 || w1 < 0 || w2 < 0 {
				continue
			}
			q := (w0*a.q + w1*b.q + w2*c.q) * inv
			if q < r.z[y*r.w+x] {
				continue // behind a surface
			}
			p := dst.Pix[pix+4*x:][:4]
			p[0] = uint8((uint32(p[0])*(255-al) + cr + 127) / 255)
			p[1] = uint8((uint32(p[1])*(255-al) + cg + 127) / 255)
			p[2] = uint8((uint32(p[2])*(255-al) + cb + 127) / 255)
			p[3] = uint8((uint32(p[3])*(255-al) + 255*al + 127) / 255)
		}
	}
}

// Hit is a point on a surface under the mouse.
type Hit struct {
	// Object indexes Scene.Objects; Triangle the object's mesh.
	Object, Triangle int
	// Point is on the triangle, in world coordinates (mm).
	Point Vec
}

// Pick returns the surface point shown at pixel (x, y) of the last frame
// rendered: the ray through the pixel's centre meets the plane of the
// triangle drawn there. ok is false where no surface is shown. The scene
// must not have changed since that frame.
func (r *Renderer) Pick(x, y int) (Hit, bool) {
	if r.scene == nil || x < 0 || y < 0 || x >= r.w || y >= r.h {
		return Hit{}, false
	}
	k := y*r.w + x
	id := r.obj[k]
	if id == 0 {
		return Hit{}, false
	}
	oi, t := int(id-1), int(r.tri[k])
	m := r.scene.Objects[oi].Mesh
	tr := m.Triangles[t]
	p0, p1, p2 := vec(m.Vertices[tr[0]]), vec(m.Vertices[tr[1]]), vec(m.Vertices[tr[2]])
	o, d := r.cam.Ray(float64(x)+0.5, float64(y)+0.5, r.w, r.h)
	n := cross(sub(p1, p0), sub(p2, p0))
	den := dot(n, d)
	if den == 0 {
		return Hit{Object: oi, Triangle: t, Point: scale(add(p0, add(p1, p2)), 1.0/3)}, true
	}
	s := dot(n, sub(p0, o)) / den
	return Hit{Object: oi, Triangle: t, Point: add(o, scale(d, s))}, true
}

// Raycast returns the nearest visible surface point along the ray from
// origin in direction dir, by trying every triangle (Möller and Trumbore):
// exact, independent of any frame, and slower than Pick.
func (s *Scene) Raycast(origin, dir Vec) (Hit, bool) {
	best, found := math.Inf(1), false
	var hit Hit
	for oi, o := range s.Objects {
		if !o.Visible {
			continue
		}
		m := o.Mesh
		for t, tr := range m.Triangles {
			p0, p1, p2 := vec(m.Vertices[tr[0]]), vec(m.Vertices[tr[1]]), vec(m.Vertices[tr[2]])
			e1, e2 := sub(p1, p0), sub(p2, p0)
			pv := cross(dir, e2)
			det := dot(e1, pv)
			if math.Abs(det) < 1e-15 {
				continue
			}
			inv := 1 / det
			tv := sub(origin, p0)
			u := dot(tv, pv) * inv
			if u < 0 || u > 1 {
				continue
			}
			qv := cross(tv, e1)
			v := dot(dir, qv) * inv
			if v < 0 || u+v > 1 {
				continue
			}
			d := dot(e2, qv) * inv
			if d > 0 && d < best {
				best, found = d, true
				hit = Hit{Object: oi, Triangle: t, Point: add(origin, scale(dir, d))}
			}
		}
	}
	return hit, found
}
