package phantom

import (
	"math"
	"math/rand/v2"
)

// anatomy is one random patient in world coordinates (RAS+, mm). The origin
// is on the body's axis at the middle of vertebra L2, the level of the renal
// hila; +x is the patient's right, +y anterior, +z superior.
type anatomy struct {
	// Body outline: a super-ellipse, round in front, flatter at the back,
	// wobbled by angular harmonics and by slow variation along z.
	halfW, halfAnt, halfPost float64
	backExp                  float64
	harm                     []harmonic
	sizeZ                    waves
	skin                     float64
	fat0                     float64
	fatHarm                  []harmonic

	// Spine.
	period       float64 // vertebra + disc height
	vbY0         float64 // y of the vertebral body centre at z = 0
	vbR0         float64 // vertebral body half-width at z = 0
	lordosis     float64 // forward bulge of the lumbar spine, mm
	canalR       float64
	spinousLen   float64
	transverseLn float64

	ribs       []rib
	domeTop    [2]float64 // right, left diaphragm dome height
	domeDrop   float64
	iliacCrest float64

	organs   []organ
	columns  []column
	pancreas []tube // painted before the bowel, which packs around it
	bowel    []tube // painted before the organs, which cover it
	tubes    []tube // vessels, painted after the organs
	fecesTex waves
	stomachY float64 // air-fluid level in the stomach

	// Arms down beside the body, as in patient B, for some patients.
	arms                 bool
	armGap, armRx, armRy float64
	armY, armFat, boneR  float64
}

type harmonic struct{ k, amp, phase float64 }

type rib struct {
	side    float64 // +1 right, -1 left
	zHead   float64
	drop    float64 // how far the rib descends from its head to the end of the bone
	phiMax  float64 // angle from the posterior midline where it ends
	phiCart float64 // beyond this angle the rib is costal cartilage
}

// organ is a labelled blob with an optional inner structure.
type organ struct {
	kind  organKind
	b     blob
	t     tissue
	label uint16
	inner blob // kidney sinus
	clip  bool // keep below the diaphragm
}

type organKind int

const (
	plainOrgan organKind = iota
	kidneyOrgan
	hollowOrgan // a wall around contents: stomach (with gas), bladder
	haloOrgan   // perirenal fat: a blob of fat that clears space
)

func normal(r *rand.Rand, mean, sd float64) float64 { return mean + sd*r.NormFloat64() }

func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// newAnatomy draws a patient. Every random choice is made here, in a fixed
// order, so one seed always makes the same patient.
func newAnatomy(r *rand.Rand) *anatomy {
	a := &anatomy{}
	a.halfW = uniform(r, 140, 178)
	a.halfAnt = a.halfW * uniform(r, 0.66, 0.78)
	a.halfPost = a.halfAnt * uniform(r, 0.88, 0.97)
	a.backExp = uniform(r, 2.4, 3.0)
	for k := 2; k <= 5; k++ {
		a.harm = append(a.harm, harmonic{float64(k), normal(r, 0, 0.012), uniform(r, 0, 2*math.Pi)})
	}
	a.sizeZ = newWaves(r, 3, 250, 500)
	a.skin = uniform(r, 1.5, 2.5)
	a.fat0 = uniform(r, 9, 30)
	for k := 1; k <= 3; k++ {
		a.fatHarm = append(a.fatHarm, harmonic{float64(k), normal(r, 0, 0.12), uniform(r, 0, 2*math.Pi)})
	}
	s := a.halfW / 160 // lateral size scale
	sy := (a.halfAnt + a.halfPost) / 225

	a.period = uniform(r, 32, 36)
	a.vbR0 = uniform(r, 22, 26)
	a.vbY0 = -a.halfPost + a.fatAt(-math.Pi/2) + uniform(r, 62, 72)*sy
	a.lordosis = uniform(r, 4, 14)
	a.canalR = uniform(r, 7, 8.5)
	a.spinousLen = uniform(r, 28, 38)
	a.transverseLn = uniform(r, 20, 28) * s

	for _, side := range []float64{1, -1} {
		for n := 5; n <= 12; n++ {
			rb := rib{side: side}
			rb.zHead = float64(14-n)*a.period + normal(r, 0, 3)
			switch n {
			case 12:
				rb.drop, rb.phiMax, rb.phiCart = uniform(r, 45, 65), deg(uniform(r, 85, 110)), 9
			case 11:
				rb.drop, rb.phiMax, rb.phiCart = uniform(r, 70, 95), deg(uniform(r, 115, 135)), 9
			default:
				rb.drop = uniform(r, 170, 220)
				rb.phiMax = deg(uniform(r, 165, 178))
				rb.phiCart = deg(uniform(r, 125, 140) + float64(n-5)*2)
			}
			a.ribs = append(a.ribs, rb)
		}
	}
	a.domeTop = [2]float64{uniform(r, 150, 175), uniform(r, 135, 160)}
	a.domeDrop = uniform(r, 45, 65)
	a.iliacCrest = -2*a.period + normal(r, -10, 6)

	a.addOrgans(r, s, sy)
	a.addVessels(r, s, sy)
	a.addBowel(r, s, sy)
	a.arms = r.Float64() < 0.3
	a.armGap = uniform(r, 3, 20)
	a.armRx, a.armRy = uniform(r, 35, 48), uniform(r, 40, 55)
	a.armY = normal(r, -10, 10)
	a.armFat = uniform(r, 4, 15)
	a.boneR = uniform(r, 8, 11)
	return a
}

