package viewer

import (
	"context"
	"image"
	"math"
	"os"
	"testing"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/volume"
)

const realDir = "../../shared/data/real/totalsegmentator/"

// TotalSegmentator v2 label values used below.
const (
	liver       = 5
	spleen      = 1
	kidneyRight = 2
	vertebraL1  = 31
)

func readReal(t *testing.T, scan, labels string) (*volume.Volume, *volume.Labels) {
	t.Helper()
	if _, err := os.Stat(realDir); err != nil {
		t.Skipf("real data not available: %v", err)
	}
	vol, err := volume.ReadNIfTI(realDir + scan)
	if err != nil {
		t.Fatal(err)
	}
	lab, err := volume.ReadLabelsNIfTI(realDir + labels)
	if err != nil {
		t.Fatal(err)
	}
	return vol, lab
}

// busiestSlice returns the slice of s with the most voxels of label l.
func busiestSlice(lab *volume.Labels, s Slicer, l uint16) int {
	best, bestN := 0, -1
	w, h := s.Size()
	for n := 0; n < s.NumSlices(); n++ {
		c := 0
		for v := 0; v < h; v++ {
			for u := 0; u < w; u++ {
				if x, _ := LabelAt(lab, s, n, u, v); x == l {
					c++
				}
			}
		}
		if c > bestN {
			best, bestN = n, c
		}
	}
	return best
}

// centroid returns the mean display position of label l on slice n, and
// its pixel count.
func centroid(lab *volume.Labels, s Slicer, n int, l uint16) (u, v float64, count int) {
	w, h := s.Size()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if got, _ := LabelAt(lab, s, n, x, y); got == l {
				u += float64(x)
				v += float64(y)
				count++
			}
		}
	}
	if count > 0 {
		u /= float64(count)
		v /= float64(count)
	}
	return u, v, count
}

// TestRealLiverOnScreenLeft renders patient A's axial slice through the
// liver with the overlay and checks where the liver's colour lands: the
// patient's right, where the liver is, must be on the screen's left.
func TestRealLiverOnScreenLeft(t *testing.T) {
	vol, lab := readReal(t, "example_ct.nii.gz", "example_seg_fast_force_split.nii.gz")
	table := assets.DefaultColorTable()
	lc := table.Color(liver)
	for _, p := range []Plane{Axial, Coronal} {
		t.Run(p.String(), func(t *testing.T) {
			s := NewSlicer(vol.Grid, p)
			n := busiestSlice(lab, s, liver)
			w, h := s.Size()
			img := image.NewRGBA(image.Rect(0, 0, w, h))
			ov := &Overlay{Labels: lab, Table: table, Opacity: 1}
			if err := Render(img, vol, s, n, Presets()[0].Window, ov); err != nil {
				t.Fatal(err)
			}
			var left, right int
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					c := img.RGBAAt(x, y)
					if c.R == lc.R && c.G == lc.G && c.B == lc.B {
						if x < w/2 {
							left++
						} else {
							right++
						}
					}
				}
			}
			t.Logf("%s slice %d: liver colour in %d pixels on the left half, %d on the right", p, n, left, right)
			// The left lobe crosses the midline, most of all near the dome
			// (patient A's scan stops there), so the right half is not empty.
			if left < 100 || right*3 > left {
				t.Errorf("liver colour: %d pixels on the screen's left half, %d on the right; want most on the left", left, right)
			}
		})
	}
}

// TestRealAnatomy checks the other directions on patient A: the liver above
// the right kidney in the coronal view (rows run head to foot), the spleen
// on the screen's right in the axial view, and the liver in front of the
// spine in the sagittal view (columns run front to back).
func TestRealAnatomy(t *testing.T) {
	vol, lab := readReal(t, "example_ct.nii.gz", "example_seg_fast_force_split.nii.gz")

	ax := NewSlicer(vol.Grid, Axial)
	w, _ := ax.Size()
	n := busiestSlice(lab, ax, spleen)
	if su, _, c := centroid(lab, ax, n, spleen); c == 0 || su < float64(w)/2 {
		t.Errorf("axial: spleen centroid column %.1f of %d (%d px), want the right half", su, w, c)
	}

	co := NewSlicer(vol.Grid, Coronal)
	n = busiestSlice(lab, co, kidneyRight)
	_, lv, lc := centroid(lab, co, n, liver)
	_, kv, kc := centroid(lab, co, n, kidneyRight)
	if lc == 0 || kc == 0 || lv >= kv {
		t.Errorf("coronal slice %d: liver centroid row %.1f (%d px), right kidney %.1f (%d px); want the liver higher", n, lv, lc, kv, kc)
	}

	sa := NewSlicer(vol.Grid, Sagittal)
	n = busiestSlice(lab, sa, vertebraL1)
	// The sagittal slice through L1 is mid-line; take the liver's slice
	// instead and compare column positions, which only depend on y.
	lu, _, lc := centroid(lab, sa, busiestSlice(lab, sa, liver), liver)
	vu, _, vc := centroid(lab, sa, n, vertebraL1)
	if lc == 0 || vc == 0 || lu >= vu {
		t.Errorf("sagittal: liver centroid column %.1f (%d px), L1 %.1f (%d px); want the liver in front (left)", lu, lc, vu, vc)
	}
}

