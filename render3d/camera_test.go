package render3d

import (
	"math"
	"testing"
)

func near(a, b Vec, tol float64) bool { return norm(sub(a, b)) <= tol }

func TestViews(t *testing.T) {
	for _, c := range []struct {
		v      View
		fwd    Vec
		right  Vec // where the screen's right points, in the patient
		upward Vec
	}{
		{Anterior, Vec{0, -1, 0}, Vec{-1, 0, 0}, Vec{0, 0, 1}},
		{Posterior, Vec{0, 1, 0}, Vec{1, 0, 0}, Vec{0, 0, 1}},
		{Left, Vec{1, 0, 0}, Vec{0, -1, 0}, Vec{0, 0, 1}},
		{Right, Vec{-1, 0, 0}, Vec{0, 1, 0}, Vec{0, 0, 1}},
		{Superior, Vec{0, 0, -1}, Vec{1, 0, 0}, Vec{0, 1, 0}},
		{Inferior, Vec{0, 0, 1}, Vec{-1, 0, 0}, Vec{0, 1, 0}},
	} {
		cam := NewCamera()
		cam.SetView(c.v)
		r, u, f := cam.Axes()
		if !near(f, c.fwd, 1e-12) || !near(r, c.right, 1e-12) || !near(u, c.upward, 1e-12) {
			t.Errorf("view %d: right %v up %v forward %v", c.v, r, u, f)
		}
	}
}

func TestCameraMoves(t *testing.T) {
	cam := NewCamera()
	cam.Reset(Vec{-10, -20, -30}, Vec{50, 40, 90})
	if !near(cam.Target, Vec{20, 10, 30}, 1e-12) {
		t.Errorf("reset target %v", cam.Target)
	}
	const w, h = 400, 300
	// Every corner of the box is in view after Reset.
	for n := range 8 {
		p := Vec{-10, -20, -30}
		if n&1 == 1 {
			p[0] = 50
		}
		if n&2 == 2 {
			p[1] = 40
		}
		if n&4 == 4 {
			p[2] = 90
		}
		x, y, _, ok := cam.Project(p, w, h)
		if !ok || x < 0 || x > w || y < 0 || y > h {
			t.Errorf("corner %v at %g,%g after reset", p, x, y)
		}
	}
	// Fit keeps the direction, Reset returns to the front.
	turned := cam
	turned.Orbit(1, 0.4)
	fitted := turned
	fitted.Fit(Vec{0, 0, 0}, Vec{10, 10, 10})
	if fitted.Orientation != turned.Orientation || !near(fitted.Target, Vec{5, 5, 5}, 1e-12) {
		t.Error("Fit turned the camera or missed the box")
	}
	fitted.Reset(Vec{-10, -20, -30}, Vec{50, 40, 90})
	if !near(fitted.Eye(), cam.Eye(), 1e-9) {
		t.Error("Reset after turning does not come back to the front view")
	}
	// A full turn of the turntable comes back; the target and the
	// distance stay.
	start := cam
	for range 8 {
		cam.Orbit(math.Pi/4, 0)
	}
	if !near(cam.Eye(), start.Eye(), 1e-9) {
		t.Errorf("after a full turn the eye is at %v, was %v", cam.Eye(), start.Eye())
	}
	cam.Orbit(0.3, 0.2)
	if !near(cam.Target, start.Target, 1e-12) || math.Abs(norm(sub(cam.Eye(), cam.Target))-cam.Distance) > 1e-9 {
		t.Error("orbit moved the target or the distance")
	}
	// The turntable keeps the patient's superior axis in the screen's
	// vertical plane (no roll).
	if r, _, _ := cam.Axes(); math.Abs(r[2]) > 1e-12 {
		t.Errorf("orbit rolled the camera: right %v", r)
	}
	// Arcball: a drag to the right turns the scene about the vertical,
	// so the front of the target moves right on the screen.
	cam = start
	p := add(cam.Target, Vec{0, 40, 0}) // anterior of the target: towards the eye
	x0, _, _, _ := cam.Project(p, w, h)
	cam.Arcball(200, 150, 260, 150, w, h)
	x1, _, _, _ := cam.Project(p, w, h)
	if x1 <= x0+1 {
		t.Errorf("arcball drag right: the point moved from x %g to %g", x0, x1)
	}
	// The turntable turns the same way for a positive yaw.
	tt := start
	xa, _, _, _ := tt.Project(p, w, h)
	tt.Orbit(0.2, 0)
	if xb, _, _, _ := tt.Project(p, w, h); xb <= xa+1 {
		t.Errorf("orbit with a positive yaw: the front moved from x %g to %g", xa, xb)
	}
	_, ya, _, _ := tt.Project(p, w, h)
	tt.Orbit(0, 0.2)
	if _, yb, _, _ := tt.Project(p, w, h); yb <= ya+1 {
		t.Errorf("orbit with a positive pitch: the front moved from y %g to %g (not down)", ya, yb)
	}
	same := cam
	cam.Arcball(100, 100, 100, 100, w, h)
	if cam != same {
		t.Error("an arcball drag of nothing turned the camera")
	}
	// Pan: what was under the target is now dx, dy pixels away.
	for _, ortho := range []bool{false, true} {
		cam = start
		cam.Ortho = ortho
		x0, y0, _, _ := cam.Project(start.Target, w, h)
		cam.Pan(30, -20, w, h)
		x1, y1, _, _ := cam.Project(start.Target, w, h)
		if math.Abs(x1-x0-30) > 1e-6 || math.Abs(y1-y0+20) > 1e-6 {
			t.Errorf("ortho %v: pan moved the target's image by %g, %g", ortho, x1-x0, y1-y0)
		}
		// Zoom: twice as close doubles sizes at the target (exactly for
		// orthographic, nearly for perspective at the target's depth).
		cam = start
		cam.Ortho = ortho
		xa, _, _, _ := cam.Project(add(cam.Target, Vec{1, 0, 0}), w, h)
		xc, _, _, _ := cam.Project(cam.Target, w, h)
		cam.Zoom(2)
		xb, _, _, _ := cam.Project(add(cam.Target, Vec{1, 0, 0}), w, h)
		if r := (xb - xc) / (xa - xc); math.Abs(r-2) > 0.01 {
			t.Errorf("ortho %v: zoom 2 scales by %g", ortho, r)
		}
	}
	// Ray and Project agree.
	cam = start
	cam.Orbit(1, 0.5)
	for _, ortho := range []bool{false, true} {
		cam.Ortho = ortho
		q := Vec{12, -5, 40}
		x, y, _, _ := cam.Project(q, w, h)
		o, d := cam.Ray(x, y, w, h)
		// The distance from q to the ray.
		v := sub(q, o)
		if off := norm(sub(v, scale(d, dot(v, d)))); off > 1e-9 {
			t.Errorf("ortho %v: the ray through q's pixel misses q by %g", ortho, off)
		}
	}
}
