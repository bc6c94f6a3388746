package render3d

import "math"

// Vec is a point or direction in world coordinates (RAS+, mm).
type Vec = [3]float64

// View names a standard direction to look at the patient from.
type View int

const (
	// Anterior looks from the front: the patient's right on the screen's
	// left, superior up (3D Slicer's default 3D view).
	Anterior View = iota
	Posterior
	Left
	Right
	Superior
	Inferior
)

// Camera looks at Target from Distance millimetres away. Its orientation
// is a unit quaternion taking the camera's axes (x right, y up, looking
// down −z, as OpenGL's) to the world's. The zero value is not useful:
// start from NewCamera and Reset.
type Camera struct {
	Target   Vec
	Distance float64
	// Orientation is a unit quaternion (w, x, y, z).
	Orientation [4]float64
	// FOV is the vertical field of view in radians. An orthographic
	// camera shows the height a perspective one sees at Target:
	// 2 · Distance · tan(FOV/2), so switching keeps the size.
	FOV   float64
	Ortho bool
}

// DefaultFOV is a 30° vertical field of view, a mild perspective.
const DefaultFOV = 30 * math.Pi / 180

// NewCamera returns a perspective camera looking at the origin from the
// front, 500 mm away.
func NewCamera() Camera {
	c := Camera{Distance: 500, FOV: DefaultFOV}
	c.SetView(Anterior)
	return c
}

// SetView turns the camera to look from a standard direction, keeping the
// target and the distance.
func (c *Camera) SetView(v View) {
	// The camera's right and up axes in world coordinates per view; the
	// viewing direction is up × right.
	var r, u Vec
	switch v {
	case Posterior:
		r, u = Vec{1, 0, 0}, Vec{0, 0, 1}
	case Left:
		r, u = Vec{0, -1, 0}, Vec{0, 0, 1}
	case Right:
		r, u = Vec{0, 1, 0}, Vec{0, 0, 1}
	case Superior:
		r, u = Vec{1, 0, 0}, Vec{0, 1, 0}
	case Inferior:
		// As the axial slices are shown: from the feet, anterior up, the
		// patient's right on the left.
		r, u = Vec{-1, 0, 0}, Vec{0, 1, 0}
	default:
		r, u = Vec{-1, 0, 0}, Vec{0, 0, 1}
	}
	c.Orientation = quatFromBasis(r, u, cross(r, u))
}

// Reset looks at the box [lo, hi] from the front so that all of it is in
// view, in a square or wider image.
func (c *Camera) Reset(lo, hi Vec) {
	c.SetView(Anterior)
	c.Fit(lo, hi)
}

// Fit aims at the box [lo, hi]'s centre from the distance at which all
// of it is in view, keeping the direction the camera looks from.
func (c *Camera) Fit(lo, hi Vec) {
	c.Target = scale(add(lo, hi), 0.5)
	radius := norm(sub(hi, lo)) / 2
	if radius == 0 {
		radius = 1
	}
	if c.FOV <= 0 || c.FOV >= math.Pi {
		c.FOV = DefaultFOV
	}
	// The bounding sphere fits the vertical field of view, with a margin.
	c.Distance = 1.05 * radius / math.Sin(c.FOV/2)
}

// Axes returns the camera's right, up and viewing direction in world
// coordinates.
func (c *Camera) Axes() (right, up, forward Vec) {
	q := c.Orientation
	right = rotate(q, Vec{1, 0, 0})
	up = rotate(q, Vec{0, 1, 0})
	forward = rotate(q, Vec{0, 0, -1})
	return right, up, forward
}

// Eye returns the camera's position.
func (c *Camera) Eye() Vec {
	_, _, f := c.Axes()
	return sub(c.Target, scale(f, c.Distance))
}

// Orbit turns the camera about the target as a turntable: yaw radians
// about the world's superior axis (z), pitch radians about the camera's
// right axis. A positive yaw turns the scene's front to the right and a
// positive pitch tips it down, as if the mouse dragged it right or down:
// a drag of (dx, dy) pixels is, say, Orbit(π·dx/height, π·dy/height).
func (c *Camera) Orbit(yaw, pitch float64) {
	r, _, _ := c.Axes()
	// Pitch about the current right axis first, then yaw about z: the
	// right axis stays horizontal, so the turntable never rolls.
	q := quatMul(axisAngle(Vec{0, 0, 1}, -yaw), quatMul(axisAngle(r, -pitch), c.Orientation))
	c.Orientation = quatNormalize(q)
}

