package viewer

import (
	"math"
	"testing"
)

func TestWindowGray(t *testing.T) {
	abdomen := Window{Width: 400, Level: 40}
	tests := []struct {
		name string
		w    Window
		hu   float32
		want uint8
	}{
		{"below window", abdomen, -1000, 0},
		{"window bottom", abdomen, -160, 0},
		{"level is mid-grey", abdomen, 40, 128}, // 127.5 rounds up
		{"window top", abdomen, 240, 255},
		{"above window", abdomen, 3000, 255},
		{"quarter", abdomen, -60, 64}, // 63.75
		{"NaN is black", abdomen, float32(math.NaN()), 0},
		{"+Inf is white", abdomen, float32(math.Inf(1)), 255},
		{"-Inf is black", abdomen, float32(math.Inf(-1)), 0},
		{"lung", Window{Width: 1500, Level: -600}, -600, 128},
		{"zero width thresholds below", Window{Width: 0, Level: 100}, 99.9, 0},
		{"zero width thresholds at level", Window{Width: 0, Level: 100}, 100, 255},
		{"negative width thresholds", Window{Width: -5, Level: 0}, 1, 255},
		{"NaN width thresholds", Window{Width: math.NaN(), Level: 0}, -1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.w.Gray(tc.hu); got != tc.want {
				t.Errorf("%v.Gray(%g) = %d, want %d", tc.w, tc.hu, got, tc.want)
			}
		})
	}
}

// TestWindowMonotonic checks the fast path against the definition over a
// sweep of values.
func TestWindowMonotonic(t *testing.T) {
	for _, p := range Presets() {
		lo := p.Level - p.Width/2
		prev := uint8(0)
		for hu := -1100.0; hu < 3100; hu += 0.25 {
			g := p.Gray(float32(hu))
			want := math.Round(math.Min(math.Max((hu-lo)/p.Width*255, 0), 255))
			if math.Abs(float64(g)-want) > 1 {
				t.Fatalf("%s: Gray(%g) = %d, want %g", p.Name, hu, g, want)
			}
			if g < prev {
				t.Fatalf("%s: Gray not monotonic at %g", p.Name, hu)
			}
			prev = g
		}
	}
}

func TestPresets(t *testing.T) {
	want := []Preset{
		{"abdomen", Window{400, 40}},
		{"liver", Window{150, 30}},
		{"lung", Window{1500, -600}},
		{"bone", Window{1800, 400}},
	}
	got := Presets()
	if len(got) != len(want) {
		t.Fatalf("%d presets, want %d", len(got), len(want))
	}
	for n := range want {
		if got[n] != want[n] {
			t.Errorf("preset %d = %+v, want %+v", n, got[n], want[n])
		}
		if p, ok := PresetByName(want[n].Name); !ok || p != want[n] {
			t.Errorf("PresetByName(%q) = %+v, %v", want[n].Name, p, ok)
		}
	}
	got[0].Width = 1
	if Presets()[0].Width != 400 {
		t.Error("Presets shares its slice between calls")
	}
	if _, ok := PresetByName("brain"); ok {
		t.Error("PresetByName(brain) found a preset")
	}
	if w := RangeWindow(-1024, 3071); w.Width != 4095 || w.Level != 1023.5 {
		t.Errorf("RangeWindow = %v", w)
	}
	if s := (Window{400, 40}).String(); s != "W 400 L 40" {
		t.Errorf("String = %q", s)
	}
}
