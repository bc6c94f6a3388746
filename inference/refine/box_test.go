package refine

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/volume"
)

// Otsu's split explains about 2/π of a Gaussian's variance, and nearly
// all of two tissues' apart: the threshold between them tells one from
// the other.
func TestOtsu(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 4000
	gauss := func(mu, sd float64) float32 { return float32(mu + sd*rng.NormFloat64()) }
	tests := []struct {
		name         string
		value        func(i int) float32
		etaLo, etaHi float64
		tLo, tHi     float64
	}{
		{"one tissue", func(int) float32 { return gauss(60, 12) }, 0.55, 0.69, 40, 80},
		{"spleen and stomach", func(i int) float32 {
			if i%3 == 0 {
				return gauss(30, 12)
			}
			return gauss(120, 12)
		}, 0.85, 1, 60, 90},
		{"bone clamped", func(i int) float32 {
			if i%10 == 0 {
				return 1500
			}
			return gauss(60, 12)
		}, 0, 1, 0, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := make([]float32, n)
			m := section.NewMask(1, n)
			for i := range img {
				img[i], m.Data[i] = tt.value(i), true
			}
			th, eta, ok := otsu(img, m)
			if !ok || eta < tt.etaLo || eta > tt.etaHi || th < tt.tLo || th > tt.tHi {
				t.Errorf("otsu = %.1f HU, η %.3f, %v; want η in [%g, %g], threshold in [%g, %g]", th, eta, ok, tt.etaLo, tt.etaHi, tt.tLo, tt.tHi)
			}
		})
	}
	if _, _, ok := otsu([]float32{5, 5, 5}, section.MaskOf("###")); ok {
		t.Error("otsu of one value: want no split")
	}
}

// tissueScene is a 60×60 slice of 1 mm pixels: an organ of 120 HU (the
// square 10..49) with a neighbour of 30 HU in its top-left corner (the
// square 10..36, near half the answer), broadly joined to it, and fat around. SAM answered the
// box around the organ with both, as it does on patient B's spleen and
// stomach. noise is the density's standard deviation.
func tissueScene(noise float64) (img []float32, organ, raw *section.Mask, box section.Box, sl *section.Slicer) {
	const n = 60
	g := volume.Grid{Dims: [3]int{n, n, 1}, Affine: volume.Identity()}
	sl, _ = section.NewSlicer(g, section.Axial)
	rng := rand.New(rand.NewPCG(3, 4))
	img = make([]float32, n*n)
	organ, raw = section.NewMask(n, n), section.NewMask(n, n)
	for r := 0; r < n; r++ {
		for c := 0; c < n; c++ {
			i := r*n + c
			img[i] = float32(-100 + noise*rng.NormFloat64())
			switch {
			case r >= 10 && r <= 36 && c >= 10 && c <= 36:
				img[i], raw.Data[i] = float32(30+noise*rng.NormFloat64()), true
			case r >= 10 && r <= 49 && c >= 10 && c <= 49:
				img[i], organ.Data[i], raw.Data[i] = float32(120+noise*rng.NormFloat64()), true, true
			}
		}
	}
	return img, organ, raw, section.Box{R0: 10, C0: 10, R1: 49, C1: 49}, sl
}

// A box's answer holding the organ and a neighbour of another density is
// cut to the tissue that fills the box; without the box (a click's
// answer) nothing tells which tissue is meant, and the usual density
// guard keeps the answer's majority.
func TestGuardSplitsTwoTissues(t *testing.T) {
	img, organ, raw, box, sl := tissueScene(10)
	got, note := Guard(img, raw, &box, sl, GuardOptions{})
	if d := section.Dice(got, organ); d < 0.98 {
		t.Errorf("guarded Dice %.3f against the organ (SAM's answer %.3f); note %q", d, section.Dice(raw, organ), note)
	}
	if !strings.Contains(note, "second tissue") {
		t.Errorf("note %q should say a second tissue went", note)
	}
	// Near half the answer, the neighbour widens the density range enough
	// to stay: the split is what removes it.
	off, _ := Guard(img, raw, &box, sl, GuardOptions{SplitEta: -1})
	if d := section.Dice(off, organ); d > 0.9 {
		t.Errorf("split off: Dice %.3f; the scene should defeat the density guard alone", d)
	}
}

