package viewer

import (
	"fmt"
	"math"
)

// Window is a display window in Hounsfield units: values from
// Level-Width/2 (black) to Level+Width/2 (white) are mapped linearly to
// grey levels 0..255 and values outside are clamped. A Width of zero or less
// is a threshold at Level. Unlike DICOM's VOI LUT formula, there is no
// half-unit offset: the window is the plain interval.
type Window struct {
	Width, Level float64
}

// String formats the window as radiologists write it, "W 400 L 40".
func (w Window) String() string {
	return fmt.Sprintf("W %g L %g", w.Width, w.Level)
}

// Gray returns the grey level of HU value hu. NaN is black.
func (w Window) Gray(hu float32) uint8 {
	return w.ramp().gray(hu)
}

// ramp is the window as gray = hu*a + b, precomputed once per rendering.
type ramp struct {
	a, b      float32
	threshold bool
	level     float32
}

func (w Window) ramp() ramp {
	if !(w.Width > 0) || math.IsInf(w.Width, 0) {
		return ramp{threshold: true, level: float32(w.Level)}
	}
	lo := w.Level - w.Width/2
	a := 255 / w.Width
	// +0.5 so that the truncation in gray rounds to nearest.
	return ramp{a: float32(a), b: float32(-lo*a + 0.5)}
}

func (r ramp) gray(hu float32) uint8 {
	if r.threshold {
		if hu >= r.level {
			return 255
		}
		return 0
	}
	// min and max compile without branches, which matters on noisy data
	// where a clamp's branches are mispredicted; NaN, which they would pass
	// through, is rare enough for a predictable branch.
	g := min(max(hu*r.a+r.b, 0), 255)
	if g != g {
		return 0
	}
	return uint8(g)
}

// Preset is a named window.
type Preset struct {
	Name string
	Window
}

// Presets returns the usual CT windows, in the order a menu shows them:
// abdomen (soft tissue) W 400 L 40, liver W 150 L 30, lung W 1500 L -600,
// bone W 1800 L 400. The slice is new on each call.
func Presets() []Preset {
	return []Preset{
		{"abdomen", Window{Width: 400, Level: 40}},
		{"liver", Window{Width: 150, Level: 30}},
		{"lung", Window{Width: 1500, Level: -600}},
		{"bone", Window{Width: 1800, Level: 400}},
	}
}

// PresetByName returns the preset called name.
func PresetByName(name string) (Preset, bool) {
	for _, p := range Presets() {
		if p.Name == name {
			return p, true
		}
	}
	return Preset{}, false
}

// RangeWindow returns the window spanning [lo, hi], for scans whose values
// are not HU (MR, or a CT of unknown scaling).
func RangeWindow(lo, hi float32) Window {
	return Window{Width: float64(hi) - float64(lo), Level: (float64(hi) + float64(lo)) / 2}
}
