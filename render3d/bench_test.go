package render3d

import (
	"context"
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/polyseg/polyseg/mesh"
	"github.com/polyseg/polyseg/volume"
)

// benchScene makes organ-like surfaces: three lumpy blobs (balls whose
// radius ripples with direction) on a grid of n³ voxels of 1 mm, meshed
// by marching cubes and smoothed as the app does. n = 60 gives about
// 13 000 triangles; n = 370 about 500 000.
func benchScene(tb testing.TB, n int) *Scene {
	tb.Helper()
	g := volume.Grid{Dims: [3]int{n, n, n}, Affine: volume.Affine{{1, 0, 0, -float64(n) / 2}, {0, 1, 0, -float64(n) / 2}, {0, 0, 1, -float64(n) / 2}, {0, 0, 0, 1}}}
	l := volume.NewLabels(g)
	type blob struct {
		c     Vec
		r     float64
		label uint16
	}
	f := float64(n)
	blobs := []blob{{Vec{0.3 * f, 0.35 * f, 0.5 * f}, 0.22 * f, 5}, {Vec{0.72 * f, 0.4 * f, 0.45 * f}, 0.16 * f, 1}, {Vec{0.5 * f, 0.72 * f, 0.55 * f}, 0.14 * f, 2}}
	for _, b := range blobs {
		// Only the box the largest ripple reaches.
		lo, hi := int(b.c[0]-1.2*b.r), int(b.c[0]+1.2*b.r)+1
		for k := max(int(b.c[2]-1.2*b.r), 0); k <= min(int(b.c[2]+1.2*b.r)+1, n-1); k++ {
			for j := max(int(b.c[1]-1.2*b.r), 0); j <= min(int(b.c[1]+1.2*b.r)+1, n-1); j++ {
				for i := max(lo, 0); i <= min(hi, n-1); i++ {
					d := sub(Vec{float64(i), float64(j), float64(k)}, b.c)
					r := norm(d)
					if r > 1.2*b.r {
						continue
					}
					if r == 0 {
						l.Data[l.Index(i, j, k)] = b.label
						continue
					}
					// Ripples of a few directions' worth, as lobes.
					ripple := 1 + 0.12*math.Sin(3*d[0]/r+1)*math.Cos(2*d[1]/r) + 0.08*math.Sin(4*d[2]/r)
					if r <= b.r*ripple {
						l.Data[l.Index(i, j, k)] = b.label
					}
				}
			}
		}
	}
	ms, err := mesh.ExtractAll(context.Background(), l, nil, mesh.Options{Smooth: 10})
	if err != nil {
		tb.Fatal(err)
	}
	cols := []color.NRGBA{{157, 108, 162, 255}, {185, 102, 83, 255}, {221, 130, 101, 255}}
	s := &Scene{}
	for i, m := range ms {
		m.Color = cols[i%len(cols)]
		s.Objects = append(s.Objects, NewObject(m))
	}
	return s
}

// referenceRender is the straightforward way to draw the same frame: one
// goroutine, triangle after triangle, every pixel of its bounding box
// tested in float64, a float64 z-buffer, flat shading, image.Set per
// pixel. Back faces are culled too, so that it does no more work than
// the renderer it is measured against.
func referenceRender(dst *image.RGBA, s *Scene, cam *Camera, bgc color.RGBA) {
	b := dst.Bounds()
	w, h := b.Dx(), b.Dy()
	for y := range h {
		for x := range w {
			dst.Set(b.Min.X+x, b.Min.Y+y, bgc)
		}
	}
	z := make([]float64, w*h)
	for i := range z {
		z[i] = math.Inf(-1)
	}
	pr := cam.projector(w, h)
	_, _, fwd := cam.Axes()
	for _, o := range s.Objects {
		if !o.Visible {
			continue
		}
		m := o.Mesh
		for _, t := range m.Triangles {
			var p [3][3]float64 // x, y, nearness
			for k := range 3 {
				x, y, d := pr.project(vec(m.Vertices[t[k]]))
				q := -d
				if !cam.Ortho {
					q = 1 / d
				}
				p[k] = [3]float64{x, y, q}
			}
			area := (p[1][0]-p[0][0])*(p[2][1]-p[0][1]) - (p[1][1]-p[0][1])*(p[2][0]-p[0][0])
			if area >= 0 {
				continue
			}
			nrm := cross(sub(vec(m.Vertices[t[1]]), vec(m.Vertices[t[0]])), sub(vec(m.Vertices[t[2]]), vec(m.Vertices[t[0]])))
			li := ambient + diffuse*max(0, -dot(nrm, fwd)/norm(nrm))
			col := color.RGBA{uint8(float64(o.Color.R)*li + 0.5), uint8(float64(o.Color.G)*li + 0.5), uint8(float64(o.Color.B)*li + 0.5), 255}
			x0 := max(int(math.Floor(min(p[0][0], p[1][0], p[2][0]))), 0)
			x1 := min(int(math.Ceil(max(p[0][0], p[1][0], p[2][0]))), w-1)
			y0 := max(int(math.Floor(min(p[0][1], p[1][1], p[2][1]))), 0)
			y1 := min(int(math.Ceil(max(p[0][1], p[1][1], p[2][1]))), h-1)
			for y := y0; y <= y1; y++ {
				for x := x0; x <= x1; x++ {
					cx, cy := float64(x)+0.5, float64(y)+0.5
					var l [3]float64
					for k := range 3 {
						a, c := p[(k+1)%3], p[(k+2)%3]
						l[k] = ((c[0]-a[0])*(cy-a[1]) - (c[1]-a[1])*(cx-a[0])) / area
					}
					if l[0] < 0 || l[1] < 0 || l[2] < 0 {
						continue
					}
					q := l[0]*p[0][2] + l[1]*p[1][2] + l[2]*p[2][2]
					if q > z[y*w+x] {
						z[y*w+x] = q
						dst.Set(b.Min.X+x, b.Min.Y+y, col)
					}
				}
			}
		}
	}
}

// BenchmarkRender draws a 500 000-triangle scene at 800×800: the fast
// renderer (Gouraud and flat) and, in the same run, referenceRender.
// docs/benchmarks.md gives the figures and the command.
func BenchmarkRender(b *testing.B) {
	s := benchScene(b, 370)
	tris := 0
	for _, o := range s.Objects {
		tris += len(o.Mesh.Triangles)
	}
	b.Logf("scene: %d triangles in %d meshes", tris, len(s.Objects))
	cam := NewCamera()
	lo, hi, _ := s.Bounds()
	cam.Reset(lo, hi)
	cam.Orbit(0.5, 0.3)
	img := image.NewRGBA(image.Rect(0, 0, 800, 800))
	for _, c := range []struct {
		name    string
		shading Shading
	}{{"gouraud", Gouraud}, {"flat", Flat}} {
		b.Run(c.name, func(b *testing.B) {
			r := &Renderer{Shading: c.shading, Background: bg}
			r.Render(img, s, &cam) // buffers
			b.ResetTimer()
			c0 := cpuTime()
			for b.Loop() {
				r.Render(img, s, &cam)
			}
			b.ReportMetric(float64(cpuTime()-c0)/1e6/float64(b.N), "cpu-ms/op")
		})
	}
	b.Run("reference", func(b *testing.B) {
		c0 := cpuTime()
		for b.Loop() {
			referenceRender(img, s, &cam, bg)
		}
		b.ReportMetric(float64(cpuTime()-c0)/1e6/float64(b.N), "cpu-ms/op")
	})
}
