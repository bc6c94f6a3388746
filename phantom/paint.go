package phantom

import (
	"math"
)

// plane is the in-plane pixel lattice of one axial slice.
type plane struct {
	n      int     // pixels per side
	x0, y0 float64 // world x, y of pixel (0, 0)
	d      float64 // pixel size, mm
}

func (p plane) x(i int) float64 { return p.x0 + float64(i)*p.d }
func (p plane) y(j int) float64 { return p.y0 + float64(j)*p.d }

// box returns the pixel ranges covering world [xlo,xhi]×[ylo,yhi], clipped
// to the plane; empty ranges have lo > hi.
func (p plane) box(xlo, xhi, ylo, yhi float64) (i0, i1, j0, j1 int) {
	i0 = max(0, int(math.Floor((xlo-p.x0)/p.d)))
	i1 = min(p.n-1, int(math.Ceil((xhi-p.x0)/p.d)))
	j0 = max(0, int(math.Floor((ylo-p.y0)/p.d)))
	j1 = min(p.n-1, int(math.Ceil((yhi-p.y0)/p.d)))
	return
}

// canvas is one rasterised slice: a tissue and a label per pixel, plus the
// masks that later structures consult.
type canvas struct {
	pl      plane
	tis     []tissue
	lab     []uint16
	cavity  []bool // inside the abdominal wall
	organOK []bool // inside the cavity and below the diaphragm
	rib     []tissue
	segs    []*capsule // scratch for paintTube
}

func newCanvas(pl plane) *canvas {
	n := pl.n * pl.n
	return &canvas{pl: pl, tis: make([]tissue, n), lab: make([]uint16, n),
		cavity: make([]bool, n), organOK: make([]bool, n), rib: make([]tissue, n)}
}

const angleBins = 2048

// paint rasterises the anatomy at height z into c. Later structures cover
// earlier ones, so the order decides who wins where shapes overlap: organs
// over bowel, vessels over organs, bone over everything; ribs are marked
// with the body and laid last so that no organ hides them.
func (a *anatomy) paint(c *canvas, z float64) {
	a.paintBody(c, z)
	a.paintMuscles(c, z)
	// The pancreas goes before the bowel, which fills only fat, so that the
	// loops pack around it.
	for i := range a.pancreas {
		c.segs = a.paintTube(c, &a.pancreas[i], z, c.segs)
	}
	for i := range a.bowel {
		c.segs = a.paintTube(c, &a.bowel[i], z, c.segs)
	}
	for i := range a.organs {
		a.paintOrgan(c, &a.organs[i], z)
	}
	for i := range a.columns {
		paintColumn(c, &a.columns[i], z)
	}
	for i := range a.tubes {
		c.segs = a.paintTube(c, &a.tubes[i], z, c.segs)
	}
	a.paintSpine(c, z)
	a.paintPelvis(c, z)
	for p, t := range c.rib {
		if t != tAir {
			c.tis[p], c.lab[p] = t, 0
		}
	}
	a.paintTable(c, z)
}