func deg(d float64) float64 { return d * math.Pi / 180 }

// fatAt returns the subcutaneous fat thickness at body angle th (radians,
// 0 = patient's right, pi/2 = anterior).
func (a *anatomy) fatAt(th float64) float64 {
	f := 0.85 + 0.3*math.Cos(2*th)
	for _, h := range a.fatHarm {
		f += h.amp * math.Cos(h.k*th+h.phase)
	}
	return math.Max(3, a.fat0*f)
}

// muscleAt returns the thickness of the abdominal wall muscles at angle th
// and height z; below the iliac crest the gluteal muscles thicken the
// posterolateral wall.
func (a *anatomy) muscleAt(th, z float64) float64 {
	c := math.Cos(th)
	m := 8 + 7*c*c
	if sn := math.Sin(th); sn < 0 && z < a.iliacCrest {
		m += 40 * math.Min(1, (a.iliacCrest-z)/70) * (-sn) * c * c
	}
	return m
}

// bodyRadius returns the distance from the body axis to the skin at angle
// th and height z.
func (a *anatomy) bodyRadius(th, z float64) float64 {
	sc := 1 + 0.04*a.sizeZ.at(0, 0, z)
	if z < a.iliacCrest { // the pelvis is wider than the waist
		sc *= 1 + 0.06*math.Min(1, (a.iliacCrest-z)/60)
	}
	c, sn := math.Cos(th), math.Sin(th)
	bw := a.halfW * sc
	var r float64
	if sn >= 0 {
		bh := a.halfAnt * sc
		r = 1 / math.Sqrt(c*c/(bw*bw)+sn*sn/(bh*bh))
	} else {
		bh := a.halfPost * sc
		p := a.backExp
		r = math.Pow(math.Pow(math.Abs(c)/bw, p)+math.Pow(math.Abs(sn)/bh, p), -1/p)
	}
	f := 1.0
	for _, h := range a.harm {
		f += h.amp * math.Cos(h.k*th+h.phase)
	}
	return r * f
}

// vbY returns the y of the vertebral body centre at height z: the lumbar
// lordosis brings the mid-lumbar spine forward.
func (a *anatomy) vbY(z float64) float64 {
	d := (z + 1.5*a.period) / (3 * a.period)
	return a.vbY0 + a.lordosis*math.Exp(-d*d)
}

// vbR returns the vertebral body half-width: vertebrae grow downwards.
func (a *anatomy) vbR(z float64) float64 {
	return math.Max(15, math.Min(27, a.vbR0-0.03*z))
}

