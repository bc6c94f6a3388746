package metrics

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func mask(d [3]int, on ...[3]int) []bool {
	m := make([]bool, d[0]*d[1]*d[2])
	for _, v := range on {
		m[v[0]+d[0]*(v[1]+d[1]*v[2])] = true
	}
	return m
}

// block returns the voxels of the box [lo, hi) of a grid of dims d.
func block(d, lo, hi [3]int) []bool {
	var on [][3]int
	for k := lo[2]; k < hi[2]; k++ {
		for j := lo[1]; j < hi[1]; j++ {
			for i := lo[0]; i < hi[0]; i++ {
				on = append(on, [3]int{i, j, k})
			}
		}
	}
	return mask(d, on...)
}

func same(a, b float64) bool {
	return (math.IsNaN(a) && math.IsNaN(b)) || math.Abs(a-b) < 1e-9
}

// TestCompare checks cases computed by hand. Distances are between surface
// voxel centres, both ways, pooled; HD95 is NumPy's linear-interpolation
// percentile of the pooled set, ASSD its mean.
func TestCompare(t *testing.T) {
	d := [3]int{6, 5, 4}
	cube := func(off int) []bool { return block(d, [3]int{1 + off, 1, 1}, [3]int{3 + off, 3, 3}) }
	iso := [3]float64{1, 1, 1}
	nan := math.NaN()
	sqrt := math.Sqrt
	g3 := [3]int{3, 3, 3}
	full3 := block(g3, [3]int{}, g3)
	centre3 := mask(g3, [3]int{1, 1, 1})
	g8 := [3]int{2, 2, 8}
	tests := []struct {
		name             string
		d                [3]int
		p, r             []bool
		sp               [3]float64
		dice, hd95, assd float64
		defined, both    bool
	}{
		{"identical", d, cube(0), cube(0), iso, 1, 0, 0, true, false},
		{"both empty", d, mask(d), mask(d), iso, 1, 0, 0, true, true},
		{"prediction empty", d, mask(d), cube(0), iso, 0, nan, nan, false, false},
		{"reference empty", d, cube(0), mask(d), iso, 0, nan, nan, false, false},
		{"single voxels 3 apart, spacing 2", d, mask(d, [3]int{0, 0, 0}), mask(d, [3]int{3, 0, 0}), [3]float64{2, 1, 1}, 0, 6, 6, true, false},
		{"diagonal, anisotropic", d, mask(d, [3]int{0, 0, 0}), mask(d, [3]int{1, 1, 0}), [3]float64{1, 2, 3}, 0, sqrt(5), sqrt(5), true, false},
		// Cubes of 8 voxels shifted by one along i: 4 shared; every
		// surface voxel is at distance 0 or 1 (half of each: 8 zeros, 8 ones).
		{"shifted cube", d, cube(1), cube(0), iso, 0.5, 1, 0.5, true, false},
		// 2x2x2 cubes at k 0-1 and k 4-5, 2.5 mm slices: from each cube
		// 4 voxels are 3 slices from the other's nearest face (7.5 mm), 4
		// are 4 slices away (10 mm). Pooled: 8 x 7.5, 8 x 10; the 95th
		// percentile lies between the 15th and 16th values, both 10.
		{"disjoint cubes along k, 2.5 mm slices", g8, block(g8, [3]int{0, 0, 0}, [3]int{2, 2, 2}), block(g8, [3]int{0, 0, 4}, [3]int{2, 2, 6}), [3]float64{0.7, 0.7, 2.5}, 0, 10, 8.75, true, false},
		// A cube filling a 3x3x3 grid (the grid's border is outside it, so
		// its surface is its 26 outer voxels) against its centre voxel,
		// spacing 1 x 2 x 3 mm. Cube to centre: 2 faces at 1, 2 at 2, 2 at
		// 3; 4 edges each at √5, √10, √13; 8 corners at √14. Centre to
		// cube: the centre is not on the cube's surface, so 1 (the nearest
		// face along i), not 0. 27 pooled values; the 95th percentile
		// (position 24.7) is √14.
		{"filled grid against its centre, anisotropic", g3, full3, centre3, [3]float64{1, 2, 3}, 2.0 / 28, sqrt(14),
			(3 + 2*2 + 2*3 + 4*sqrt(5) + 4*sqrt(10) + 4*sqrt(13) + 8*sqrt(14)) / 27, true, false},
		// One voxel against two: distances 2 (P to R) and 2, 5 (R to P),
		// pooled [2 2 5]. 95th percentile at position 1.9: 2 + 0.9·3 = 4.7;
		// the pooled mean is 3 (medpy's assd, the mean of the two
		// directed means 2 and 3.5, would give 2.75).
		{"percentile interpolates, ASSD pools", [3]int{6, 1, 1}, mask([3]int{6, 1, 1}, [3]int{0, 0, 0}), mask([3]int{6, 1, 1}, [3]int{2, 0, 0}, [3]int{5, 0, 0}), iso, 0, 4.7, 3, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Compare(tc.p, tc.r, tc.d, tc.sp)
			if err != nil {
				t.Fatal(err)
			}
			if !same(got.Dice, tc.dice) || !same(got.HD95, tc.hd95) || !same(got.ASSD, tc.assd) ||
				got.Defined != tc.defined || got.BothEmpty != tc.both || got.Failure() == tc.defined {
				t.Errorf("got Dice %v HD95 %v ASSD %v defined %v bothEmpty %v; want %v %v %v %v %v",
					got.Dice, got.HD95, got.ASSD, got.Defined, got.BothEmpty, tc.dice, tc.hd95, tc.assd, tc.defined, tc.both)
			}
		})
	}
}