// paintBody paints skin, subcutaneous fat, the muscle wall and the fat of
// the cavity, the lung bases above the diaphragm, and marks the ribs.
func (a *anatomy) paintBody(c *canvas, z float64) {
	// Radii, per angle, where skin, fat, wall muscle and cavity begin.
	var rSkin, rFat, rIn, rCav [angleBins + 1]float64
	for b := 0; b <= angleBins; b++ {
		th := -math.Pi + 2*math.Pi*float64(b)/angleBins
		rSkin[b] = a.bodyRadius(th, z)
		rFat[b] = rSkin[b] - a.skin
		rIn[b] = math.Max(rFat[b]-a.fatAt(th), 20)
		rCav[b] = math.Max(rIn[b]-a.muscleAt(th, z), 10)
	}
	lookup := func(tab *[angleBins + 1]float64, th float64) float64 {
		f := (th + math.Pi) / (2 * math.Pi) * angleBins
		b := int(f)
		if b >= angleBins {
			return tab[angleBins]
		}
		w := f - float64(b)
		return tab[b]*(1-w) + tab[b+1]*w
	}
	// The rib cage: an ellipse through the middle of the muscle wall at the
	// sides and in front, and just behind the transverse processes at the
	// back. Each side has its own width.
	wallMid := func(th float64) float64 {
		return a.bodyRadius(th, z) - a.skin - a.fatAt(th) - 0.5*a.muscleAt(th, z)
	}
	yPost := a.vbY(z) - a.vbR(z)*0.78 - a.canalR*2
	yAnt := wallMid(math.Pi / 2)
	yRC, bRC := (yAnt+yPost)/2, (yAnt-yPost)/2
	aRC := [2]float64{wallMid(0), wallMid(math.Pi)}
	vby, vbr := a.vbY(z), a.vbR(z)
	armX := [2]float64{
		a.bodyRadius(0, z) + a.armGap + a.armRx,
		a.bodyRadius(math.Pi, z) + a.armGap + a.armRx,
	}

	pl := c.pl
	for j := 0; j < pl.n; j++ {
		y := pl.y(j)
		for i := 0; i < pl.n; i++ {
			x := pl.x(i)
			p := j*pl.n + i
			c.lab[p], c.rib[p], c.cavity[p], c.organOK[p] = 0, tAir, false, false
			r := math.Hypot(x, y)
			th := math.Atan2(y, x)
			switch {
			case r >= lookup(&rSkin, th):
				c.tis[p] = a.arm(x, y, armX)
				continue
			case r >= lookup(&rFat, th):
				c.tis[p] = tSkin
			case r >= lookup(&rIn, th):
				c.tis[p] = tFat
			case r >= lookup(&rCav, th):
				c.tis[p] = tMuscle
			default:
				c.tis[p] = tFat
				c.cavity[p] = true
				c.organOK[p] = true
			}
			side := 0
			if x < 0 {
				side = 1
			}
			u, v := math.Abs(x)/aRC[side], (y-yRC)/bRC
			rho := math.Hypot(u, v)
			phi := math.Atan2(u, -v) // 0 at the back, pi in front
			ell := math.Hypot(aRC[side]*math.Sin(phi), bRC*math.Cos(phi))
			off := (rho - 1) * ell
			if off > -6 && off < 6 {
				a.markRib(c, p, side, phi, off, z)
			}
			if !c.cavity[p] || off > -5 {
				continue
			}
			// Diaphragm: a dome over each side, lowest at the back and the
			// sides (the costophrenic recesses).
			du := (math.Abs(x) - 0.4*aRC[side]) / (0.65 * aRC[side])
			dv := (y - yRC - 0.1*bRC) / (0.8 * bRC)
			zd := a.domeTop[side] - a.domeDrop*(du*du+dv*dv)
			// The recesses end above T12, smoothly.
			if fl := 1.9 * a.period; zd < fl+20 {
				zd = fl + 20*math.Exp((zd-fl-20)/20)
			}
			switch {
			case z > zd+2.5:
				c.organOK[p] = false
				if math.Abs(x) < 0.25*aRC[side] && y > vby-vbr {
					continue // mediastinum: fat in front of the spine
				}
				c.tis[p] = tLung
			case z > zd-2.5:
				c.organOK[p] = false
				c.tis[p] = tMuscle
			}
		}
	}
}

// arm returns the tissue of the arms (if the patient has them beside the
// body) at (x, y), else air. armX holds the distance of each arm's centre
// from the body axis, right then left.
func (a *anatomy) arm(x, y float64, armX [2]float64) tissue {
	if !a.arms {
		return tAir
	}
	cx := armX[0]
	if x < 0 {
		cx = -armX[1]
	}
	dx, dy := (x-cx)/a.armRx, (y-a.armY)/a.armRy
	q := math.Sqrt(dx*dx + dy*dy)
	if q >= 1 {
		return tAir
	}
	depth := (1 - q) * math.Min(a.armRx, a.armRy)
	b := math.Hypot(x-cx, y-a.armY+0.2*a.armRy)
	switch {
	case depth < a.skin:
		return tSkin
	case depth < a.skin+a.armFat:
		return tFat
	case b < a.boneR-2.5:
		return tFat // yellow marrow
	case b < a.boneR:
		return tCortical
	}
	return tMuscle
}