func (a *anatomy) addOrgans(r *rand.Rand, s, sy float64) {
	cav := a.halfW - a.fatAt(0) - 15 // lateral extent of the abdominal cavity
	vby := a.vbY0
	vbr := a.vbR0

	// Liver: a big right lobe that fills the right upper quadrant (the body
	// wall and the diaphragm clip it into shape) and a left lobe reaching
	// across the midline in front of the stomach.
	lv := uniform(r, 0.85, 1.05)
	right := newBlob(r,
		[3]float64{0.45*cav + normal(r, 0, 6), normal(r, 8, 6), normal(r, 88, 8)},
		[3]float64{82 * s * lv, 85 * sy * lv, 90 * lv},
		deg(normal(r, 0, 8)), deg(normal(r, 0, 5)), deg(normal(r, -8, 5)), 0.35, 0.11)
	left := newBlob(r,
		[3]float64{normal(r, -15, 8) * s, vby + (normal(r, 85, 8))*sy, normal(r, 105, 8)},
		[3]float64{64 * s * lv, 35 * sy * lv, 42 * lv},
		deg(normal(r, 15, 8)), 0, deg(normal(r, 10, 5)), 0.1, 0.12)

	// Kidneys: the right one lower, both tilted with upper poles medial and
	// posterior, hila facing anteromedially, wrapped in perirenal fat.
	var kid [2]organ
	var halo [2]organ
	for i, side := range []float64{1, -1} {
		kz := normal(r, -22, 8)
		if side < 0 {
			kz += uniform(r, 5, 20)
		}
		c := [3]float64{side * (vbr + normal(r, 48, 5)*s), vby - normal(r, 4, 4), kz}
		ks := uniform(r, 0.9, 1.1)
		ax := [3]float64{25 * ks, 21 * ks, 55 * ks}
		yaw := -side * deg(normal(r, 35, 6))
		b := newBlob(r, c, ax, yaw, deg(normal(r, 15, 5)), side*deg(normal(r, 15, 5)), 0, 0.05)
		// The sinus sits on the medial side: local -x for the right kidney,
		// +x for the left (see the yaw above).
		lx := -side * 0.55 * ax[0]
		sc := [3]float64{
			c[0] + b.rot[0][0]*lx, c[1] + b.rot[0][1]*lx, c[2] + b.rot[0][2]*lx,
		}
		sinus := newBlob(r, sc, [3]float64{0.5 * ax[0], 0.45 * ax[1], 0.55 * ax[2]}, yaw, deg(15), side*deg(15), 0, 0.1)
		lab := KidneyRight
		if side < 0 {
			lab = KidneyLeft
		}
		kid[i] = organ{kind: kidneyOrgan, b: b, t: tKidneyCortex, label: lab, inner: sinus}
		hb := b
		hb.ax = [3]float64{ax[0] + 4, ax[1] + 4, ax[2] + 5}
		hb.reach = b.reach + 10
		halo[i] = organ{kind: haloOrgan, b: hb, t: tFat}
	}

	spleen := newBlob(r,
		[3]float64{-(vbr + normal(r, 80, 6)*s), vby + normal(r, 5, 5)*sy, normal(r, 85, 8)},
		[3]float64{27 * s, 58 * sy, 55},
		deg(normal(r, 35, 8)), deg(normal(r, 10, 5)), 0, 0.1, 0.13)

	stomach := newBlob(r,
		[3]float64{-normal(r, 50, 8) * s, vby + normal(r, 88, 8)*sy, normal(r, 95, 8)},
		[3]float64{48 * s, 40 * sy, 58},
		deg(normal(r, 30, 8)), 0, deg(normal(r, -15, 8)), 0.2, 0.12)
	antrum := newBlob(r,
		[3]float64{normal(r, 5, 8) * s, vby + normal(r, 85, 8)*sy, normal(r, 50, 6)},
		[3]float64{22 * s, 20 * sy, 45 * s},
		deg(normal(r, 10, 8)), 0, deg(90), 0, 0.1)
	a.stomachY = stomach.c[1] + stomach.ax[1]*uniform(r, 0.1, 0.7)

	gb := newBlob(r,
		[3]float64{normal(r, 45, 6) * s, vby + normal(r, 75, 6)*sy, normal(r, 30, 8)},
		[3]float64{15, 16, normal(r, 35, 5)},
		deg(normal(r, 20, 10)), deg(normal(r, -30, 8)), 0, 0, 0.06)

	bladder := newBlob(r,
		[3]float64{normal(r, 0, 5), vby + normal(r, 65, 8)*sy, normal(r, -190, 10)},
		[3]float64{normal(r, 45, 6), normal(r, 35, 5), normal(r, 35, 6)},
		deg(normal(r, 0, 8)), 0, 0, 0, 0.08)

	// Painting order matters: later organs cover earlier ones where they
	// overlap, as the kidneys push into the liver's posterior surface.
	a.organs = append(a.organs,
		organ{kind: hollowOrgan, b: stomach, t: tBowelFluid, label: Stomach, clip: true},
		organ{kind: hollowOrgan, b: antrum, t: tBowelFluid, label: Stomach, clip: true},
		organ{b: right, t: tLiver, label: Liver, clip: true},
		organ{b: left, t: tLiver, label: Liver, clip: true},
		organ{b: spleen, t: tSpleen, label: Spleen, clip: true},
		halo[0], halo[1], kid[0], kid[1],
		organ{b: gb, t: tBile, label: Gallbladder, clip: true},
		organ{kind: hollowOrgan, b: bladder, t: tUrine, label: UrinaryBladder},
	)
}

