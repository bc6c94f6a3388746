package metrics

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

const realData = "../../shared/data/real/totalsegmentator"

// binary returns the mask of label v.
func binary(l []uint16, v uint16) []bool {
	m := make([]bool, len(l))
	for i, x := range l {
		m[i] = x == v
	}
	return m
}

func TestCompareLabels(t *testing.T) {
	d := [3]int{8, 4, 3}
	sp := [3]float64{2, 1, 1}
	pred, ref := make([]uint16, 96), make([]uint16, 96)
	set := func(l []uint16, v uint16, i, j, k int) { l[i+d[0]*(j+d[1]*k)] = v }
	// Label 3: the same voxel in both. Label 9: one voxel in each, 3
	// voxels (6 mm) apart along i. Label 2 only in pred, label 4 only in
	// ref: failures.
	set(pred, 3, 0, 0, 0)
	set(ref, 3, 0, 0, 0)
	set(pred, 9, 4, 1, 1)
	set(ref, 9, 7, 1, 1)
	set(pred, 2, 1, 2, 2)
	set(ref, 4, 2, 3, 2)
	type row struct {
		label            uint16
		dice, hd95, assd float64
		failure, both    bool
	}
	nan := math.NaN()
	tests := []struct {
		name   string
		labels []uint16
		want   []row
	}{
		{"every label present, sorted", nil, []row{
			{2, 0, nan, nan, true, false},
			{3, 1, 0, 0, false, false},
			{4, 0, nan, nan, true, false},
			{9, 0, 6, 6, false, false},
		}},
		{"listed order, one in neither volume", []uint16{9, 7, 3}, []row{
			{9, 0, 6, 6, false, false},
			{7, 1, 0, 0, false, true},
			{3, 1, 0, 0, false, false},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CompareLabels(context.Background(), pred, ref, d, sp, tc.labels)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d rows, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Label != w.label || !same(g.Dice, w.dice) || !same(g.HD95, w.hd95) || !same(g.ASSD, w.assd) ||
					g.Failure() != w.failure || g.BothEmpty != w.both {
					t.Errorf("row %d: %+v; want %+v", i, g, w)
				}
			}
		})
	}
}