func TestCompareRefuses(t *testing.T) {
	tests := []struct {
		name string
		p, r []bool
		d    [3]int
		sp   [3]float64
	}{
		{"masks of the wrong size", make([]bool, 3), make([]bool, 4), [3]int{2, 2, 1}, [3]float64{1, 1, 1}},
		{"zero spacing", make([]bool, 4), make([]bool, 4), [3]int{2, 2, 1}, [3]float64{1, 0, 1}},
		{"NaN spacing", make([]bool, 4), make([]bool, 4), [3]int{2, 2, 1}, [3]float64{1, math.NaN(), 1}},
		{"infinite spacing", make([]bool, 4), make([]bool, 4), [3]int{2, 2, 1}, [3]float64{math.Inf(1), 1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Compare(tc.p, tc.r, tc.d, tc.sp); err == nil {
				t.Fatal("accepted")
			}
		})
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

// bruteForce computes Dice, HD95 and ASSD straight from evaluation.md's
// definitions on the whole grid: surface voxels by looking at each
// voxel's six neighbours, every surface-to-surface distance, both ways,
// pooled, and NumPy's percentile.
func bruteForce(p, r []bool, d [3]int, sp [3]float64) (dice, hd95, assd float64) {
	coords := func(m []bool) (all, surf [][3]int) {
		in := func(i, j, k int) bool {
			return i >= 0 && j >= 0 && k >= 0 && i < d[0] && j < d[1] && k < d[2] && m[i+d[0]*(j+d[1]*k)]
		}
		for k := 0; k < d[2]; k++ {
			for j := 0; j < d[1]; j++ {
				for i := 0; i < d[0]; i++ {
					if !in(i, j, k) {
						continue
					}
					all = append(all, [3]int{i, j, k})
					if !in(i-1, j, k) || !in(i+1, j, k) || !in(i, j-1, k) || !in(i, j+1, k) || !in(i, j, k-1) || !in(i, j, k+1) {
						surf = append(surf, [3]int{i, j, k})
					}
				}
			}
		}
		return all, surf
	}
	ap, sp1 := coords(p)
	ar, sr := coords(r)
	inter := 0
	for i := range p {
		if p[i] && r[i] {
			inter++
		}
	}
	dice = 2 * float64(inter) / float64(len(ap)+len(ar))
	var pooled []float64
	for _, dir := range [2][2][][3]int{{sp1, sr}, {sr, sp1}} {
		for _, a := range dir[0] {
			best := math.Inf(1)
			for _, b := range dir[1] {
				var s float64
				for c := 0; c < 3; c++ {
					x := float64(a[c]-b[c]) * sp[c]
					s += x * x
				}
				best = min(best, math.Sqrt(s))
			}
			pooled = append(pooled, best)
		}
	}
	var sum float64
	for _, x := range pooled {
		sum += x
	}
	slices.Sort(pooled)
	pos := 0.95 * float64(len(pooled)-1)
	lo := int(pos)
	hi := min(lo+1, len(pooled)-1)
	return dice, pooled[lo] + (pooled[hi]-pooled[lo])*(pos-float64(lo)), sum / float64(len(pooled))
}

// TestCompareMatchesBruteForce checks the distance transform over the
// masks' bounding box against brute force on random blobs placed anywhere
// in a larger grid (touching its border or not), anisotropic spacing.
func TestCompareMatchesBruteForce(t *testing.T) {
	d := [3]int{14, 11, 9}
	sp := [3]float64{0.8, 1.3, 2.5}
	rng := rand.New(rand.NewPCG(1, 2))
	blob := func() []bool {
		m := make([]bool, d[0]*d[1]*d[2])
		var lo, hi [3]int
		for c := 0; c < 3; c++ {
			lo[c] = rng.IntN(d[c])
			hi[c] = min(d[c], lo[c]+1+rng.IntN(d[c]/2+1))
		}
		density := 0.3 + 0.7*rng.Float64()
		for k := lo[2]; k < hi[2]; k++ {
			for j := lo[1]; j < hi[1]; j++ {
				for i := lo[0]; i < hi[0]; i++ {
					m[i+d[0]*(j+d[1]*k)] = rng.Float64() < density
				}
			}
		}
		m[lo[0]+d[0]*(lo[1]+d[1]*lo[2])] = true
		return m
	}
	for trial := 0; trial < 40; trial++ {
		p, r := blob(), blob()
		got, err := Compare(p, r, d, sp)
		if err != nil {
			t.Fatal(err)
		}
		dice, hd95, assd := bruteForce(p, r, d, sp)
		if !same(got.Dice, dice) || !same(got.HD95, hd95) || !same(got.ASSD, assd) {
			t.Fatalf("trial %d: Dice %v HD95 %v ASSD %v; brute force %v %v %v", trial, got.Dice, got.HD95, got.ASSD, dice, hd95, assd)
		}
	}
}

// TestDistanceTransformCancelled: a cancelled context stops the work.
func TestDistanceTransformCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := make([]float64, 8)
	if err := distanceTransform(ctx, f, [3]int{2, 2, 2}, [3]float64{1, 1, 1}); err == nil {
		t.Fatal("a cancelled distance transform returned no error")
	}
}