func (a *anatomy) addVessels(r *rand.Rand, s, sy float64) {
	ax := normal(r, -14, 3) * s
	ra := uniform(r, 9.5, 13)
	wob := newWaves(r, 2, 200, 400)
	zBif := -2*a.period + normal(r, -5, 6)
	aortaX := func(z float64) float64 { return ax + 3*wob.at(0, 0, z) }
	aortaY := func(z float64) float64 { return a.vbY(z) + a.vbR(z)*0.75 + ra + 3 }
	a.columns = append(a.columns, column{zlo: zBif, zhi: 1e4, x: aortaX, y: aortaY, rx: ra, ry: ra, t: tArtery, label: Aorta})
	for _, side := range []float64{1, -1} {
		sd := side
		a.columns = append(a.columns, column{zlo: -1e4, zhi: zBif + 5,
			x:  func(z float64) float64 { return aortaX(zBif) + sd*(6+(zBif-z)*0.45) },
			y:  func(z float64) float64 { return aortaY(zBif) - (zBif-z)*0.15 },
			rx: 6.5, ry: 6.5, t: tArtery})
	}
	ix := normal(r, 20, 3) * s
	zConf := zBif - uniform(r, 8, 20)
	ivcX := func(z float64) float64 { return ix + 2*wob.at(0, 0, z+50) }
	ivcY := func(z float64) float64 { return a.vbY(z) + a.vbR(z)*0.6 + 10 }
	rx, ry := uniform(r, 11, 15), uniform(r, 7, 10)
	a.columns = append(a.columns, column{zlo: zConf, zhi: 1e4, x: ivcX, y: ivcY, rx: rx, ry: ry, t: tVein, label: InferiorVenaCava})
	for _, side := range []float64{1, -1} {
		sd := side
		a.columns = append(a.columns, column{zlo: -1e4, zhi: zConf + 5,
			x:  func(z float64) float64 { return ivcX(zConf) + sd*(8+(zConf-z)*0.45) - 6 },
			y:  func(z float64) float64 { return ivcY(zConf) - 4 - (zConf-z)*0.2 },
			rx: 8, ry: 7, t: tVein})
	}

	// Pancreas, splenic and portal veins: tubes from the duodenal curve to
	// the splenic hilum and into the liver.
	vby := a.vbY0 + a.lordosis*0.3
	zp := normal(r, 22, 6)
	head := [3]float64{normal(r, 30, 5) * s, vby + 45*sy, zp - 12}
	neck := [3]float64{0, vby + 55*sy, zp}
	body := [3]float64{-45 * s, vby + 45*sy, zp + 8}
	tail := [3]float64{-(a.vbR0 + 68*s), vby + 12*sy, zp + 22}
	pr := uniform(r, 11, 14)
	pan := tube{lumen: tPancreas, label: Pancreas}
	for _, seg := range [][2][3]float64{{head, neck}, {neck, body}, {body, tail}} {
		pan.add(seg[0], seg[1], pr, 0)
		pr *= 0.85
	}
	a.pancreas = append(a.pancreas, pan)
	off := func(p [3]float64, dy float64) [3]float64 { p[1] += dy; return p }
	conf := off(neck, -10)
	hilum := [3]float64{normal(r, 40, 5) * s, normal(r, 25, 5), normal(r, 70, 6)}
	portal := tube{lumen: tPortal, label: PortalSplenicVein}
	portal.add(conf, off(body, -10), 4.5, 0)
	portal.add(off(body, -10), off(tail, -8), 4.5, 0)
	portal.add(conf, hilum, uniform(r, 6, 8), 0)
	a.tubes = append(a.tubes, portal)
	// Vessels inside the liver: hepatic veins fanning out from the vena
	// cava under the dome, portal branches from the hilum. They keep the
	// liver's label, as TotalSegmentator's liver masks do.
	var liver blob
	for _, o := range a.organs {
		if o.label == Liver {
			liver = o.b
			break
		}
	}
	lc := liver.c
	zhv := lc[2] + uniform(r, 20, 40)
	ivcTop := [3]float64{ivcX(zhv), ivcY(zhv), zhv}
	for _, end := range [][3]float64{
		{lc[0] + 0.8*liver.ax[0], lc[1] - 0.1*liver.ax[1], zhv + 10},
		{lc[0] + 0.1*liver.ax[0], lc[1] + 0.6*liver.ax[1], zhv + 15},
		{lc[0] - 0.7*liver.ax[0], lc[1] + 0.7*liver.ax[1], zhv + 5},
	} {
		a.tubes = append(a.tubes, branch(r, ivcTop, end, 6, 2, tVein))
	}
	for _, end := range [][3]float64{
		{lc[0] + 0.7*liver.ax[0], lc[1] - 0.3*liver.ax[1], lc[2] - 15},
		{lc[0] + 0.5*liver.ax[0], lc[1] + 0.4*liver.ax[1], lc[2] - 25},
		{lc[0] - 0.6*liver.ax[0], lc[1] + 0.6*liver.ax[1], lc[2] + 15},
	} {
		a.tubes = append(a.tubes, branch(r, hilum, end, 5, 1.8, tPortal))
	}
	// Renal veins run from the hila to the inferior vena cava.
	for _, o := range a.organs {
		if o.kind != kidneyOrgan {
			continue
		}
		p := o.inner.c
		rv := tube{lumen: tVein, onlyIn: tFat}
		rv.add(p, [3]float64{ivcX(p[2]), ivcY(p[2]), p[2] + 10}, 4.5, 0)
		a.tubes = append(a.tubes, rv)
	}
	// Mesenteric and retroperitoneal vessels: short bright (with contrast)
	// or grey streaks that break up the fat, as in real scans.
	for i := 0; i < 280; i++ {
		p := [3]float64{uniform(r, -80, 80) * s, vby + uniform(r, 20, 120)*sy, uniform(r, -160, 50)}
		if i%5 == 0 {
			p[0] = (a.vbR0 + uniform(r, 15, 90)) * s * math.Copysign(1, p[0])
			p[1] = vby + uniform(r, -40, 25)*sy
		}
		d := [3]float64{normal(r, 0, 15), normal(r, 0, 15), normal(r, 0, 15)}
		mv := tube{lumen: tVein, onlyIn: tFat}
		mv.add(p, [3]float64{p[0] + d[0], p[1] + d[1], p[2] + d[2]}, uniform(r, 1.0, 2.2), 0)
		a.tubes = append(a.tubes, mv)
	}
}

