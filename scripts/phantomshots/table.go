package main

import (
	"context"
	"fmt"
	"io"
	"math"

	"github.com/polyseg/polyseg/phantom"
	"github.com/polyseg/polyseg/volume"
)

// structure is one row of the calibration table: the voxels of some
// labels, or, with fat set, the fat found by threshold.
type structure struct {
	name   string
	labels []uint16
	fat    bool
}

var structures = []structure{
	{name: "liver", labels: []uint16{phantom.Liver}},
	{name: "spleen", labels: []uint16{phantom.Spleen}},
	{name: "kidney right", labels: []uint16{phantom.KidneyRight}},
	{name: "kidney left", labels: []uint16{phantom.KidneyLeft}},
	{name: "gallbladder", labels: []uint16{phantom.Gallbladder}},
	{name: "pancreas", labels: []uint16{phantom.Pancreas}},
	{name: "aorta", labels: []uint16{phantom.Aorta}},
	{name: "inferior vena cava", labels: []uint16{phantom.InferiorVenaCava}},
	{name: "portal and splenic vein", labels: []uint16{phantom.PortalSplenicVein}},
	{name: "vertebrae L5-T11", labels: []uint16{27, 28, 29, 30, 31, 32, 33}},
	{name: "colon (gas and contents)", labels: []uint16{phantom.Colon}},
	{name: "fat (-250 to -40 HU, unlabelled)", fat: true},
}

// col is a column of the calibration tables: the cases, scans and their
// labels, whose figures it averages.
type col struct {
	title string
	vols  []*volume.Volume
	labs  []*volume.Labels
}

// printTable writes the calibration tables in Markdown: mean ± sd of HU
// inside each structure eroded by one voxel, and the structures' volumes,
// in the real scans and over several phantoms of each scanner.
func printTable(ctx context.Context, w io.Writer, rv *volume.Volume, rl *volume.Labels, bDir, bLabels string, seeds int) error {
	cols := []col{{title: "patient A (real, non-contrast)", vols: []*volume.Volume{rv}, labs: []*volume.Labels{rl}}}
	// Patient B's labels are stored in another voxel order than its DICOM
	// series; LoadLabels resamples them onto the series' grid.
	bv, err := volume.Open(ctx, bDir, volume.OpenOptions{})
	if err != nil {
		return err
	}
	bl, _, err := volume.LoadLabels(bLabels, bv.Grid)
	if err != nil {
		return err
	}
	cols = append(cols, col{title: "patient B (real, contrast)", vols: []*volume.Volume{bv}, labs: []*volume.Labels{bl}})
	for _, sc := range []phantom.Scanner{phantom.ScannerA(), phantom.ScannerB()} {
		c := col{title: fmt.Sprintf("phantom %s (%s), seeds 1-%d", sc.Name, sc.Phase, seeds)}
		for s := 1; s <= seeds; s++ {
			v, l, err := phantom.Generate(ctx, phantom.Options{Seed: int64(s), Scanner: sc})
			if err != nil {
				return err
			}
			c.vols = append(c.vols, v)
			c.labs = append(c.labs, l)
		}
		cols = append(cols, c)
	}
	tableHead(w, "structure", cols)
	for _, st := range structures {
		fmt.Fprintf(w, "| %s |", st.name)
		for _, c := range cols {
			var acc moments
			for i := range c.vols {
				acc.add(c.vols[i], erode(c.vols[i].Grid, mask(c.vols[i], c.labs[i], st)))
			}
			if acc.n == 0 {
				fmt.Fprint(w, " – |")
				continue
			}
			m, sd := acc.result()
			fmt.Fprintf(w, " %.0f ± %.0f |", m, sd)
		}
		fmt.Fprintln(w)
	}
	// Volumes, mean over the cases of a column: the phantoms cover more of
	// the upper abdomen than patient A, whose liver top is cut off.
	fmt.Fprintln(w)
	tableHead(w, "volume (mL)", cols)
	for _, st := range structures[:9] {
		fmt.Fprintf(w, "| %s |", st.name)
		for _, c := range cols {
			var ml float64
			for i, v := range c.vols {
				sp := v.Spacing()
				n := 0
				for _, in := range mask(v, c.labs[i], st) {
					if in {
						n++
					}
				}
				ml += float64(n) * sp[0] * sp[1] * sp[2] / 1000 / float64(len(c.vols))
			}
			if ml == 0 {
				fmt.Fprint(w, " – |")
				continue
			}
			fmt.Fprintf(w, " %.0f |", ml)
		}
		fmt.Fprintln(w)
	}
	return nil
}

// tableHead writes a Markdown table's heading row, first and then a column
// per col, and its separator row.
func tableHead(w io.Writer, first string, cols []col) {
	fmt.Fprintf(w, "| %s |", first)
	for _, c := range cols {
		fmt.Fprintf(w, " %s |", c.title)
	}
	fmt.Fprint(w, "\n|---|")
	for range cols {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
}

type moments struct {
	n         int
	sum, sum2 float64
}

func (m *moments) add(v *volume.Volume, in []bool) {
	for p, ok := range in {
		if ok {
			x := float64(v.Data[p])
			m.n++
			m.sum += x
			m.sum2 += x * x
		}
	}
}

func (m *moments) result() (mean, sd float64) {
	mean = m.sum / float64(m.n)
	return mean, math.Sqrt(math.Max(0, m.sum2/float64(m.n)-mean*mean))
}

// mask returns the voxels of a structure: its labels, or for fat the
// unlabelled voxels between -250 and -40 HU inside the body.
func mask(v *volume.Volume, l *volume.Labels, st structure) []bool {
	m := make([]bool, len(v.Data))
	if !st.fat {
		for p, x := range l.Data {
			for _, want := range st.labels {
				if x == want {
					m[p] = true
				}
			}
		}
		return m
	}
	out := outside(v)
	for p, x := range v.Data {
		m[p] = !out[p] && l.Data[p] == 0 && x > -250 && x < -40
	}
	return m
}

// outside marks, slice by slice, the air connected to the slice's border.
func outside(v *volume.Volume) []bool {
	nx, ny := v.Dims[0], v.Dims[1]
	out := make([]bool, len(v.Data))
	var stack []int
	for k := 0; k < v.Dims[2]; k++ {
		base := k * nx * ny
		push := func(i, j int) {
			p := base + i + j*nx
			if !out[p] && v.Data[p] < -400 {
				out[p] = true
				stack = append(stack, i+j*nx)
			}
		}
		for i := 0; i < nx; i++ {
			push(i, 0)
			push(i, ny-1)
		}
		for j := 0; j < ny; j++ {
			push(0, j)
			push(nx-1, j)
		}
		for len(stack) > 0 {
			q := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			i, j := q%nx, q/nx
			if i > 0 {
				push(i-1, j)
			}
			if i < nx-1 {
				push(i+1, j)
			}
			if j > 0 {
				push(i, j-1)
			}
			if j < ny-1 {
				push(i, j+1)
			}
		}
	}
	return out
}

// erode keeps the voxels whose six neighbours are all in m, away from
// partial volume at the border.
func erode(g volume.Grid, m []bool) []bool {
	nx, ny, nz := g.Dims[0], g.Dims[1], g.Dims[2]
	e := make([]bool, len(m))
	for k := 1; k < nz-1; k++ {
		for j := 1; j < ny-1; j++ {
			for i := 1; i < nx-1; i++ {
				p := g.Index(i, j, k)
				e[p] = m[p] && m[p-1] && m[p+1] && m[p-nx] && m[p+nx] && m[p-nx*ny] && m[p+nx*ny]
			}
		}
	}
	return e
}
