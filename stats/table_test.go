package stats

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"reflect"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

func TestVoxelML(t *testing.T) {
	tests := []struct {
		name string
		a    volume.Affine
		want float64
	}{
		{"RAS", volume.Affine{{0.5, 0, 0, 0}, {0, 0.5, 0, 0}, {0, 0, 2, 0}, {0, 0, 0, 1}}, 0.0005},
		{"LPS, negative determinant", volume.Affine{{-0.8, 0, 0, 4}, {0, -0.8, 0, 3}, {0, 0, 2.5, -1}, {0, 0, 0, 1}}, 0.0016},
		// A rotation about z by 30 degrees keeps the volume of a 1x2x3 voxel.
		{"oblique", volume.Affine{
			{math.Cos(math.Pi / 6), -2 * math.Sin(math.Pi/6), 0, 0},
			{math.Sin(math.Pi / 6), 2 * math.Cos(math.Pi/6), 0, 0},
			{0, 0, 3, 0}, {0, 0, 0, 1}}, 0.006},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := volume.Grid{Dims: [3]int{4, 3, 5}, Affine: tc.a}
			if got := VoxelML(g); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("VoxelML = %g, want %g", got, tc.want)
			}
			// Compute's volume is the count times the same figure.
			v, l := scanAndLabels(tc.a, 5, 1, 2)
			segs, err := Compute(context.Background(), v, l, nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := float64(segs[0].Voxels) * tc.want; math.Abs(segs[0].VolumeML-want) > 1e-12 {
				t.Errorf("Compute's volume %g, want %g", segs[0].VolumeML, want)
			}
		})
	}
}

func TestTableAndCSV(t *testing.T) {
	segs := []Segment{
		{Label: 5, Voxels: 1234, VolumeML: 1.0 / 3, MeanHU: 57.25, SDHU: 12.5, FirstSlice: 3, LastSlice: 9, Extra: []float64{2.5}},
		{Label: 300, Voxels: 1, VolumeML: 0.001, MeanHU: -1000, FirstSlice: 1, LastSlice: 1, Extra: []float64{0}},
	}
	cols := []Column{{Name: "surface_mm2"}}
	name := func(v uint16) string {
		if v == 5 {
			return "liver"
		}
		return "a, \"quoted\" name"
	}
	header, rows := Table(segs, cols, name)
	if got := header.Human[len(header.Human)-1]; got != "surface_mm2" {
		t.Errorf("last header %q", got)
	}
	if want := []string{"5", "liver", "1234", "0.33", "57.2", "12.5", "3-9", "2.50"}; !reflect.DeepEqual(rows[0].Human, want) {
		t.Errorf("human row %q, want %q", rows[0].Human, want)
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, header, rows); err != nil {
		t.Fatal(err)
	}
	// Read back with encoding/csv: quoting survives, and every digit is kept.
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"label", "name", "voxels", "volume_ml", "mean_hu", "sd_hu", "first_axial_slice", "last_axial_slice", "surface_mm2"},
		{"5", "liver", "1234", "0.3333333333", "57.25", "12.5", "3", "9", "2.5"},
		{"300", "a, \"quoted\" name", "1", "0.001", "-1000", "0", "1", "1", "0"},
	}
	if !reflect.DeepEqual(recs, want) {
		t.Errorf("CSV read back\n%q\nwant\n%q", recs, want)
	}
}