// markRib records a rib at pixel p if one passes there.
func (a *anatomy) markRib(c *canvas, p, side int, phi, off, z float64) {
	sgn := 1.0 - 2*float64(side)
	for k := range a.ribs {
		rb := &a.ribs[k]
		if rb.side != sgn || phi > rb.phiMax || phi < deg(18) {
			continue
		}
		// The bone descends steeply around the side; the costal cartilage
		// in front climbs back towards the sternum.
		end := math.Min(rb.phiCart, rb.phiMax)
		f := math.Pow(phi/end, 0.85)
		if phi > end {
			f = 1 - 0.45*(phi-end)/(rb.phiMax-end)
		}
		zr := rb.zHead - rb.drop*f
		dz := (z - zr) / 5
		dr := off / 3.2
		e := dz*dz + dr*dr
		if e >= 1 {
			continue
		}
		switch {
		case phi > rb.phiCart:
			c.rib[p] = tCartilage
		case e > 0.35:
			c.rib[p] = tCortical
		default:
			c.rib[p] = tCancellous
		}
		return
	}
}

// paintEllipse paints tissue t over the cavity inside an axis-aligned
// ellipse.
func paintEllipse(c *canvas, cx, cy, rx, ry float64, t tissue, label uint16, cavityOnly bool) {
	pl := c.pl
	i0, i1, j0, j1 := pl.box(cx-rx, cx+rx, cy-ry, cy+ry)
	for j := j0; j <= j1; j++ {
		dy := (pl.y(j) - cy) / ry
		for i := i0; i <= i1; i++ {
			dx := (pl.x(i) - cx) / rx
			p := j*pl.n + i
			if dx*dx+dy*dy < 1 && (!cavityOnly || c.cavity[p]) {
				c.tis[p], c.lab[p] = t, label
			}
		}
	}
}

// paintMuscles paints the muscles beside the spine: erector spinae,
// quadratus lumborum and psoas.
func (a *anatomy) paintMuscles(c *canvas, z float64) {
	vby, vbr := a.vbY(z), a.vbR(z)
	cy := vby - vbr*0.78 - a.canalR - 2
	for _, sd := range []float64{1, -1} {
		paintEllipse(c, sd*(a.canalR+28), cy-18, 31, 27, tMuscle, 0, true)
		if z > -130 && z < 60 {
			paintEllipse(c, sd*(vbr+48), vby-12, 17, 11, tMuscle, 0, true)
		}
		if z < 45 {
			pr := math.Min(24, 5+(45-z)*0.17)
			paintEllipse(c, sd*(vbr+pr*0.8+2), vby+3, pr, pr*0.9, tMuscle, 0, true)
		}
	}
}