// TestRealStorageOrders shows patient B's DICOM series and its label
// volume, which is stored in another voxel order (LAS), each through its own
// slicer: the same display position must be the same place in the patient,
// so the liver label shown over the scan covers liver HU. Mirrored columns
// are the negative control.
func TestRealStorageOrders(t *testing.T) {
	if _, err := os.Stat(realDir); err != nil {
		t.Skipf("real data not available: %v", err)
	}
	vol, err := volume.ReadDICOM(context.Background(), realDir+"example_ct_dicom", volume.DICOMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lab, err := volume.ReadLabelsNIfTI(realDir + "example_seg_dicom.nii.gz")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scan voxels %s, labels %s", vol.Affine.AxisCodes(), lab.Affine.AxisCodes())
	if vol.Affine.AxisCodes() == lab.Affine.AxisCodes() {
		t.Fatalf("test premise: scan and labels in the same voxel order %s", vol.Affine.AxisCodes())
	}
	vs, ls := NewSlicer(vol.Grid, Axial), NewSlicer(lab.Grid, Axial)
	w, h := vs.Size()
	if lw, lh := ls.Size(); lw != w || lh != h || ls.NumSlices() != vs.NumSlices() {
		t.Fatalf("display sizes differ: scan %d×%d×%d, labels %d×%d×%d", w, h, vs.NumSlices(), lw, lh, ls.NumSlices())
	}
	for _, p := range [][3]int{{0, 0, 0}, {vs.NumSlices() - 1, w - 1, h - 1}, {7, 100, 300}} {
		ax, ay, az := vs.WorldAt(p[0], p[1], p[2])
		bx, by, bz := ls.WorldAt(p[0], p[1], p[2])
		if d := math.Max(math.Abs(ax-bx), math.Max(math.Abs(ay-by), math.Abs(az-bz))); d > 0.1 {
			t.Errorf("display position %v: scan at (%.2f %.2f %.2f), labels at (%.2f %.2f %.2f)", p, ax, ay, az, bx, by, bz)
		}
	}
	mean := func(mirror bool) (float64, float64, int) {
		var sum, sum2 float64
		var c int
		for n := 0; n < vs.NumSlices(); n++ {
			for v := 0; v < h; v++ {
				for u := 0; u < w; u++ {
					if l, _ := LabelAt(lab, ls, n, u, v); l != liver {
						continue
					}
					su := u
					if mirror {
						su = w - 1 - u
					}
					hu, _ := HUAt(vol, vs, n, su, v)
					sum += float64(hu)
					sum2 += float64(hu) * float64(hu)
					c++
				}
			}
		}
		m := sum / float64(c)
		return m, math.Sqrt(sum2/float64(c) - m*m), c
	}
	m, sd, c := mean(false)
	mm, msd, _ := mean(true)
	t.Logf("liver label over the scan: %.1f ± %.1f HU (%d voxels); mirrored: %.1f ± %.1f HU", m, sd, c, mm, msd)
	// Patient B is contrast-enhanced: liver about 90 ± 22 HU (see the
	// volume package's real-data test).
	if c < 1000 || m < 60 || m > 120 || sd > 35 {
		t.Errorf("liver label over the scan: %.1f ± %.1f HU (%d voxels), want enhanced liver", m, sd, c)
	}
	if msd < 2*sd {
		t.Errorf("mirrored control %.1f ± %.1f HU is as tight as the aligned %.1f ± %.1f", mm, msd, m, sd)
	}
}
