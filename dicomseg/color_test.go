package dicomseg

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"image/color"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/assets"
)

func colorDist(a, b color.NRGBA) int {
	d := 0
	for _, x := range [][2]uint8{{a.R, b.R}, {a.G, b.G}, {a.B, b.B}} {
		d = max(d, absInt(int(x[0])-int(x[1])))
	}
	return d
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCIELabAsDcmqi: dcmqi's example liver, sRGB (221, 130, 101)
// (doc/examples/seg-example.json), is CIELab (41661, 41167, 40792) in the
// segmentations dcmqi wrote from it (testdata/dcmqi).
func TestCIELabAsDcmqi(t *testing.T) {
	got := CIELab(color.NRGBA{221, 130, 101, 255})
	want := [3]uint16{41661, 41167, 40792}
	for c := range got {
		if absInt(int(got[c])-int(want[c])) > 1 {
			t.Fatalf("CIELab(221, 130, 101) = %v, dcmqi wrote %v", got, want)
		}
	}
	if back := SRGB(want); colorDist(back, color.NRGBA{221, 130, 101, 255}) > 0 {
		t.Errorf("SRGB(%v) = %v, want (221, 130, 101)", want, back)
	}
}

// TestCIELabAgainstSkimage compares every colour of the colour table with
// scikit-image's rgb2lab (sRGB, D65), and checks the way back.
func TestCIELabAgainstSkimage(t *testing.T) {
	var rgb []string
	labels := assets.DefaultColorTable().Labels()
	for _, l := range labels {
		rgb = append(rgb, fmt.Sprintf("%d,%d,%d", l.Color.R, l.Color.G, l.Color.B))
		if back := SRGB(CIELab(l.Color)); colorDist(back, l.Color) > 0 {
			t.Errorf("%s: %v comes back from CIELab as %v", l.Name, l.Color, back)
		}
	}
	if err := exec.Command(python, "-c", "import skimage.color").Run(); err != nil {
		t.Skipf("%s has no scikit-image (python3-skimage, scripts/setup.sh): %v", python, err)
	}
	script := `import sys, numpy as np
from skimage.color import rgb2lab
c = np.array([[int(v) for v in s.split(",")] for s in sys.argv[1:]], dtype=float)/255
for L, a, b in rgb2lab(c[np.newaxis])[0]: print(L, a, b)`
	out, err := exec.Command(python, append([]string{"-c", script}, rgb...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("skimage: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(labels) {
		t.Fatalf("%d lines from skimage for %d colours", len(lines), len(labels))
	}
	worst := 0.0
	for n, line := range lines {
		var L, a, b float64
		if _, err := fmt.Sscan(line, &L, &a, &b); err != nil {
			t.Fatal(err)
		}
		lab := CIELab(labels[n].Color)
		gl := float64(lab[0]) / 65535 * 100
		ga := float64(lab[1])/65535*255 - 128
		gb := float64(lab[2])/65535*255 - 128
		for _, d := range []float64{gl - L, ga - a, gb - b} {
			worst = max(worst, max(d, -d))
		}
	}
	// skimage's sRGB matrix has six digits, dcmqi's four; the scaled
	// values step by 0.0015 (L*) and 0.004 (a*, b*).
	if worst > 0.1 {
		t.Errorf("CIELab differs from skimage's by up to %.3f", worst)
	}
	t.Logf("largest difference from skimage: %.4f", worst)
}

func TestEveryColourTableNameIsCoded(t *testing.T) {
	for _, l := range assets.DefaultColorTable().Labels() {
		if l.Value == 0 {
			continue
		}
		if _, ok := LookupCoding(l.Name); !ok {
			t.Errorf("%d %s has no SNOMED CT coding", l.Value, l.Name)
		}
	}
	for _, tc := range []struct {
		name string
		want Coding
	}{
		{"liver", Coding{Category: Code{"SCT", "123037004", "Anatomical Structure"}, Type: Code{"SCT", "10200004", "Liver"}}},
		{"kidney_left", Coding{Category: Code{"SCT", "123037004", "Anatomical Structure"}, Type: Code{"SCT", "64033007", "Kidney"}, TypeModifier: Code{"SCT", "7771000", "Left"}}},
		{"Unknown_thing", genericTissue},
	} {
		if got := CodingFor(tc.name); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if name, ok := nameForCoding(CodingFor("kidney_left")); !ok || name != "kidney_left" {
		t.Errorf("the coding of kidney_left is named %q, %v", name, ok)
	}
}