func TestCompareLabelsRefuses(t *testing.T) {
	ok := make([]uint16, 8)
	d := [3]int{2, 2, 2}
	sp := [3]float64{1, 1, 1}
	tests := []struct {
		name      string
		pred, ref []uint16
		d         [3]int
		sp        [3]float64
		labels    []uint16
	}{
		{"wrong size", ok, make([]uint16, 7), d, sp, nil},
		{"bad dims", ok, ok, [3]int{-2, -2, 2}, sp, nil},
		{"negative spacing", ok, ok, d, [3]float64{1, -1, 1}, nil},
		{"label 0", ok, ok, d, sp, []uint16{0}},
		{"label twice", ok, ok, d, sp, []uint16{5, 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := CompareLabels(context.Background(), tc.pred, tc.ref, tc.d, tc.sp, tc.labels); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := CompareLabels(ctx, ok, ok, d, sp, nil); err == nil {
		t.Fatal("a cancelled comparison returned no error")
	}
}

// TestCompareLabelsMatchesCompare: the one-pass multi-label comparison
// gives, label by label, what Compare gives on the binary masks.
func TestCompareLabelsMatchesCompare(t *testing.T) {
	d := [3]int{16, 12, 10}
	sp := [3]float64{0.7, 0.9, 3}
	rng := rand.New(rand.NewPCG(3, 4))
	pred, ref := make([]uint16, d[0]*d[1]*d[2]), make([]uint16, d[0]*d[1]*d[2])
	for i := range pred {
		// Spatially coherent labels: bands along i, jittered.
		x := i % d[0]
		pred[i] = uint16((x + rng.IntN(3)) / 4)
		ref[i] = uint16((x + rng.IntN(3)) / 4)
		if rng.IntN(50) == 0 {
			pred[i] = 300 // a label only in pred, scattered
		}
	}
	// Label 400 has prediction voxels in the first and last slices and a
	// reference voxel in the last: its boxes must be merged across slabs.
	pred[2+d[0]*(2+d[1]*1)] = 400
	pred[3+d[0]*(3+d[1]*8)] = 400
	ref[5+d[0]*(5+d[1]*8)] = 400
	got, err := CompareLabels(context.Background(), pred, ref, d, sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Slabs tallied by several goroutines and merged give the same rows.
	for _, workers := range []int{2, 3, 100} {
		for _, labels := range [][]uint16{nil, {300, 2, 400, 1, 7}} {
			a, err := compareLabels(context.Background(), pred, ref, d, sp, labels, 1)
			if err != nil {
				t.Fatal(err)
			}
			b, err := compareLabels(context.Background(), pred, ref, d, sp, labels, workers)
			if err != nil {
				t.Fatal(err)
			}
			if len(a) != len(b) {
				t.Fatalf("%d workers, labels %v: %d rows, one worker %d", workers, labels, len(b), len(a))
			}
			for i := range a {
				if a[i].Label != b[i].Label || !same(a[i].Dice, b[i].Dice) || !same(a[i].HD95, b[i].HD95) ||
					!same(a[i].ASSD, b[i].ASSD) || a[i].VolumeP != b[i].VolumeP || a[i].VolumeR != b[i].VolumeR {
					t.Errorf("%d workers, labels %v, row %d: %+v; one worker %+v", workers, labels, i, b[i], a[i])
				}
			}
		}
	}
	seen := map[uint16]bool{}
	for _, l := range append(pred, ref...) {
		if l != 0 {
			seen[l] = true
		}
	}
	if len(got) != len(seen) {
		t.Fatalf("%d rows for %d labels present", len(got), len(seen))
	}
	for _, g := range got {
		want, err := Compare(binary(pred, g.Label), binary(ref, g.Label), d, sp)
		if err != nil {
			t.Fatal(err)
		}
		if g.Result != want && !(same(g.Dice, want.Dice) && same(g.HD95, want.HD95) && same(g.ASSD, want.ASSD) &&
			same(g.RelVolumeError, want.RelVolumeError) && g.VolumeP == want.VolumeP && g.VolumeR == want.VolumeR) {
			t.Errorf("label %d: %+v, Compare gives %+v", g.Label, g.Result, want)
		}
	}
}

func TestSummarize(t *testing.T) {
	nan := math.NaN()
	rows := []LabelResult{
		{1, Result{Dice: 0.8, HD95: 2, ASSD: 1, Defined: true}},
		{2, Result{Dice: 0.6, HD95: 6, ASSD: 3, Defined: true}},
		{3, Result{Dice: 0, HD95: nan, ASSD: nan}},                             // failure
		{4, Result{Dice: 1, HD95: 0, ASSD: 0, Defined: true, BothEmpty: true}}, // neither has it
	}
	s := Summarize(rows)
	// Dice over all 4: mean 0.6, population variance (0.04+0+0.36+0.16)/4.
	want := Summary{Labels: 4, BothEmpty: 1, Failures: 1,
		Dice: Stat{0.6, math.Sqrt(0.14), 4}, HD95: Stat{4, 2, 2}, ASSD: Stat{2, 1, 2}}
	eq := func(a, b Stat) bool { return same(a.Mean, b.Mean) && same(a.Std, b.Std) && a.N == b.N }
	if s.Labels != want.Labels || s.BothEmpty != want.BothEmpty || s.Failures != want.Failures ||
		!eq(s.Dice, want.Dice) || !eq(s.HD95, want.HD95) || !eq(s.ASSD, want.ASSD) {
		t.Errorf("summary %+v, want %+v", s, want)
	}
	if e := Summarize(nil); e.Labels != 0 || !math.IsNaN(e.Dice.Mean) || e.Dice.N != 0 {
		t.Errorf("empty summary %+v, want NaN means over 0 rows", e)
	}
}

// TestPatientA compares patient A's TotalSegmentator labels with themselves
// and with a copy shifted one voxel (3 mm) along i. For the shift, each
// surface voxel of one mask has its image in the other one voxel away, so
// every pooled distance is 0 or 3 mm (the nearest voxel distances on a
// 3 mm grid) for a label clear of the i faces of the grid: HD95 and ASSD
// are at most 3 mm, and Dice is what the overlap counts say.
func TestPatientA(t *testing.T) {
	path := realData + "/example_seg_fast_force_split.nii.gz"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("real data absent: %v", err)
	}
	l, err := volume.ReadLabelsNIfTI(path)
	if err != nil {
		t.Fatal(err)
	}
	d, sp := l.Dims, l.Spacing()
	self, err := CompareLabels(context.Background(), l.Data, l.Data, d, sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	count := map[uint16]int{}
	for _, x := range l.Data {
		if x != 0 {
			count[x]++
		}
	}
	if len(self) != len(count) || len(self) < 10 {
		t.Fatalf("%d rows for %d labels present", len(self), len(count))
	}
	voxelML := sp[0] * sp[1] * sp[2] / 1000
	for _, r := range self {
		if r.Dice != 1 || r.HD95 != 0 || r.ASSD != 0 || r.Failure() || r.BothEmpty ||
			r.VolumeP != r.VolumeR || !same(r.VolumeR, float64(count[r.Label])*voxelML) || r.RelVolumeError != 0 {
			t.Errorf("label %d against itself: %+v", r.Label, r)
		}
	}

	shifted := make([]uint16, len(l.Data))
	atFace := map[uint16]bool{}
	for k := 0; k < d[2]; k++ {
		for j := 0; j < d[1]; j++ {
			row := d[0] * (j + d[1]*k)
			for i := 0; i < d[0]; i++ {
				x := l.Data[row+i]
				if i == 0 || i == d[0]-1 {
					atFace[x] = true
				}
				if i+1 < d[0] {
					shifted[row+i+1] = x
				}
			}
		}
	}
	got, err := CompareLabels(context.Background(), shifted, l.Data, d, sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, r := range got {
		inter, np := 0, 0
		for i, x := range shifted {
			if x == r.Label {
				np++
				if l.Data[i] == r.Label {
					inter++
				}
			}
		}
		if !same(r.Dice, 2*float64(inter)/float64(np+count[r.Label])) || !same(r.VolumeP, float64(np)*voxelML) {
			t.Errorf("label %d shifted: Dice %v, volume %v mL; counts give %v, %v", r.Label, r.Dice, r.VolumeP,
				2*float64(inter)/float64(np+count[r.Label]), float64(np)*voxelML)
		}
		if atFace[r.Label] {
			continue
		}
		checked++
		if r.Failure() || r.HD95 > 3+1e-9 || r.ASSD > 3+1e-9 || r.ASSD <= 0 {
			t.Errorf("label %d shifted by 3 mm: HD95 %v, ASSD %v; want both in (0, 3] mm", r.Label, r.HD95, r.ASSD)
		}
	}
	if checked < 10 {
		t.Errorf("only %d labels clear of the grid's i faces were checked", checked)
	}
}
