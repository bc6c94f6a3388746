package viewer

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

// rotation returns a random rotation matrix (seeded), as a gantry tilt or an
// arbitrary oblique acquisition would give.
func rotation(rng *rand.Rand) [3][3]float64 {
	// Rotations about x, y, z by random angles up to 180°.
	ax, ay, az := (rng.Float64()*2-1)*math.Pi, (rng.Float64()*2-1)*math.Pi, (rng.Float64()*2-1)*math.Pi
	rx := [3][3]float64{{1, 0, 0}, {0, math.Cos(ax), -math.Sin(ax)}, {0, math.Sin(ax), math.Cos(ax)}}
	ry := [3][3]float64{{math.Cos(ay), 0, math.Sin(ay)}, {0, 1, 0}, {-math.Sin(ay), 0, math.Cos(ay)}}
	rz := [3][3]float64{{math.Cos(az), -math.Sin(az), 0}, {math.Sin(az), math.Cos(az), 0}, {0, 0, 1}}
	mul := func(a, b [3][3]float64) (r [3][3]float64) {
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				for k := 0; k < 3; k++ {
					r[i][j] += a[i][k] * b[k][j]
				}
			}
		}
		return r
	}
	return mul(rz, mul(ry, rx))
}

// TestSlicerObliqueBijective checks, for random oblique grids, that every
// plane's display positions cover each voxel exactly once, and that each
// display direction moves the world position the documented way (the
// display's u axis of an axial slice runs towards the patient's left, so
// its x component must be negative, and so on).
func TestSlicerObliqueBijective(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := 0; trial < 50; trial++ {
		r := rotation(rng)
		dims := [3]int{2 + rng.IntN(5), 2 + rng.IntN(5), 2 + rng.IntN(5)}
		sp := [3]float64{0.5 + rng.Float64(), 0.5 + rng.Float64(), 0.5 + rng.Float64()}
		var a volume.Affine
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				a[i][j] = r[i][j] * sp[j]
			}
			a[i][3] = rng.Float64()*100 - 50
		}
		a[3][3] = 1
		g := volume.Grid{Dims: dims, Affine: a}
		for _, p := range Planes {
			s := NewSlicer(g, p)
			seen := make([]bool, g.Len())
			w, h := s.Size()
			if s.NumSlices()*w*h != g.Len() {
				t.Fatalf("trial %d %s: %d×%d×%d positions for %d voxels", trial, p, s.NumSlices(), w, h, g.Len())
			}
			for n := 0; n < s.NumSlices(); n++ {
				for v := 0; v < h; v++ {
					for u := 0; u < w; u++ {
						i, j, k := s.Voxel(n, u, v)
						if !g.Contains(i, j, k) || seen[g.Index(i, j, k)] {
							t.Fatalf("trial %d %s: (%d, %d, %d) -> voxel (%d, %d, %d) outside or seen twice", trial, p, n, u, v, i, j, k)
						}
						seen[g.Index(i, j, k)] = true
					}
				}
			}
			// Direction of each display axis in the world: the dominant
			// component must be the documented one, with the documented sign.
			world, dir := p.layout()
			o := [3]float64{}
			o[0], o[1], o[2] = s.WorldAt(0, 0, 0)
			steps := [3][3]int{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
			for m, st := range steps {
				if s.n[m] < 2 {
					continue
				}
				var q [3]float64
				q[0], q[1], q[2] = s.WorldAt(st[0], st[1], st[2])
				d := [3]float64{q[0] - o[0], q[1] - o[1], q[2] - o[2]}
				c := d[world[m]] * float64(dir[m])
				if c <= 0 {
					t.Errorf("trial %d %s: display axis %d moves world axis %d by %.2f, want sign %+d", trial, p, m, world[m], d[world[m]], dir[m])
				}
			}
		}
	}
}

// FuzzRenderViewport renders a small phantom with arbitrary viewports and
// target sizes: it must never panic, and pixels must be opaque.
func FuzzRenderViewport(f *testing.F) {
	f.Add(1.0, 0.0, 0.0, 20, 10, 0, true)
	f.Add(0.0, 1e300, -1e300, 1, 1, 2, false)
	f.Add(math.NaN(), math.Inf(1), 3.5, 7, 33, 1, true)
	f.Add(64.0, -3.0, 5.0, 50, 5, 2, false)
	vol, lab := phantom()
	f.Fuzz(func(t *testing.T, zoom, panX, panY float64, w, h, plane int, outline bool) {
		if w < 0 || h < 0 || w > 200 || h > 200 {
			return
		}
		p := Planes[(plane%3+3)%3]
		s := NewSlicer(vol.Grid, p)
		dst := image.NewRGBA(image.Rect(3, -2, 3+w, -2+h))
		ov := &Overlay{Labels: lab, Opacity: 0.7, Outline: outline}
		vp := Viewport{Zoom: zoom, PanX: panX, PanY: panY}
		if err := RenderViewport(dst, vol, s, s.NumSlices()-1, Window{Width: 300, Level: 10}, ov, vp); err != nil {
			t.Fatal(err)
		}
		for i := 3; i < len(dst.Pix); i += 4 {
			if dst.Pix[i] != 255 {
				t.Fatalf("pixel %d not opaque", i/4)
			}
		}
		// The screen pixel's centre lies inside the slice pixel PixelAt
		// names.
		sx, sy := 3+w/2, -2+h/2
		if u, v, ok := vp.PixelAt(dst.Rect, s, sx, sy); ok {
			x0, y0 := vp.SliceToScreen(dst.Rect, s, float64(u), float64(v))
			x1, y1 := vp.SliceToScreen(dst.Rect, s, float64(u+1), float64(v+1))
			cx, cy := float64(sx)+0.5, float64(sy)+0.5
			const eps = 1e-6
			if cx < x0-eps*math.Abs(x0) || cx > x1+eps*math.Abs(x1) || cy < y0-eps*math.Abs(y0) || cy > y1+eps*math.Abs(y1) {
				t.Fatalf("screen (%g, %g) outside slice pixel (%d, %d) at [%g, %g]×[%g, %g]", cx, cy, u, v, x0, x1, y0, y1)
			}
		}
	})
}
