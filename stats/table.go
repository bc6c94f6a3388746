package stats

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/polyseg/polyseg/volume"
)

// VoxelML returns the volume of one voxel of grid g in mL: the absolute
// determinant of the affine's 3x3 part (mm³) over 1000. A segment's volume
// is its voxel count times this, as Compute reports it; the app's segment
// list, which keeps counts as it edits, uses it to show mL without a pass
// over the volume.
func VoxelML(g volume.Grid) float64 { return math.Abs(det3(g.Affine)) / 1000 }

// Row is one line of a statistics table, as people read it (rounded, the
// slice range in one cell) and as a CSV file holds it (every digit, one
// value per cell).
type Row struct{ Human, CSV []string }

// Table lays segs out as a table: a header and one row per segment, with
// the columns of cols after the built-in ones and each label's name from
// name. The command line prints it and the app shows it; both write the
// same CSV through WriteCSV.
func Table(segs []Segment, cols []Column, name func(uint16) string) (header Row, rows []Row) {
	header = Row{
		Human: []string{"label", "name", "voxels", "volume mL", "mean HU", "SD HU", "axial slices"},
		CSV:   []string{"label", "name", "voxels", "volume_ml", "mean_hu", "sd_hu", "first_axial_slice", "last_axial_slice"},
	}
	for _, c := range cols {
		header.Human = append(header.Human, c.Name)
		header.CSV = append(header.CSV, c.Name)
	}
	num := func(x float64) string { return strconv.FormatFloat(x, 'g', 10, 64) }
	for _, s := range segs {
		r := Row{
			Human: []string{strconv.Itoa(int(s.Label)), name(s.Label), strconv.Itoa(s.Voxels),
				fmt.Sprintf("%.2f", s.VolumeML), fmt.Sprintf("%.1f", s.MeanHU), fmt.Sprintf("%.1f", s.SDHU),
				fmt.Sprintf("%d-%d", s.FirstSlice, s.LastSlice)},
			CSV: []string{strconv.Itoa(int(s.Label)), name(s.Label), strconv.Itoa(s.Voxels),
				num(s.VolumeML), num(s.MeanHU), num(s.SDHU), strconv.Itoa(s.FirstSlice), strconv.Itoa(s.LastSlice)},
		}
		for _, x := range s.Extra {
			r.Human = append(r.Human, fmt.Sprintf("%.2f", x))
			r.CSV = append(r.CSV, num(x))
		}
		rows = append(rows, r)
	}
	return header, rows
}

// WriteCSV writes the table's CSV cells to w, header first.
func WriteCSV(w io.Writer, header Row, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header.CSV); err != nil {
		return err
	}
	for _, r := range rows {
		if err := cw.Write(r.CSV); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
