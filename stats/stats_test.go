package stats

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

// scanAndLabels returns a 4x3xN grid with affine a whose scan holds the
// value 10*k + i, and labels with 7 in voxels (1..2, 0..2, k0..k1).
func scanAndLabels(a volume.Affine, n, k0, k1 int) (*volume.Volume, *volume.Labels) {
	g := volume.Grid{Dims: [3]int{4, 3, n}, Affine: a}
	v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	l := volume.NewLabels(g)
	for k := range n {
		for j := range 3 {
			for i := range 4 {
				v.Data[g.Index(i, j, k)] = float32(10*k + i)
				if i >= 1 && i <= 2 && k >= k0 && k <= k1 {
					l.Data[g.Index(i, j, k)] = 7
				}
			}
		}
	}
	return v, l
}

func TestCompute(t *testing.T) {
	ras := volume.Affine{{0.5, 0, 0, 0}, {0, 0.5, 0, 0}, {0, 0, 2, 0}, {0, 0, 0, 1}}
	// The same voxels with k running from head to feet (an LPI order).
	lpi := volume.Affine{{-0.5, 0, 0, 0}, {0, -0.5, 0, 0}, {0, 0, -2, 0}, {0, 0, 0, 1}}
	// k along the patient's front-back axis and j along the long axis: a
	// coronal acquisition. Axial slices then run along j.
	coronal := volume.Affine{{0.5, 0, 0, 0}, {0, 0, 2, 0}, {0, 0.5, 0, 0}, {0, 0, 0, 1}}
	tests := []struct {
		name        string
		a           volume.Affine
		first, last int
	}{
		{"RAS", ras, 3, 5},
		{"LPI", lpi, 6, 8},         // k 2..4 of 10, counted from the feet
		{"coronal", coronal, 1, 3}, // every j, 3 slices of 3
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, l := scanAndLabels(tc.a, 10, 2, 4)
			segs, err := Compute(context.Background(), v, l, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(segs) != 1 {
				t.Fatalf("segments %+v", segs)
			}
			s := segs[0]
			// 2 columns x 3 rows x 3 slices; values 10k + i for i in {1, 2},
			// k in {2, 3, 4}: mean 31.5, variance var(10k) + var(i) =
			// 200/3 + 1/4.
			if s.Label != 7 || s.Voxels != 18 || math.Abs(s.VolumeML-18*0.5*0.5*2/1000) > 1e-15 ||
				math.Abs(s.MeanHU-31.5) > 1e-12 || math.Abs(s.SDHU-math.Sqrt(200.0/3+0.25)) > 1e-12 {
				t.Errorf("got %+v", s)
			}
			if s.FirstSlice != tc.first || s.LastSlice != tc.last {
				t.Errorf("axial slices %d-%d, want %d-%d", s.FirstSlice, s.LastSlice, tc.first, tc.last)
			}
		})
	}
}

// TestSDLargeMean: a large offset must not eat the standard deviation's
// digits, as the one-pass E[x²]-E[x]² would in float32.
func TestSDLargeMean(t *testing.T) {
	g := volume.Grid{Dims: [3]int{1000, 1, 1}, Affine: volume.Identity()}
	v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	l := volume.NewLabels(g)
	for i := range v.Data {
		v.Data[i] = 30000 + float32(i%2) // SD 0.5
		l.Data[i] = 1
	}
	segs, err := Compute(context.Background(), v, l, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(segs[0].SDHU-0.5) > 1e-12 || math.Abs(segs[0].MeanHU-30000.5) > 1e-9 {
		t.Errorf("%+v", segs[0])
	}
}

func TestComputeExtraAndErrors(t *testing.T) {
	a := volume.Affine{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}
	v, l := scanAndLabels(a, 5, 0, 1)
	l.Data[0] = 3
	calls := 0
	cols := []Column{{Name: "twice_voxels", Compute: func(_ context.Context, _ *volume.Volume, lab *volume.Labels, val uint16) (float64, error) {
		calls++
		n := 0
		for _, x := range lab.Data {
			if x == val {
				n++
			}
		}
		return float64(2 * n), nil
	}}}
	segs, err := Compute(context.Background(), v, l, cols)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 2 || segs[0].Label != 3 || segs[1].Label != 7 || calls != 2 ||
		segs[0].Extra[0] != 2 || segs[1].Extra[0] != float64(2*segs[1].Voxels) {
		t.Errorf("segments %+v", segs)
	}
	boom := errors.New("boom")
	cols[0].Compute = func(context.Context, *volume.Volume, *volume.Labels, uint16) (float64, error) { return 0, boom }
	if _, err := Compute(context.Background(), v, l, cols); !errors.Is(err, boom) || !strings.Contains(err.Error(), "twice_voxels of label 3") {
		t.Errorf("a failing column: %v", err)
	}
	other := *l
	other.Affine[0][3] = 1
	if _, err := Compute(context.Background(), v, &other, nil); err == nil || !strings.Contains(err.Error(), "not on the scan's grid") {
		t.Errorf("labels on another grid: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Compute(ctx, v, l, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	empty := volume.NewLabels(v.Grid)
	if segs, err := Compute(context.Background(), v, empty, nil); err != nil || len(segs) != 0 {
		t.Errorf("background only: %v %v", segs, err)
	}
}

func BenchmarkCompute(b *testing.B) {
	// A 512x512x300 CT with a liver-sized segment and a few small ones.
	g := volume.Grid{Dims: [3]int{512, 512, 300}, Affine: volume.Affine{{0.8, 0, 0, 0}, {0, 0.8, 0, 0}, {0, 0, 1.5, 0}, {0, 0, 0, 1}}}
	v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	l := volume.NewLabels(g)
	for i := range v.Data {
		v.Data[i] = float32(i%200 - 100)
		switch {
		case i%512 > 100 && i%512 < 300 && i/(512*512) > 50 && i/(512*512) < 200:
			l.Data[i] = 5
		case i%97 == 0:
			l.Data[i] = uint16(1 + i%20)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Compute(context.Background(), v, l, nil); err != nil {
			b.Fatal(err)
		}
	}
}
