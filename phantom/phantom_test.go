package phantom

import (
	"context"
	"errors"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

// small returns a preset shrunk so that tests stay fast: the same field of
// view and slice thickness, fewer pixels and slices.
func small(sc Scanner, matrix, slices int) Scanner {
	sc.Matrix, sc.Slices = matrix, slices
	return sc
}

func generate(t testing.TB, seed int64, sc Scanner) (*volume.Volume, *volume.Labels) {
	t.Helper()
	v, l, err := Generate(context.Background(), Options{Seed: seed, Scanner: sc})
	if err != nil {
		t.Fatalf("Generate(seed %d, scanner %s): %v", seed, sc.Name, err)
	}
	return v, l
}

func TestDeterministic(t *testing.T) {
	sc := small(ScannerA(), 96, 20)
	base, baseLab, err := Generate(context.Background(), Options{Seed: 7, Scanner: sc, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		seed    int64
		workers int
		same    bool
	}{
		{"same seed, one worker", 7, 1, true},
		{"same seed, three workers", 7, 3, true},
		{"other seed", 8, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, l, err := Generate(context.Background(), Options{Seed: tc.seed, Scanner: sc, Workers: tc.workers})
			if err != nil {
				t.Fatal(err)
			}
			diff, labDiff := 0, 0
			for i := range v.Data {
				if v.Data[i] != base.Data[i] {
					diff++
				}
				if l.Data[i] != baseLab.Data[i] {
					labDiff++
				}
			}
			if tc.same && (diff != 0 || labDiff != 0 || v.Grid != base.Grid) {
				t.Errorf("%d voxels and %d labels differ from the first run", diff, labDiff)
			}
			// Another patient: most noise differs and a good share of the
			// labels too.
			if !tc.same && (diff < len(v.Data)/2 || labDiff < len(v.Data)/100) {
				t.Errorf("only %d voxels and %d labels of %d differ for another seed", diff, labDiff, len(v.Data))
			}
		})
	}
}

func TestGrid(t *testing.T) {
	tests := []struct {
		sc          Scanner
		wantSpacing [3]float64
	}{
		{small(ScannerA(), 100, 10), [3]float64{4, 4, 3}},
		{small(ScannerB(), 120, 10), [3]float64{4, 4, 5}},
	}
	for _, tc := range tests {
		v, l := generate(t, 1, tc.sc)
		if v.Dims != [3]int{tc.sc.Matrix, tc.sc.Matrix, tc.sc.Slices} {
			t.Errorf("scanner %s: dims %v", tc.sc.Name, v.Dims)
		}
		sp := v.Spacing()
		for a := range sp {
			if math.Abs(sp[a]-tc.wantSpacing[a]) > 1e-9 {
				t.Errorf("scanner %s: spacing %v, want %v", tc.sc.Name, sp, tc.wantSpacing)
			}
		}
		if got := v.Affine.AxisCodes(); got != "RAS" {
			t.Errorf("scanner %s: orientation %s, want RAS", tc.sc.Name, got)
		}
		if !l.Grid.Equal(v.Grid, 0) {
			t.Errorf("scanner %s: labels on another grid", tc.sc.Name)
		}
		for _, x := range v.Data {
			if x != float32(math.Round(float64(x))) || x < -1024 || x > 3071 {
				t.Fatalf("scanner %s: voxel value %v is not an integer HU in [-1024, 3071]", tc.sc.Name, x)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Scanner)
	}{
		{"tiny matrix", func(s *Scanner) { s.Matrix = 8 }},
		{"huge matrix", func(s *Scanner) { s.Matrix = 5000 }},
		{"no slices", func(s *Scanner) { s.Slices = 0 }},
		{"too many voxels", func(s *Scanner) { s.Matrix, s.Slices = 1024, 1024 }},
		{"NaN FOV", func(s *Scanner) { s.FOV = math.NaN() }},
		{"zero thickness", func(s *Scanner) { s.SliceThickness = 0 }},
		{"negative noise", func(s *Scanner) { s.NoiseSigma = -1 }},
		{"infinite blur", func(s *Scanner) { s.BlurSigma = math.Inf(1) }},
		{"unknown phase", func(s *Scanner) { s.Phase = 9 }},
	}
	for _, tc := range tests {
		sc := ScannerA()
		tc.edit(&sc)
		if _, _, err := Generate(context.Background(), Options{Scanner: sc}); err == nil {
			t.Errorf("%s: Generate accepted %+v", tc.name, sc)
		}
	}
	if _, err := Preset("C"); err == nil {
		t.Error(`Preset("C") succeeded`)
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := Generate(ctx, Options{Seed: 1, Scanner: ScannerA()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Generate with a cancelled context: %v, want context.Canceled", err)
	}
}

// stats holds what the tests measure of one label: voxel count, centroid
// (world mm) and the HU mean and standard deviation inside the label eroded
// by one voxel (away from partial volume at the border).
type stats struct {
	n          int
	cx, cy, cz float64
	mean, sd   float64
	eroded     int
}

func measure(v *volume.Volume, l *volume.Labels, lab uint16) stats {
	var s stats
	var sum, sum2 float64
	nx, ny, nz := l.Dims[0], l.Dims[1], l.Dims[2]
	for k := 0; k < nz; k++ {
		for j := 0; j < ny; j++ {
			for i := 0; i < nx; i++ {
				if l.At(i, j, k) != lab {
					continue
				}
				x, y, z := l.Affine.Apply(float64(i), float64(j), float64(k))
				s.n++
				s.cx += x
				s.cy += y
				s.cz += z
				inner := i > 0 && j > 0 && k > 0 && i < nx-1 && j < ny-1 && k < nz-1 &&
					l.At(i-1, j, k) == lab && l.At(i+1, j, k) == lab &&
					l.At(i, j-1, k) == lab && l.At(i, j+1, k) == lab &&
					l.At(i, j, k-1) == lab && l.At(i, j, k+1) == lab
				if inner {
					h := float64(v.At(i, j, k))
					sum += h
					sum2 += h * h
					s.eroded++
				}
			}
		}
	}
	if s.n > 0 {
		s.cx, s.cy, s.cz = s.cx/float64(s.n), s.cy/float64(s.n), s.cz/float64(s.n)
	}
	if s.eroded > 0 {
		s.mean = sum / float64(s.eroded)
		s.sd = math.Sqrt(math.Max(0, sum2/float64(s.eroded)-s.mean*s.mean))
	}
	return s
}

// TestOrganHU checks the HU of the organs, noise included, against the
// values measured in patient A (liver 46±13, spleen 35±12, kidneys 13 to
// 23; docs/phantom.md), across several patients.
func TestOrganHU(t *testing.T) {
	tests := []struct {
		label    uint16
		lo, hi   float64
		sdLo, sd float64
	}{
		{Liver, 34, 60, 8, 20},
		{Spleen, 25, 47, 8, 20},
		{KidneyRight, 5, 32, 8, 60},
		{KidneyLeft, 5, 32, 8, 60},
		{Aorta, 30, 55, 5, 20},
		{Gallbladder, -10, 20, 5, 20},
	}
	for seed := int64(1); seed <= 3; seed++ {
		v, l := generate(t, seed, small(ScannerA(), 160, 64))
		for _, tc := range tests {
			s := measure(v, l, tc.label)
			if s.eroded < 20 {
				t.Errorf("seed %d label %d: only %d voxels inside the eroded mask", seed, tc.label, s.eroded)
				continue
			}
			if s.mean < tc.lo || s.mean > tc.hi || s.sd < tc.sdLo || s.sd > tc.sd {
				t.Errorf("seed %d label %d: %.1f±%.1f HU, want mean in [%g, %g] and sd in [%g, %g]",
					seed, tc.label, s.mean, s.sd, tc.lo, tc.hi, tc.sdLo, tc.sd)
			}
		}
	}
}

// realLiverSide returns the sign of the world x of the liver's centroid in
// patient A's label volume: the phantom must put its liver on that side.
func realLiverSide(t *testing.T) float64 {
	const path = "../../shared/data/real/totalsegmentator/example_seg_fast_force_split.nii.gz"
	if _, err := os.Stat("../../shared/data/real"); err != nil {
		t.Skip("real fixtures absent:", err)
	}
	l, err := volume.ReadLabelsNIfTI(path)
	if err != nil {
		t.Fatal(err)
	}
	s := measure(&volume.Volume{Grid: l.Grid, Data: make([]float32, l.Len())}, l, Liver)
	if s.n == 0 {
		t.Fatalf("%s: no liver", path)
	}
	return math.Copysign(1, s.cx)
}

func TestOrganPositions(t *testing.T) {
	side := realLiverSide(t)
	for _, sc := range []Scanner{small(ScannerA(), 128, 64), small(ScannerB(), 128, 64)} {
		for seed := int64(1); seed <= 4; seed++ {
			v, l := generate(t, seed, sc)
			m := map[uint16]stats{}
			for _, lab := range []uint16{Liver, Spleen, KidneyRight, KidneyLeft, Aorta, Stomach} {
				m[lab] = measure(v, l, lab)
				if m[lab].n == 0 {
					t.Fatalf("scanner %s seed %d: label %d absent", sc.Name, seed, lab)
				}
			}
			checks := []struct {
				what string
				ok   bool
			}{
				{"liver on the same side as patient A's", m[Liver].cx*side > 20},
				{"spleen on the other side", m[Spleen].cx*side < -40},
				{"right kidney on the liver's side", m[KidneyRight].cx*side > 20},
				{"left kidney on the spleen's side", m[KidneyLeft].cx*side < -20},
				{"right kidney posterior to the aorta", m[KidneyRight].cy < m[Aorta].cy},
				{"left kidney posterior to the aorta", m[KidneyLeft].cy < m[Aorta].cy},
				{"liver anterior to the kidneys", m[Liver].cy > m[KidneyRight].cy},
				{"kidneys below the liver's centre", m[KidneyRight].cz < m[Liver].cz},
				{"stomach on the spleen's side", m[Stomach].cx*side < 0},
			}
			for _, c := range checks {
				if !c.ok {
					t.Errorf("scanner %s seed %d: want %s", sc.Name, seed, c.what)
				}
			}
		}
	}
}

// TestLabelsInsideBody checks that no labelled voxel lies in the air
// around the patient: the outside is the low-HU region connected to the
// border of each slice.
func TestLabelsInsideBody(t *testing.T) {
	for seed := int64(1); seed <= 3; seed++ {
		v, l := generate(t, seed, small(ScannerB(), 128, 48))
		n := v.Dims[0]
		outside := make([]bool, n*n)
		var stack []int
		for k := 0; k < v.Dims[2]; k++ {
			clear(outside)
			sl := v.Data[k*n*n : (k+1)*n*n]
			push := func(p int) {
				if !outside[p] && sl[p] < -400 {
					outside[p] = true
					stack = append(stack, p)
				}
			}
			for i := 0; i < n; i++ {
				push(i)
				push((n-1)*n + i)
				push(i * n)
				push(i*n + n - 1)
			}
			for len(stack) > 0 {
				p := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				i, j := p%n, p/n
				if i > 0 {
					push(p - 1)
				}
				if i < n-1 {
					push(p + 1)
				}
				if j > 0 {
					push(p - n)
				}
				if j < n-1 {
					push(p + n)
				}
			}
			for p, o := range outside {
				if o && l.Data[k*n*n+p] != 0 {
					t.Fatalf("seed %d: label %d outside the body at slice %d pixel %d", seed, l.Data[k*n*n+p], k, p)
				}
			}
		}
	}
}

// TestDomains checks that the presets differ measurably: spacing, noise
// and contrast.
func TestDomains(t *testing.T) {
	a, b := ScannerA(), ScannerB()
	if a.PixelSpacing() == b.PixelSpacing() || a.SliceThickness == b.SliceThickness {
		t.Errorf("presets share a spacing: A %g×%g mm, B %g×%g mm", a.PixelSpacing(), a.SliceThickness, b.PixelSpacing(), b.SliceThickness)
	}
	va, la := generate(t, 3, small(a, 160, 48))
	vb, lb := generate(t, 3, small(b, 160, 48))
	// The liver is uniform but for a faint texture, so its spread is mostly
	// the scanner's noise.
	sa, sb := measure(va, la, Liver), measure(vb, lb, Liver)
	if sb.sd < 1.5*sa.sd {
		t.Errorf("liver HU sd: A %.1f, B %.1f; want B's at least 1.5 times A's", sa.sd, sb.sd)
	}
	// Contrast: the same patient through A's scanner with portal-venous
	// contrast.
	pv := small(a, 160, 48)
	pv.Phase = PortalVenous
	vc, lc := generate(t, 3, pv)
	sc := measure(vc, lc, Liver)
	if d := sc.mean - sa.mean; d < 40 || d > 85 {
		t.Errorf("liver %.1f HU without contrast, %.1f HU with: a rise of %.1f, want 40 to 85", sa.mean, sc.mean, d)
	}
	for _, lab := range []uint16{Spleen, Aorta, KidneyLeft} {
		if d := measure(vc, lc, lab).mean - measure(va, la, lab).mean; d < 50 {
			t.Errorf("label %d rises by %.1f HU with contrast, want at least 50", lab, d)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, n := range []int{128, 256} {
		sc := small(ScannerA(), n, 64)
		b.Run(sc.Name+"-"+strconv.Itoa(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, _, err := Generate(context.Background(), Options{Seed: int64(i), Scanner: sc}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
