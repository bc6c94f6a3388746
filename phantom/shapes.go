package phantom

import (
	"math"
	"math/rand/v2"
)

// blob is a randomly deformed ellipsoid: the organ shape primitive. A point
// p is inside when q(p) < 1.
type blob struct {
	c     [3]float64    // centre, world mm
	ax    [3]float64    // half-axes along the local axes, mm
	rot   [3][3]float64 // world-to-local rotation
	taper float64       // local x and y scale by 1+taper*u_z: organs wider at one end
	amp   float64       // deformation amplitude, as a fraction of the radius
	def   waves         // deformation field in local normalised coordinates
	reach float64       // bounding radius around c, mm
	lim   float64       // 1 + amp × the deformation's bound: no point beyond is inside
}

// newBlob makes a blob rotated by yaw about z, then pitch about x, then roll
// about y (radians), deformed by a field of low spatial frequency.
func newBlob(r *rand.Rand, c, ax [3]float64, yaw, pitch, roll, taper, amp float64) blob {
	b := blob{c: c, ax: ax, taper: taper, amp: amp}
	rz := rotZ(-yaw)
	rx := rotX(-pitch)
	ry := rotY(-roll)
	b.rot = matMul(ry, matMul(rx, rz))
	b.def = newWaves(r, 8, 0.9, 2.2)
	b.lim = 1 + amp*b.def.bound()
	m := math.Max(ax[0], math.Max(ax[1], ax[2]))
	b.reach = m * (1 + math.Abs(taper)) * (1 + 3*amp) * 1.05
	return b
}

// q returns the normalised radius of p: below 1 inside the surface.
func (b *blob) q(x, y, z float64) float64 {
	dx, dy, dz := x-b.c[0], y-b.c[1], z-b.c[2]
	if dx*dx+dy*dy+dz*dz > b.reach*b.reach {
		return 9
	}
	u := (b.rot[0][0]*dx + b.rot[0][1]*dy + b.rot[0][2]*dz) / b.ax[0]
	v := (b.rot[1][0]*dx + b.rot[1][1]*dy + b.rot[1][2]*dz) / b.ax[1]
	w := (b.rot[2][0]*dx + b.rot[2][1]*dy + b.rot[2][2]*dz) / b.ax[2]
	if b.taper != 0 {
		f := 1 + b.taper*math.Max(-0.9, math.Min(1, w))
		u /= f
		v /= f
	}
	n := math.Sqrt(u*u + v*v + w*w)
	// The deformation field is bounded by the sum of its amplitudes, so
	// beyond 1+amp*bound no deformation can bring the point inside; this
	// spares most evaluations of the field.
	if n > b.lim {
		return n
	}
	return n / (1 + b.amp*b.def.at(u, v, w))
}

// zRange returns the z extent the blob can touch.
func (b *blob) zRange() (lo, hi float64) { return b.c[2] - b.reach, b.c[2] + b.reach }

func rotZ(a float64) [3][3]float64 {
	c, s := math.Cos(a), math.Sin(a)
	return [3][3]float64{{c, -s, 0}, {s, c, 0}, {0, 0, 1}}
}

func rotX(a float64) [3][3]float64 {
	c, s := math.Cos(a), math.Sin(a)
	return [3][3]float64{{1, 0, 0}, {0, c, -s}, {0, s, c}}
}

func rotY(a float64) [3][3]float64 {
	c, s := math.Cos(a), math.Sin(a)
	return [3][3]float64{{c, 0, s}, {0, 1, 0}, {-s, 0, c}}
}

func matMul(a, b [3][3]float64) [3][3]float64 {
	var m [3][3]float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 3; k++ {
				m[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return m
}

// capsule is one straight piece of a tube: the points within radius r of
// the segment p0-p1.
type capsule struct {
	p0, p1 [3]float64
	r      float64
	// air is the fraction of the lumen filled with gas, which floats to the
	// anterior (+y) side of a supine patient.
	air      float64
	zlo, zhi float64
}

// dist returns the distance from p to the segment and the y of the closest
// point on the axis.
func (c *capsule) dist(x, y, z float64) (d, yAxis float64) {
	ux, uy, uz := c.p1[0]-c.p0[0], c.p1[1]-c.p0[1], c.p1[2]-c.p0[2]
	wx, wy, wz := x-c.p0[0], y-c.p0[1], z-c.p0[2]
	l2 := ux*ux + uy*uy + uz*uz
	t := 0.0
	if l2 > 0 {
		t = (wx*ux + wy*uy + wz*uz) / l2
		t = math.Max(0, math.Min(1, t))
	}
	dx, dy, dz := wx-t*ux, wy-t*uy, wz-t*uz
	return math.Sqrt(dx*dx + dy*dy + dz*dz), c.p0[1] + t*uy
}

// tube is a chain of capsules painted as one solid, so that its wall runs
// along the outside of the union and not around every piece: bowel loops,
// vessels, the pancreas.
type tube struct {
	segs     []capsule
	wall     float64 // wall thickness, mm; 0 for solid tubes
	lumen    tissue
	feces    bool // mottled gas in the lumen
	label    uint16
	onlyIn   tissue // when not tAir, paint only over this tissue
	zlo, zhi float64
}

// add appends a piece from p0 to p1.
func (t *tube) add(p0, p1 [3]float64, r, air float64) {
	c := capsule{p0: p0, p1: p1, r: r, air: air}
	c.zlo = math.Min(p0[2], p1[2]) - r
	c.zhi = math.Max(p0[2], p1[2]) + r
	if len(t.segs) == 0 || c.zlo < t.zlo {
		t.zlo = c.zlo
	}
	if len(t.segs) == 0 || c.zhi > t.zhi {
		t.zhi = c.zhi
	}
	t.segs = append(t.segs, c)
}

// column is a vertical tube whose cross-section is an ellipse centred on a
// path that drifts smoothly with z: the aorta and the inferior vena cava.
type column struct {
	zlo, zhi float64
	x, y     func(z float64) float64
	rx, ry   float64
	t        tissue
	label    uint16
}
