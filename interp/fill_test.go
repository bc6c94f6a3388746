package interp

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

// ellipsoid returns labels on a grid of dims d with spacing sp, value v
// inside the ellipsoid of centre c and semi-axes a (mm).
func ellipsoid(d [3]int, sp [3]float64, c, a [3]float64, v uint16) *volume.Labels {
	aff := volume.Identity()
	for i := range 3 {
		aff[i][i] = sp[i]
	}
	l := volume.NewLabels(volume.Grid{Dims: d, Affine: aff})
	for k := range d[2] {
		for j := range d[1] {
			for i := range d[0] {
				p := [3]float64{float64(i) * sp[0], float64(j) * sp[1], float64(k) * sp[2]}
				s := 0.0
				for n := range 3 {
					e := (p[n] - c[n]) / a[n]
					s += e * e
				}
				if s <= 1 {
					l.Data[l.Index(i, j, k)] = v
				}
			}
		}
	}
	return l
}

func dice(a, b *volume.Labels, v uint16) float64 {
	na, nb, both := 0, 0, 0
	for i := range a.Data {
		x, y := a.Data[i] == v, b.Data[i] == v
		if x {
			na++
		}
		if y {
			nb++
		}
		if x && y {
			both++
		}
	}
	return 2 * float64(both) / float64(na+nb)
}

func TestFillRecoversEllipsoid(t *testing.T) {
	// Anisotropic voxels, the long axis of the ellipsoid oblique to none of
	// the planes; every plane must recover it from every 4th slice.
	ref := ellipsoid([3]int{40, 36, 30}, [3]float64{1, 1.2, 2}, [3]float64{20, 21, 30}, [3]float64{14, 16, 22}, 7)
	for axis := range 3 {
		sparse := Sparse(ref, 7, axis, 4)
		res, err := Fill(context.Background(), sparse, 7, Options{Axis: axis})
		if err != nil {
			t.Fatal(err)
		}
		if d := dice(res.Labels, ref, 7); d < 0.97 {
			t.Errorf("axis %d: Dice %.3f against the full ellipsoid, want ≥ 0.97", axis, d)
		}
		if res.Blocked != 0 {
			t.Errorf("axis %d: %d blocked voxels, want none", axis, res.Blocked)
		}
		// Annotated slices are the input's, unchanged; nothing beyond the
		// outermost ones.
		ann := Annotated(sparse, axis, 7)
		if got := Annotated(res.Labels, axis, 7); got[0] != ann[0] || got[len(got)-1] != ann[len(ann)-1] {
			t.Errorf("axis %d: label spans slices %d..%d after filling, %d..%d before", axis, got[0], got[len(got)-1], ann[0], ann[len(ann)-1])
		}
		geo := newGeometry(ref.Grid, axis)
		for _, k := range ann {
			a, b := geo.mask(sparse, k, 7), geo.mask(res.Labels, k, 7)
			for i := range a.Data {
				if a.Data[i] != b.Data[i] {
					t.Fatalf("axis %d: annotated slice %d changed", axis, k)
				}
			}
		}
		if want := ann[len(ann)-1] - ann[0] + 1 - len(ann); len(res.Filled) != want {
			t.Errorf("axis %d: %d slices filled, want the %d between the annotated ones", axis, len(res.Filled), want)
		}
	}
}