func (a *anatomy) paintTube(c *canvas, tb *tube, z float64, segs []*capsule) []*capsule {
	if z < tb.zlo || z > tb.zhi {
		return segs
	}
	segs = segs[:0]
	xlo, xhi, ylo, yhi := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for i := range tb.segs {
		k := &tb.segs[i]
		if z < k.zlo || z > k.zhi {
			continue
		}
		segs = append(segs, k)
		xlo = math.Min(xlo, math.Min(k.p0[0], k.p1[0])-k.r)
		xhi = math.Max(xhi, math.Max(k.p0[0], k.p1[0])+k.r)
		ylo = math.Min(ylo, math.Min(k.p0[1], k.p1[1])-k.r)
		yhi = math.Max(yhi, math.Max(k.p0[1], k.p1[1])+k.r)
	}
	if len(segs) == 0 {
		return segs
	}
	pl := c.pl
	i0, i1, j0, j1 := pl.box(xlo, xhi, ylo, yhi)
	for j := j0; j <= j1; j++ {
		y := pl.y(j)
		for i := i0; i <= i1; i++ {
			p := j*pl.n + i
			if !c.cavity[p] || (tb.onlyIn != tAir && c.tis[p] != tb.onlyIn) {
				continue
			}
			x := pl.x(i)
			// Signed distance to the union's surface, negative inside.
			best, ya, r, air := math.Inf(1), 0.0, 0.0, 0.0
			for _, k := range segs {
				if x < math.Min(k.p0[0], k.p1[0])-k.r || x > math.Max(k.p0[0], k.p1[0])+k.r ||
					y < math.Min(k.p0[1], k.p1[1])-k.r || y > math.Max(k.p0[1], k.p1[1])+k.r {
					continue
				}
				d, yk := k.dist(x, y, z)
				if d-k.r < best {
					best, ya, r, air = d-k.r, yk, k.r, k.air
				}
			}
			if best >= 0 {
				continue
			}
			t := tb.lumen
			switch {
			case best > -tb.wall:
				t = tBowelWall
			case air > 0 && y-ya > r*(1-2*air):
				t = tAir
			case tb.feces && a.fecesTex.at(x, y, z) > 1.1:
				t = tAir
			}
			c.tis[p], c.lab[p] = t, tb.label
		}
	}
	return segs
}

func (a *anatomy) paintOrgan(c *canvas, o *organ, z float64) {
	zlo, zhi := o.b.zRange()
	if z < zlo || z > zhi {
		return
	}
	pl := c.pl
	b := &o.b
	i0, i1, j0, j1 := pl.box(b.c[0]-b.reach, b.c[0]+b.reach, b.c[1]-b.reach, b.c[1]+b.reach)
	wall := 4 / math.Min(b.ax[0], b.ax[1])
	for j := j0; j <= j1; j++ {
		y := pl.y(j)
		for i := i0; i <= i1; i++ {
			p := j*pl.n + i
			if !c.cavity[p] || (o.clip && !c.organOK[p]) {
				continue
			}
			x := pl.x(i)
			q := b.q(x, y, z)
			if q >= 1 {
				continue
			}
			t, lab := o.t, o.label
			switch o.kind {
			case haloOrgan:
				if lab = 0; c.lab[p] == Pancreas {
					continue // the pancreatic tail lies on the left kidney's fat
				}
			case kidneyOrgan:
				switch qs := o.inner.q(x, y, z); {
				case qs < 0.45:
					t = tUrine
				case qs < 1:
					t = tFat
				case q < 0.72:
					t = tKidneyMedulla
				}
			case hollowOrgan:
				switch {
				case q > 1-wall:
					t = tBowelWall
				case o.label == Stomach && y > a.stomachY:
					t = tAir
				}
			}
			c.tis[p], c.lab[p] = t, lab
		}
	}
}

func paintColumn(c *canvas, k *column, z float64) {
	if z < k.zlo || z > k.zhi {
		return
	}
	paintEllipse(c, k.x(z), k.y(z), k.rx, k.ry, k.t, k.label, true)
}