// Arcball turns the scene as if the mouse, moving from pixel (x0, y0) to
// (x1, y1) of a w×h view, dragged a ball filling the view (Shoemake's
// arcball): free rotation about any axis.
func (c *Camera) Arcball(x0, y0, x1, y1 float64, w, h int) {
	p0, p1 := arcballPoint(x0, y0, w, h), arcballPoint(x1, y1, w, h)
	axis := cross(p0, p1)
	if norm(axis) < 1e-12 {
		return
	}
	angle := math.Atan2(norm(axis), dot(p0, p1))
	// The scene turns by angle about axis (camera frame), so the camera
	// turns the other way in its own frame.
	c.Orientation = quatNormalize(quatMul(c.Orientation, axisAngle(scale(axis, 1/norm(axis)), -angle)))
}

func arcballPoint(x, y float64, w, h int) Vec {
	r := float64(min(w, h)) / 2
	px, py := (x-float64(w)/2)/r, (float64(h)/2-y)/r
	d := px*px + py*py
	if d > 1 {
		s := 1 / math.Sqrt(d)
		return Vec{px * s, py * s, 0}
	}
	return Vec{px, py, math.Sqrt(1 - d)}
}

// Zoom brings the camera factor times closer (a factor below 1 moves it
// away); orthographic views scale the same way.
func (c *Camera) Zoom(factor float64) {
	if factor > 0 && !math.IsInf(factor, 0) {
		c.Distance = max(c.Distance/factor, 1e-3)
	}
}

// Pan moves the view so that what was under pixel (x, y) of a w×h view,
// at the target's depth, is now under (x+dx, y+dy).
func (c *Camera) Pan(dx, dy float64, w, h int) {
	r, u, _ := c.Axes()
	mm := c.viewHeight() / float64(h)
	c.Target = add(c.Target, add(scale(r, -dx*mm), scale(u, dy*mm)))
}

// viewHeight is the world height the view shows at the target's depth.
func (c *Camera) viewHeight() float64 { return 2 * c.Distance * math.Tan(c.FOV/2) }

// Ray returns the ray through point (x, y) of a w×h view (pixel (i, j)'s
// centre is (i+0.5, j+0.5)): its origin (on the eye, or for an
// orthographic camera on the plane through the eye) and unit direction.
func (c *Camera) Ray(x, y float64, w, h int) (origin, dir Vec) {
	r, u, f := c.Axes()
	eye := c.Eye()
	px := (x - float64(w)/2) / (float64(h) / 2)
	py := (float64(h)/2 - y) / (float64(h) / 2)
	half := c.viewHeight() / 2
	if c.Ortho {
		return add(eye, add(scale(r, px*half), scale(u, py*half))), f
	}
	t := math.Tan(c.FOV / 2)
	d := add(f, add(scale(r, px*t), scale(u, py*t)))
	return eye, scale(d, 1/norm(d))
}

// Project returns where world point p falls in a w×h view and its depth
// along the viewing direction from the eye; ok is false for a point
// behind the eye of a perspective camera.
func (c *Camera) Project(p Vec, w, h int) (x, y, depth float64, ok bool) {
	pr := c.projector(w, h)
	x, y, depth = pr.project(p)
	return x, y, depth, c.Ortho || depth > 0
}

// projector holds what projecting a point needs, computed once a frame.
type projector struct {
	eye, r, u, f Vec
	ortho        bool
	// s is pixels per mm at depth 1 (perspective) or everywhere (ortho).
	s, cx, cy float64
}

func (c *Camera) projector(w, h int) projector {
	r, u, f := c.Axes()
	pr := projector{eye: c.Eye(), r: r, u: u, f: f, ortho: c.Ortho, cx: float64(w) / 2, cy: float64(h) / 2}
	if c.Ortho {
		pr.s = float64(h) / c.viewHeight()
	} else {
		pr.s = float64(h) / 2 / math.Tan(c.FOV/2)
	}
	return pr
}

