package viewer

import (
	"image/color"
	"testing"

	"github.com/polyseg/polyseg/assets"
)

func TestProbe(t *testing.T) {
	vol, lab := phantom()
	table, _ := assets.NewColorTable([]assets.Label{{Value: 3, Name: "three", Color: color.NRGBA{A: 255}}})
	s := NewSlicer(vol.Grid, Axial)
	// Axial (slice 1, u 0, v 0) of the RAS phantom is voxel (6, 4, 1), at
	// world (-10+6, 20+2*4, -30+3*1), index 6+7*(4+5*1) = 69, value
	// -200+3*69.
	i, j, k := s.Voxel(1, 0, 0)
	lab.Data[vol.Index(i, j, k)] = 3
	tests := []struct {
		name        string
		ov          *Overlay
		slice, u, v int
		want        string
	}{
		{"with label", &Overlay{Labels: lab, Table: table}, 1, 0, 0,
			"axial 2/4  voxel (7, 5, 2)  L 4.0 A 28.0 I 27.0 mm  7 HU  three (3)"},
		{"no overlay", nil, 1, 0, 0, "axial 2/4  voxel (7, 5, 2)  L 4.0 A 28.0 I 27.0 mm  7 HU"},
		{"unlisted label", &Overlay{Labels: lab}, 0, 5, 2,
			"axial 1/4  voxel (2, 3, 1)  L 9.0 A 24.0 I 30.0 mm  -155 HU  label_2 (2)"},
		{"background label", &Overlay{Labels: lab}, 0, 6, 4, "axial 1/4  voxel (1, 1, 1)  L 10.0 A 20.0 I 30.0 mm  -200 HU"},
		{"outside", nil, 0, 7, 0, "axial 1/4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ProbeAt(vol, tc.ov, s, tc.slice, tc.u, tc.v).String(); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
	if got := FormatRAS([3]float64{1.25, -0.05, 0}); got != "R 1.2 P 0.1 S 0.0" {
		t.Errorf("FormatRAS = %q", got)
	}
}