func TestFillConcentricDisksInterpolateTheRadius(t *testing.T) {
	// Disks of radius 6 and 14 px, 8 slices apart: shape-based
	// interpolation gives the slice halfway a disk of radius 10.
	aff := volume.Identity()
	l := volume.NewLabels(volume.Grid{Dims: [3]int{41, 41, 9}, Affine: aff})
	disk := func(k int, r float64) {
		for j := range 41 {
			for i := range 41 {
				if math.Hypot(float64(i-20), float64(j-20)) <= r {
					l.Data[l.Index(i, j, k)] = 3
				}
			}
		}
	}
	disk(0, 6)
	disk(8, 14)
	res, err := Fill(context.Background(), l, 3, Options{Axis: 2})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 2, 3, 4, 5, 6, 7}; !equal(res.Filled, want) {
		t.Errorf("filled slices %v, want %v", res.Filled, want)
	}
	area := 0
	for j := range 41 {
		for i := range 41 {
			if res.Labels.At(i, j, 4) == 3 {
				area++
			}
		}
	}
	if want := math.Pi * 100; math.Abs(float64(area)-want) > 0.06*want {
		t.Errorf("halfway slice has %d pixels, want about %.0f (radius 10)", area, want)
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFillNeverOverwritesOtherLabels(t *testing.T) {
	ref := ellipsoid([3]int{30, 30, 20}, [3]float64{1, 1, 1}, [3]float64{15, 15, 10}, [3]float64{10, 10, 9}, 5)
	sparse := Sparse(ref, 5, 2, 5)
	// Another organ across the middle slices, where the fill goes.
	for k := 8; k <= 11; k++ {
		for j := range 30 {
			for i := 12; i < 18; i++ {
				sparse.Data[sparse.Index(i, j, k)] = 2
			}
		}
	}
	before := append([]uint16(nil), sparse.Data...)
	res, err := Fill(context.Background(), sparse, 5, Options{Axis: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Blocked == 0 {
		t.Error("no blocked voxel reported where another label lies across the shape")
	}
	added := 0
	for i, x := range res.Labels.Data {
		switch {
		case before[i] == 2 && x != 2:
			t.Fatalf("voxel %d of label 2 became %d", i, x)
		case before[i] != x:
			if before[i] != 0 || x != 5 {
				t.Fatalf("voxel %d went from %d to %d", i, before[i], x)
			}
			added++
		}
	}
	if added != res.Added {
		t.Errorf("%d voxels changed, Added says %d", added, res.Added)
	}
	for i := range before {
		if sparse.Data[i] != before[i] {
			t.Fatal("Fill modified its input")
		}
	}
}

func TestFillComponentWithoutPartnerShrinksAway(t *testing.T) {
	// Slice 0 has two blobs, slice 10 only the left one: the right blob
	// must fade out before the far end, not be dragged across.
	l := volume.NewLabels(volume.Grid{Dims: [3]int{40, 20, 11}, Affine: volume.Identity()})
	box := func(k, i0, i1 int) {
		for j := 5; j < 15; j++ {
			for i := i0; i < i1; i++ {
				l.Data[l.Index(i, j, k)] = 1
			}
		}
	}
	box(0, 2, 12)
	box(0, 28, 38)
	box(10, 2, 12)
	res, err := Fill(context.Background(), l, 1, Options{Axis: 2})
	if err != nil {
		t.Fatal(err)
	}
	right := func(k int) int {
		n := 0
		for j := range 20 {
			for i := 20; i < 40; i++ {
				if res.Labels.At(i, j, k) == 1 {
					n++
				}
			}
		}
		return n
	}
	if right(1) == 0 {
		t.Error("the right blob vanished at once")
	}
	if right(9) != 0 {
		t.Errorf("the right blob has %d pixels next to the slice without it", right(9))
	}
	for k := 1; k < 10; k++ {
		if right(k) > right(k-1) {
			t.Errorf("the right blob grows from slice %d to %d", k-1, k)
		}
	}
}

func TestFillRefuses(t *testing.T) {
	l := ellipsoid([3]int{10, 10, 10}, [3]float64{1, 1, 1}, [3]float64{5, 5, 5}, [3]float64{3, 3, 3}, 4)
	tests := []struct {
		name  string
		l     *volume.Labels
		value uint16
		axis  int
		is    error
	}{
		{"background", l, 0, 2, nil},
		{"absent label", l, 9, 2, nil},
		{"contiguous label", l, 4, 2, ErrNothingToFill},
		{"bad axis", Sparse(l, 4, 2, 3), 4, 3, nil},
		{"negative axis", Sparse(l, 4, 2, 3), 4, -1, nil},
		{"short data", &volume.Labels{Grid: l.Grid, Data: l.Data[:10]}, 4, 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Fill(context.Background(), tc.l, tc.value, Options{Axis: tc.axis})
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v, want %v", err, tc.is)
			}
		})
	}
}

func TestFillCancelled(t *testing.T) {
	l := Sparse(ellipsoid([3]int{30, 30, 30}, [3]float64{1, 1, 1}, [3]float64{15, 15, 15}, [3]float64{12, 12, 12}, 4), 4, 2, 3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Fill(ctx, l, 4, Options{Axis: 2}); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestSparse(t *testing.T) {
	l := ellipsoid([3]int{10, 10, 20}, [3]float64{1, 1, 1}, [3]float64{5, 5, 10}, [3]float64{4, 4, 8}, 4)
	ann := Annotated(l, 2, 4)
	got := Annotated(Sparse(l, 4, 2, 5), 2, 4)
	want := []int{ann[0], ann[0] + 5, ann[0] + 10, ann[0] + 15}
	if ann[0]+15 != ann[len(ann)-1] {
		want = append(want, ann[len(ann)-1])
	}
	if !equal(got, want) {
		t.Errorf("sparse slices %v, want %v (label on %v)", got, want, ann)
	}
}

// TestBadInputNoPanic: the helpers give nothing for an axis or data that
// do not fit, instead of panicking.
func TestBadInputNoPanic(t *testing.T) {
	l := ellipsoid([3]int{6, 6, 6}, [3]float64{1, 1, 1}, [3]float64{3, 3, 3}, [3]float64{2, 2, 2}, 4)
	short := &volume.Labels{Grid: l.Grid, Data: l.Data[:7]}
	for _, tc := range []struct {
		l    *volume.Labels
		axis int
	}{{l, 3}, {l, -1}, {short, 2}} {
		if got := Annotated(tc.l, tc.axis, 4); got != nil {
			t.Errorf("Annotated(axis %d, %d voxels) = %v, want none", tc.axis, len(tc.l.Data), got)
		}
		if got := Sparse(tc.l, 4, tc.axis, 2); len(Annotated(got, 2, 4)) != 0 {
			t.Errorf("Sparse(axis %d, %d voxels) kept voxels", tc.axis, len(tc.l.Data))
		}
	}
}

func TestSliceAxis(t *testing.T) {
	// A grid stored sagittally: i runs along z, j along y, k along x.
	aff := volume.Affine{{0, 0, -1, 0}, {0, 1, 0, 0}, {2, 0, 0, 0}, {0, 0, 0, 1}}
	g := volume.Grid{Dims: [3]int{4, 5, 6}, Affine: aff}
	for world, want := range []int{2, 1, 0} {
		if got := SliceAxis(g, world); got != want {
			t.Errorf("world axis %d: voxel axis %d, want %d", world, got, want)
		}
	}
}

// TestCubicFollowsGrowth stacks disks whose radius grows as the square root
// of the slice number, as an organ's cross-section near its end does: from
// every 6th slice, the cubic method recovers the disks in between better
// than the linear one, and neither leaves the union of the two annotated
// disks around a gap.
func TestCubicFollowsGrowth(t *testing.T) {
	const n = 25
	ref := volume.NewLabels(volume.Grid{Dims: [3]int{61, 61, n}, Affine: volume.Identity()})
	for k := range n {
		r := 4 + 5*math.Sqrt(float64(k))
		for j := range 61 {
			for i := range 61 {
				if math.Hypot(float64(i-30), float64(j-30)) <= r {
					ref.Data[ref.Index(i, j, k)] = 1
				}
			}
		}
	}
	sparse := Sparse(ref, 1, 2, 6)
	dices := map[Method]float64{}
	for _, m := range []Method{Linear, Cubic} {
		res, err := Fill(context.Background(), sparse, 1, Options{Axis: 2, Method: m})
		if err != nil {
			t.Fatal(err)
		}
		dices[m] = dice(res.Labels, ref, 1)
		ann := Annotated(sparse, 2, 1)
		geo := newGeometry(ref.Grid, 2)
		for _, g := range Gaps(ann) {
			a, b := geo.mask(sparse, g.Lo, 1), geo.mask(sparse, g.Hi, 1)
			for k := g.Lo + 1; k < g.Hi; k++ {
				for i, on := range geo.mask(res.Labels, k, 1).Data {
					if on && !a.Data[i] && !b.Data[i] {
						t.Fatalf("%v: slice %d has pixel %d outside both annotated disks", m, k, i)
					}
				}
			}
		}
	}
	if dices[Cubic] <= dices[Linear] {
		t.Errorf("Dice cubic %.4f, linear %.4f: want cubic better", dices[Cubic], dices[Linear])
	}
	t.Logf("Dice linear %.4f, cubic %.4f", dices[Linear], dices[Cubic])
}

func TestParseMethod(t *testing.T) {
	for _, m := range []Method{Linear, Cubic} {
		if got, err := ParseMethod(m.String()); err != nil || got != m {
			t.Errorf("ParseMethod(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseMethod("spline"); err == nil {
		t.Error("ParseMethod(spline): no error")
	}
}