// paintSpine paints the vertebra or disc at height z.
func (a *anatomy) paintSpine(c *canvas, z float64) {
	lvl := int(math.Floor(z/a.period + 0.5))
	t := z/a.period - float64(lvl) // -0.5..0.5 within the level
	var label uint16
	switch {
	case lvl <= -5:
		label = Sacrum
	case lvl <= 5:
		label = VertebraL2 + uint16(lvl)
	}
	vy, rx := a.vbY(z), a.vbR(z)
	ry := rx * 0.78
	disc := lvl > -5 && math.Abs(t) > 0.38
	cr := a.canalR
	cy := vy - ry - cr*0.9 - 1
	pl := c.pl
	i0, i1, j0, j1 := pl.box(-rx-a.transverseLn-10, rx+a.transverseLn+10, cy-cr-a.spinousLen-12, vy+ry+1)
	arch := !disc && t > -0.35 && t < 0.32
	spinous := t > -0.45 && t < 0.2
	transverse := t > -0.12 && t < 0.22
	tl := a.transverseLn
	if lvl >= 2 { // thoracic: short processes, the ribs take over
		tl *= 0.6
	}
	for j := j0; j <= j1; j++ {
		y := pl.y(j)
		for i := i0; i <= i1; i++ {
			x := pl.x(i)
			p := j*pl.n + i
			dx, dy := x/rx, (y-vy)/ry
			if dy < 0 {
				// The back of the vertebral body is concave, towards the
				// canal: a bean, not an ellipse.
				dy -= 0.22 * math.Exp(-dx*dx/0.2)
			}
			if q := math.Hypot(dx, dy); q < 1 {
				switch {
				case disc:
					c.tis[p], c.lab[p] = tDisc, 0
				case q > 1-1.8/ry:
					c.tis[p], c.lab[p] = tCortical, label
				default:
					c.tis[p], c.lab[p] = tCancellous, label
				}
				continue
			}
			// The canal is a rounded triangle, wide in front, narrow at
			// the back; the neural arch follows it, 4-5 mm thick.
			w := 0.55 + 0.45*math.Max(0, math.Min(1, (y-cy+cr)/(2*cr)))
			ux, uy := x/(cr*1.3*w), (y-cy)/cr
			if ux*ux+uy*uy < 1 {
				c.tis[p], c.lab[p] = tCSF, 0
				continue
			}
			ox, oy := x/(cr*1.3*w+4.5), (y-cy)/(cr+4)
			if arch && ox*ox+oy*oy < 1 {
				c.tis[p], c.lab[p] = tArch, label
				continue
			}
			ax := math.Abs(x)
			back := cy - cr - 3
			if spinous && ax < 3.5 && y < back && y > back-a.spinousLen*(0.6+t) {
				c.tis[p], c.lab[p] = tArch, label
				continue
			}
			if transverse && ax > cr && ax < cr+tl && math.Abs(y-cy-2) < 3.5-1.5*(ax-cr)/tl {
				c.tis[p], c.lab[p] = tArch, label
			}
		}
	}
}

// paintPelvis paints the iliac wings below the iliac crest.
func (a *anatomy) paintPelvis(c *canvas, z float64) {
	if z > a.iliacCrest {
		return
	}
	depth := math.Min(1, (a.iliacCrest-z)/90)
	vby := a.vbY(z)
	w := 1 - 0.25*depth
	thick := 7 + 5*depth
	pl := c.pl
	for _, sd := range []float64{1, -1} {
		cx, cy := sd*45, vby+25
		ax, ay := 80*w, 55*w
		i0, i1, j0, j1 := pl.box(cx-ax-thick, cx+ax+thick, cy-ay-thick, cy+ay+thick)
		for j := j0; j <= j1; j++ {
			y := pl.y(j)
			for i := i0; i <= i1; i++ {
				x := pl.x(i)
				u, v := (x-cx)*sd/ax, (y-cy)/ay
				al := math.Atan2(v, u)
				if al < deg(-100) || al > deg(25) {
					continue
				}
				rho := math.Hypot(u, v)
				ell := math.Hypot(ax*math.Cos(al), ay*math.Sin(al))
				off := math.Abs(rho-1) * ell
				if off > thick/2 {
					continue
				}
				p := j*pl.n + i
				if off > thick/2-1.8 {
					c.tis[p] = tCortical
				} else {
					c.tis[p] = tCancellous
				}
				c.lab[p] = 0
			}
		}
	}
}

// paintTable paints the scanner table under the patient's back.
func (a *anatomy) paintTable(c *canvas, z float64) {
	top := -a.bodyRadius(-math.Pi/2, z) - 2
	pl := c.pl
	for j := 0; j < pl.n; j++ {
		y := pl.y(j)
		for i := 0; i < pl.n; i++ {
			x := pl.x(i)
			if math.Abs(x) > 210 {
				continue
			}
			yt := top + 0.0015*x*x
			d := yt - y
			p := j*pl.n + i
			if c.tis[p] == tAir && ((d > 0 && d < 3) || (d > 38 && d < 41)) {
				c.tis[p] = tTable
			}
		}
	}
}