// branch returns a vessel inside the liver from p0 to p1, wiggling, its
// radius shrinking from r0 to r1.
func branch(r *rand.Rand, p0, p1 [3]float64, r0, r1 float64, t tissue) tube {
	tb := tube{lumen: t, label: Liver, onlyIn: tLiver}
	const n = 5
	prev := p0
	for i := 1; i <= n; i++ {
		f := float64(i) / n
		q := lerp3(p0, p1, f)
		if i < n {
			for j := range q {
				q[j] += normal(r, 0, 6)
			}
		}
		tb.add(prev, q, r0+(r1-r0)*f, 0)
		prev = q
	}
	return tb
}

// addBowel lays the colon along its frame and small-bowel loops as random
// walks in the lower abdomen.
func (a *anatomy) addBowel(r *rand.Rand, s, sy float64) {
	vby := a.vbY0
	cav := a.halfW - a.fatAt(0) - 18
	pts := [][3]float64{
		{0.55 * cav, vby + 55*sy, -150},
		{0.62 * cav, vby + 40*sy, -80},
		{0.65 * cav, vby + 35*sy, -20},
		{0.55 * cav, vby + 70*sy, 15},
		{0.2 * cav, vby + 115*sy, 0},
		{-0.25 * cav, vby + 110*sy, 10},
		{-0.6 * cav, vby + 55*sy, 45},
		{-0.68 * cav, vby + 25*sy, 0},
		{-0.66 * cav, vby + 30*sy, -80},
		{-0.5 * cav, vby + 60*sy, -140},
		{-0.1 * cav, vby + 50*sy, -175},
	}
	for i := range pts {
		for j := range pts[i] {
			pts[i][j] += normal(r, 0, 7)
		}
	}
	// The duodenum: a C around the head of the pancreas, from the pylorus
	// down the right side, across in front of the spine and up to the
	// left. Painted first, it keeps its place among the other loops.
	duo := tube{wall: 2, lumen: tBowelFluid, label: Duodenum, onlyIn: tFat}
	dz := a.pancreas[0].segs[0].p0[2]
	dpts := [][3]float64{
		{25 * s, vby + 80*sy, dz + 15},
		{50 * s, vby + 55*sy, dz + 5},
		{52 * s, vby + 40*sy, dz - 20},
		{35 * s, vby + 38*sy, dz - 45},
		{-5 * s, vby + 45*sy, dz - 50},
		{-30 * s, vby + 45*sy, dz - 35},
	}
	dair := 0.0
	if r.Float64() < 0.5 {
		dair = uniform(r, 0.1, 0.4)
	}
	dr := uniform(r, 9, 13)
	for i := 0; i+1 < len(dpts); i++ {
		duo.add(dpts[i], dpts[i+1], dr, dair)
	}
	a.bowel = append(a.bowel, duo)

	air := uniform(r, 0.0, 0.3)
	rc := uniform(r, 17, 24)
	hw := newWaves(r, 2, 30, 50)
	colon := tube{wall: 2.5, lumen: tFeces, feces: true, label: Colon, onlyIn: tFat}
	for i := 0; i+1 < len(pts); i++ {
		p0, p1 := pts[i], pts[i+1]
		n := int(dist3(p0, p1)/10) + 1
		for k := 0; k < n; k++ {
			q0 := lerp3(p0, p1, float64(k)/float64(n))
			q1 := lerp3(p0, p1, float64(k+1)/float64(n))
			rr := rc * (1 + 0.12*hw.at(q0[0], q0[1], q0[2]))
			colon.add(q0, q1, rr, math.Max(0, math.Min(1, air+0.2*r.NormFloat64())))
		}
	}
	a.bowel = append(a.bowel, colon)

	loops := 10 + r.IntN(5)
	for l := 0; l < loops; l++ {
		p := [3]float64{uniform(r, -60, 60) * s, vby + uniform(r, 40, 100)*sy, uniform(r, -150, 0)}
		// Jejunal loops reach up into the left upper quadrant.
		top := -5.0
		if p[0] < 0 {
			top = 30
		}
		d := [3]float64{r.NormFloat64(), r.NormFloat64(), r.NormFloat64() * 0.5}
		rad := uniform(r, 9, 15)
		air := 0.0
		if r.Float64() < 0.4 {
			air = uniform(r, 0.1, 0.5)
		}
		sb := tube{wall: 2, lumen: tBowelFluid, label: SmallBowel, onlyIn: tFat}
		for step := 0; step < 60; step++ {
			for j := range d {
				d[j] += 0.6 * r.NormFloat64()
			}
			n := math.Sqrt(d[0]*d[0] + d[1]*d[1] + d[2]*d[2])
			q := p
			for j := range d {
				d[j] /= n
				q[j] += 9 * d[j]
			}
			// Stay inside the small-bowel region by turning back at its
			// borders.
			lo := [3]float64{-80 * s, vby + 15*sy, -170}
			hi := [3]float64{80 * s, vby + 125*sy, top}
			for j := range q {
				if q[j] < lo[j] || q[j] > hi[j] {
					d[j] = -d[j]
					q[j] = p[j] + 9*d[j]
				}
			}
			sb.add(p, q, rad, air)
			p = q
		}
		a.bowel = append(a.bowel, sb)
	}
	a.fecesTex = newWaves(r, 6, 5, 10)
}

func dist3(a, b [3]float64) float64 {
	dx, dy, dz := a[0]-b[0], a[1]-b[1], a[2]-b[2]
	return math.Sqrt(dx*dx + dy*dy + dz*dz)
}

func lerp3(a, b [3]float64, t float64) [3]float64 {
	return [3]float64{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1]), a[2] + t*(b[2]-a[2])}
}
