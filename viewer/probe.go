package viewer

import (
	"fmt"
	"math"
	"strings"

	"github.com/polyseg/polyseg/volume"
)

// Probe is what lies under one display pixel, for a status bar.
type Probe struct {
	Plane       Plane
	Slice, U, V int
	NumSlices   int
	Inside      bool       // the position is inside the volume; the fields below are set only then
	Voxel       [3]int     // i, j, k
	World       [3]float64 // RAS+ mm, the voxel's centre
	HU          float32
	HasLabel    bool // an overlay with labels was given
	Label       uint16
	LabelName   string
}

// ProbeAt returns what vol (and ov's labels, if any) hold at display
// position (slice, u, v) of s.
func ProbeAt(vol *volume.Volume, ov *Overlay, s Slicer, slice, u, v int) Probe {
	p := Probe{Plane: s.plane, Slice: slice, U: u, V: v, NumSlices: s.NumSlices()}
	hu, ok := HUAt(vol, s, slice, u, v)
	if !ok {
		return p
	}
	p.Inside, p.HU = true, hu
	p.Voxel[0], p.Voxel[1], p.Voxel[2] = s.Voxel(slice, u, v)
	p.World[0], p.World[1], p.World[2] = s.WorldAt(slice, u, v)
	if ov != nil && ov.Labels != nil {
		if l, ok := LabelAt(ov.Labels, s, slice, u, v); ok {
			p.HasLabel, p.Label = true, l
			if l != 0 {
				p.LabelName = ov.Table.Name(l)
			}
		}
	}
	return p
}

// String formats the probe as 3D Slicer's status bar does, with patient
// directions instead of signs: "axial 58/112  voxel (61, 51, 58)
// R 12.3 P 45.0 S 80.0 mm  46 HU  liver (5)". Slices and voxels are
// numbered from 1, as everything polyseg shows a person: the first slice
// is 1, the first voxel (1, 1, 1); Slice and Voxel hold indices from 0.
func (p Probe) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d/%d", p.Plane, p.Slice+1, p.NumSlices)
	if !p.Inside {
		return b.String()
	}
	fmt.Fprintf(&b, "  voxel (%d, %d, %d)  %s mm  %s HU", p.Voxel[0]+1, p.Voxel[1]+1, p.Voxel[2]+1,
		FormatRAS(p.World), formatHU(p.HU))
	if p.HasLabel && p.Label != 0 {
		fmt.Fprintf(&b, "  %s (%d)", p.LabelName, p.Label)
	}
	return b.String()
}

func formatHU(hu float32) string {
	if hu == float32(math.Round(float64(hu))) {
		return fmt.Sprintf("%.0f", hu)
	}
	return fmt.Sprintf("%.1f", hu)
}

// FormatRAS writes a world position with patient directions, as
// "R 12.3 P 45.0 S 80.0": x > 0 is Right, y > 0 Anterior, z > 0 Superior.
func FormatRAS(w [3]float64) string {
	pos, neg := [3]string{"R", "A", "S"}, [3]string{"L", "P", "I"}
	parts := make([]string, 3)
	for n, x := range w {
		d := pos[n]
		if x < 0 {
			d, x = neg[n], -x
		}
		parts[n] = fmt.Sprintf("%s %.1f", d, x)
	}
	return strings.Join(parts, " ")
}