func (p *projector) project(q Vec) (x, y, z float64) {
	d := sub(q, p.eye)
	xc, yc, z := dot(d, p.r), dot(d, p.u), dot(d, p.f)
	if p.ortho {
		return p.cx + xc*p.s, p.cy - yc*p.s, z
	}
	return p.cx + xc/z*p.s, p.cy - yc/z*p.s, z
}

// Quaternions (w, x, y, z).

func axisAngle(axis Vec, angle float64) [4]float64 {
	s := math.Sin(angle / 2)
	return [4]float64{math.Cos(angle / 2), axis[0] * s, axis[1] * s, axis[2] * s}
}

func quatMul(a, b [4]float64) [4]float64 {
	return [4]float64{
		a[0]*b[0] - a[1]*b[1] - a[2]*b[2] - a[3]*b[3],
		a[0]*b[1] + a[1]*b[0] + a[2]*b[3] - a[3]*b[2],
		a[0]*b[2] - a[1]*b[3] + a[2]*b[0] + a[3]*b[1],
		a[0]*b[3] + a[1]*b[2] - a[2]*b[1] + a[3]*b[0],
	}
}

func quatNormalize(q [4]float64) [4]float64 {
	n := math.Sqrt(q[0]*q[0] + q[1]*q[1] + q[2]*q[2] + q[3]*q[3])
	if n == 0 {
		return [4]float64{1, 0, 0, 0}
	}
	return [4]float64{q[0] / n, q[1] / n, q[2] / n, q[3] / n}
}

func rotate(q [4]float64, v Vec) Vec {
	// v' = v + 2w(u × v) + 2u × (u × v), u the vector part.
	u := Vec{q[1], q[2], q[3]}
	t := scale(cross(u, v), 2)
	return add(v, add(scale(t, q[0]), cross(u, t)))
}

// quatFromBasis returns the rotation taking the x, y, z axes to the
// orthonormal, right-handed x, y, z.
func quatFromBasis(x, y, z Vec) [4]float64 {
	// The rotation matrix has x, y, z as columns.
	m := [3][3]float64{{x[0], y[0], z[0]}, {x[1], y[1], z[1]}, {x[2], y[2], z[2]}}
	tr := m[0][0] + m[1][1] + m[2][2]
	var q [4]float64
	switch {
	case tr > 0:
		s := math.Sqrt(tr+1) * 2
		q = [4]float64{s / 4, (m[2][1] - m[1][2]) / s, (m[0][2] - m[2][0]) / s, (m[1][0] - m[0][1]) / s}
	case m[0][0] > m[1][1] && m[0][0] > m[2][2]:
		s := math.Sqrt(1+m[0][0]-m[1][1]-m[2][2]) * 2
		q = [4]float64{(m[2][1] - m[1][2]) / s, s / 4, (m[0][1] + m[1][0]) / s, (m[0][2] + m[2][0]) / s}
	case m[1][1] > m[2][2]:
		s := math.Sqrt(1+m[1][1]-m[0][0]-m[2][2]) * 2
		q = [4]float64{(m[0][2] - m[2][0]) / s, (m[0][1] + m[1][0]) / s, s / 4, (m[1][2] + m[2][1]) / s}
	default:
		s := math.Sqrt(1+m[2][2]-m[0][0]-m[1][1]) * 2
		q = [4]float64{(m[1][0] - m[0][1]) / s, (m[0][2] + m[2][0]) / s, (m[1][2] + m[2][1]) / s, s / 4}
	}
	return quatNormalize(q)
}

func add(a, b Vec) Vec           { return Vec{a[0] + b[0], a[1] + b[1], a[2] + b[2]} }
func sub(a, b Vec) Vec           { return Vec{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func scale(a Vec, s float64) Vec { return Vec{a[0] * s, a[1] * s, a[2] * s} }
func dot(a, b Vec) float64       { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func norm(a Vec) float64         { return math.Sqrt(dot(a, a)) }
func cross(a, b Vec) Vec {
	return Vec{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}
