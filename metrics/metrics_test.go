package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

func mask(d [3]int, on ...[3]int) []bool {
	m := make([]bool, d[0]*d[1]*d[2])
	for _, v := range on {
		m[v[0]+d[0]*(v[1]+d[1]*v[2])] = true
	}
	return m
}

func TestCompare(t *testing.T) {
	d := [3]int{6, 5, 4}
	cube := func(off int) []bool {
		var on [][3]int
		for k := 1; k < 3; k++ {
			for j := 1; j < 3; j++ {
				for i := 1 + off; i < 3+off; i++ {
					on = append(on, [3]int{i, j, k})
				}
			}
		}
		return mask(d, on...)
	}
	nan := math.NaN()
	tests := []struct {
		name      string
		p, r      []bool
		sp        [3]float64
		dice      float64
		hd95      float64
		assd      float64
		defined   bool
		bothEmpty bool
	}{
		{"identical", cube(0), cube(0), [3]float64{1, 1, 1}, 1, 0, 0, true, false},
		{"both empty", mask(d), mask(d), [3]float64{1, 1, 1}, 1, 0, 0, true, true},
		{"prediction empty", mask(d), cube(0), [3]float64{1, 1, 1}, 0, nan, nan, false, false},
		{"reference empty", cube(0), mask(d), [3]float64{1, 1, 1}, 0, nan, nan, false, false},
		{"single voxels 3 apart, spacing 2", mask(d, [3]int{0, 0, 0}), mask(d, [3]int{3, 0, 0}), [3]float64{2, 1, 1}, 0, 6, 6, true, false},
		{"diagonal, anisotropic", mask(d, [3]int{0, 0, 0}), mask(d, [3]int{1, 1, 0}), [3]float64{1, 2, 3}, 0, math.Sqrt(5), math.Sqrt(5), true, false},
		// Cubes of 8 voxels shifted by one along i: 4 shared; every
		// surface voxel is at distance 0 or 1 (half of each: 8 zeros, 8 ones).
		{"shifted cube", cube(1), cube(0), [3]float64{1, 1, 1}, 0.5, 1, 0.5, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Compare(tc.p, tc.r, d, tc.sp)
			if err != nil {
				t.Fatal(err)
			}
			same := func(a, b float64) bool {
				return (math.IsNaN(a) && math.IsNaN(b)) || math.Abs(a-b) < 1e-9
			}
			if !same(got.Dice, tc.dice) || !same(got.HD95, tc.hd95) || !same(got.ASSD, tc.assd) ||
				got.Defined != tc.defined || got.BothEmpty != tc.bothEmpty {
				t.Errorf("got Dice %v HD95 %v ASSD %v defined %v bothEmpty %v; want %v %v %v %v %v",
					got.Dice, got.HD95, got.ASSD, got.Defined, got.BothEmpty, tc.dice, tc.hd95, tc.assd, tc.defined, tc.bothEmpty)
			}
		})
	}
}

func TestCompareSizeMismatch(t *testing.T) {
	if _, err := Compare(make([]bool, 3), make([]bool, 4), [3]int{2, 2, 1}, [3]float64{1, 1, 1}); err == nil {
		t.Fatal("masks of the wrong size were accepted")
	}
}

func TestVolume(t *testing.T) {
	d := [3]int{10, 10, 10}
	p := mask(d, [3]int{1, 1, 1}, [3]int{2, 1, 1})
	r := mask(d, [3]int{1, 1, 1})
	got, err := Compare(p, r, d, [3]float64{10, 10, 5}) // 0.5 mL per voxel
	if err != nil {
		t.Fatal(err)
	}
	if got.VolumeP != 1 || got.VolumeR != 0.5 || got.RelVolumeError != 1 {
		t.Errorf("volumes %v / %v mL, relative error %v; want 1, 0.5, 1", got.VolumeP, got.VolumeR, got.RelVolumeError)
	}
}

// The distance transform must agree with brute force on random masks with
// anisotropic spacing.
func TestDirectedMatchesBruteForce(t *testing.T) {
	d := [3]int{9, 7, 6}
	sp := [3]float64{0.8, 1.3, 2.5}
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 5; trial++ {
		a, b := make([]bool, 9*7*6), make([]bool, 9*7*6)
		for i := range a {
			a[i] = rng.Float64() < 0.3
			b[i] = rng.Float64() < 0.2
		}
		got := directed(a, b, d, sp)
		sa, sb := surface(a, d), surface(b, d)
		n := 0
		for i, on := range sa {
			if !on {
				continue
			}
			best := math.Inf(1)
			for j, onb := range sb {
				if !onb {
					continue
				}
				dx := float64(i%9-j%9) * sp[0]
				dy := float64((i/9)%7-(j/9)%7) * sp[1]
				dz := float64(i/63-j/63) * sp[2]
				best = min(best, math.Sqrt(dx*dx+dy*dy+dz*dz))
			}
			if math.Abs(got[n]-best) > 1e-9 {
				t.Fatalf("trial %d voxel %d: distance %v, brute force %v", trial, i, got[n], best)
			}
			n++
		}
	}
}