// One tissue, noisy or not, is never split, whatever the box.
func TestTwoTissuesLeavesOneTissue(t *testing.T) {
	for _, noise := range []float64{2, 10, 25} {
		img, _, _, box, _ := tissueScene(noise)
		rng := rand.New(rand.NewPCG(5, 6))
		_, _, whole, _, _ := tissueScene(noise)
		for i, on := range whole.Data {
			if on {
				img[i] = float32(120 + noise*rng.NormFloat64())
			}
		}
		if m, th := twoTissues(img, whole, box, 1, 1, GuardOptions{}.withDefaults()); m != nil {
			t.Errorf("noise %g: one tissue split at %.0f HU", noise, th)
		}
	}
}

func TestBoxIoU(t *testing.T) {
	tests := []struct {
		a, b section.Box
		want float64
	}{
		{section.Box{R1: 9, C1: 9}, section.Box{R1: 9, C1: 9}, 1},
		{section.Box{R1: 9, C1: 9}, section.Box{R0: 10, C0: 10, R1: 19, C1: 19}, 0},
		{section.Box{R1: 9, C1: 9}, section.Box{R1: 9, C1: 4}, 0.5},
	}
	for _, tt := range tests {
		if got := boxIoU(tt.a, tt.b); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("boxIoU(%v, %v) = %g, want %g", tt.a, tt.b, got, tt.want)
		}
	}
}

// lScene is a 60×60 slice of 1 mm pixels: an L-shaped organ of 120 HU
// (rows 10..49 of columns 10..30, and rows 35..49 of columns 10..49) whose
// bounds are the box, a neighbour of the same density in the box's
// free corner (rows 10..30, columns 35..49) joined to the organ by a
// bridge 2 pixels wide, and fat around. SAM's answer stops along a
// straight line at row 25.
func lScene() (img []float32, organ, answer *section.Mask, box section.Box) {
	const n = 60
	rng := rand.New(rand.NewPCG(7, 8))
	img = make([]float32, n*n)
	organ, answer = section.NewMask(n, n), section.NewMask(n, n)
	for r := 0; r < n; r++ {
		for c := 0; c < n; c++ {
			i := r*n + c
			img[i] = float32(-100 + 10*rng.NormFloat64())
			inOrgan := (r >= 10 && r <= 49 && c >= 10 && c <= 30) || (r >= 35 && r <= 49 && c >= 10 && c <= 49)
			neighbour := (r >= 10 && r <= 30 && c >= 35 && c <= 49) || (r >= 20 && r <= 21 && c > 30 && c < 35)
			if inOrgan || neighbour {
				img[i] = float32(120 + 10*rng.NormFloat64())
			}
			organ.Data[i] = inOrgan
			answer.Data[i] = inOrgan && r <= 25
		}
	}
	return img, organ, answer, section.Box{R0: 10, C0: 10, R1: 49, C1: 49}
}

// An answer that stops short of the box's sides is grown there through
// the organ's tissue, not through a neck into a neighbour; an answer that
// reaches every side stays as it is.
func TestFillBox(t *testing.T) {
	img, organ, answer, box := lScene()
	o := GuardOptions{}.withDefaults()
	got := fillBox(img, answer, box, 1, 1, o)
	if d := section.Dice(got, organ); d < 0.97 {
		t.Errorf("grown answer: Dice %.3f against the organ (the answer %.3f)", d, section.Dice(answer, organ))
	}
	if got.Data[15*60+45] {
		t.Error("the answer grew through the bridge into the neighbour")
	}
	if same := fillBox(img, organ, box, 1, 1, o); section.Dice(same, organ) != 1 {
		t.Error("an answer reaching every side of the box changed")
	}
	o.FillGapMM = 30
	if short := fillBox(img, answer, box, 1, 1, o); section.Dice(short, answer) != 1 {
		t.Error("an answer within FillGapMM of every side changed")
	}
}
