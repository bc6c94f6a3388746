package assets

import (
	"bytes"
	"errors"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultColorTable(t *testing.T) {
	tab := DefaultColorTable()
	want := map[uint16]string{
		1: "spleen", 2: "kidney_right", 3: "kidney_left", 4: "gallbladder", 5: "liver",
		6: "stomach", 7: "pancreas", 8: "adrenal_gland_right", 9: "adrenal_gland_left",
		10: "lung_upper_lobe_left", 14: "lung_lower_lobe_right", 18: "small_bowel", 20: "colon",
		21: "urinary_bladder", 25: "sacrum", 26: "vertebrae_S1", 50: "vertebrae_C1", 51: "heart",
		52: "aorta", 63: "inferior_vena_cava", 64: "portal_vein_and_splenic_vein", 79: "spinal_cord",
		90: "brain", 92: "rib_left_1", 104: "rib_right_1", 116: "sternum", 117: "costal_cartilages",
	}
	for v, name := range want {
		if got := tab.Name(v); got != name {
			t.Errorf("Name(%d) = %q, want %q", v, got, name)
		}
	}
	if tab.Len() != 118 { // background and 117 classes
		t.Errorf("Len = %d, want 118", tab.Len())
	}
	// The first 30 classes must be told apart on screen: no two colours
	// closer than a clearly visible difference.
	ls := tab.Labels()
	for a := 1; a <= 30; a++ {
		for b := a + 1; b <= 30; b++ {
			ca, cb := ls[a].Color, ls[b].Color
			if d := euclid(ca, cb); d < 50 {
				t.Errorf("%s %v and %s %v too alike (distance %.0f)", ls[a].Name, ca, ls[b].Name, cb, d)
			}
		}
		if ls[a].Color.A != 255 {
			t.Errorf("%s is not opaque", ls[a].Name)
		}
	}
	// Each call returns its own table.
	_ = tab.Set(Label{Value: 5, Name: "changed", Color: color.NRGBA{1, 2, 3, 4}})
	if DefaultColorTable().Name(5) != "liver" {
		t.Error("DefaultColorTable shares state between calls")
	}
}

// euclid is the distance between two colours in RGB space.
func euclid(a, b color.NRGBA) float64 {
	dr, dg, db := float64(a.R)-float64(b.R), float64(a.G)-float64(b.G), float64(a.B)-float64(b.B)
	return math.Sqrt(dr*dr + dg*dg + db*db)
}

// dist is the largest per-channel difference.
func dist(a, b color.NRGBA) int {
	d := 0
	for _, p := range [][2]uint8{{a.R, b.R}, {a.G, b.G}, {a.B, b.B}} {
		x := int(p[0]) - int(p[1])
		if x < 0 {
			x = -x
		}
		d = max(d, x)
	}
	return d
}

func TestFallbackColor(t *testing.T) {
	if c := FallbackColor(0); c != (color.NRGBA{}) {
		t.Errorf("FallbackColor(0) = %v, want transparent", c)
	}
	for v := 1; v < 1000; v++ {
		a, b := FallbackColor(uint16(v)), FallbackColor(uint16(v+1))
		if a.A != 255 {
			t.Fatalf("FallbackColor(%d) not opaque", v)
		}
		if dist(a, b) < 40 {
			t.Errorf("FallbackColor(%d) %v and (%d) %v too alike", v, a, v+1, b)
		}
	}
	var nilTable *ColorTable
	if nilTable.Color(7) != FallbackColor(7) || nilTable.Name(7) != "label_7" || nilTable.Len() != 0 {
		t.Error("nil table does not fall back")
	}
	// The bundled table was generated with the same rule for the classes
	// without a hand-chosen colour (this one, for example).
	if l, _ := DefaultColorTable().Lookup(100); !near(l.Color, FallbackColor(100)) {
		t.Errorf("table colour of 100 %v, fallback %v", l.Color, FallbackColor(100))
	}
}

func near(a, b color.NRGBA) bool { return dist(a, b) <= 1 && a.A == b.A }

func TestReadColorTable(t *testing.T) {
	good := "# comment\n\n  0 Background 0 0 0 0\n5\tliver  196 64 52 255\r\n# another\n1 spleen 157 108 162 128\n"
	tab, err := ReadColorTable(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	want := []Label{
		{0, "Background", color.NRGBA{}},
		{1, "spleen", color.NRGBA{157, 108, 162, 128}},
		{5, "liver", color.NRGBA{196, 64, 52, 255}},
	}
	got := tab.Labels()
	if len(got) != len(want) {
		t.Fatalf("labels %v, want %v", got, want)
	}
	for n := range want {
		if got[n] != want[n] {
			t.Errorf("label %d = %v, want %v", n, got[n], want[n])
		}
	}

	bad := []struct {
		name, text, want string
	}{
		{"too few fields", "1 spleen 1 2 3\n", "line 1: want 6 fields"},
		{"too many fields", "1 left kidney 1 2 3 4\n", "want 6 fields"},
		{"value not a number", "x spleen 1 2 3 4\n", "value \"x\""},
		{"value too large", "65536 big 1 2 3 4\n", "value \"65536\""},
		{"negative value", "-1 neg 1 2 3 4\n", "value \"-1\""},
		{"component too large", "1 spleen 256 2 3 4\n", "colour component \"256\""},
		{"component fraction", "1 spleen 0.5 2 3 4\n", "colour component"},
		{"duplicate", "1 a 1 2 3 4\n# x\n1 b 1 2 3 4\n", "line 3: value 1 listed twice"},
		{"long line", "1 " + strings.Repeat("n", 5000) + " 1 2 3 4\n", "longer than"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadColorTable(strings.NewReader(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrFormat) {
				t.Errorf("err = %v, want an ErrFormat containing %q", err, tc.want)
			}
		})
	}
}

func TestColorTableEdit(t *testing.T) {
	tab, err := NewColorTable([]Label{{Value: 9, Name: "b"}, {Value: 3, Name: "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tab.Set(Label{Value: 5, Name: "mid", Color: color.NRGBA{1, 1, 1, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := tab.Set(Label{Value: 9, Name: "b2"}); err != nil {
		t.Fatal(err)
	}
	if err := tab.Set(Label{Value: 1, Name: "has space"}); err == nil {
		t.Error("Set accepted a name with a space")
	}
	tab.Delete(3)
	tab.Delete(4) // absent: no-op
	var names []string
	for _, l := range tab.Labels() {
		names = append(names, l.Name)
	}
	if got := strings.Join(names, ","); got != "mid,b2" {
		t.Errorf("labels %s, want mid,b2", got)
	}
	if _, err := NewColorTable([]Label{{Value: 1, Name: "a"}, {Value: 1, Name: "b"}}); err == nil {
		t.Error("NewColorTable accepted a duplicate")
	}
	if _, err := NewColorTable([]Label{{Value: 1, Name: ""}}); err == nil {
		t.Error("NewColorTable accepted an empty name")
	}
}

func TestColorTableFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "labels.ctbl")
	tab := DefaultColorTable()
	if err := WriteColorTableFile(path, tab); err != nil {
		t.Fatal(err)
	}
	back, err := ReadColorTableFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a, b := tab.Labels(), back.Labels()
	if len(a) != len(b) {
		t.Fatalf("%d labels back, want %d", len(b), len(a))
	}
	for n := range a {
		if a[n] != b[n] {
			t.Errorf("label %d: %v back, want %v", n, b[n], a[n])
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the directory, want 1 (temporary file left behind?)", len(entries))
	}
	if err := WriteColorTableFile(filepath.Join(dir, "missing", "x.ctbl"), tab); err == nil {
		t.Error("write into a missing directory: no error")
	}
	if _, err := ReadColorTableFile(filepath.Join(dir, "absent.ctbl")); err == nil {
		t.Error("read of a missing file: no error")
	}
	os.WriteFile(path, []byte("1 a 1 2 3\n"), 0o644)
	if _, err := ReadColorTableFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want one naming %s", err, path)
	}
}

// FuzzReadColorTable checks that any input either fails cleanly or gives a
// table that survives a write and read unchanged.
func FuzzReadColorTable(f *testing.F) {
	f.Add(totalSegmentatorV2)
	f.Add([]byte("0 bg 0 0 0 0\n1 a 1 2 3 4\n"))
	f.Add([]byte("1 a 1 2 3\n"))
	f.Add([]byte("#\n\r\n65535 \u00a0x 255 255 255 255"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		tab, err := ReadColorTable(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if _, err := tab.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		back, err := ReadColorTable(&buf)
		if err != nil {
			t.Fatalf("written table does not read back: %v\n%s", err, buf.String())
		}
		a, b := tab.Labels(), back.Labels()
		if len(a) != len(b) {
			t.Fatalf("%d labels back, want %d", len(b), len(a))
		}
		for n := range a {
			if a[n] != b[n] {
				t.Fatalf("label %v back as %v", a[n], b[n])
			}
		}
	})
}
