// Command phantomshots renders axial slices of phantoms beside slices of a
// real CT scan at matching heights, in the same window, so that the
// phantom's realism can be judged at a glance (docs/phantom.md).
//
// Usage, from the repository root:
//
//	go run ./scripts/phantomshots -out docs/phantom-vs-real.png
//	go run ./scripts/phantomshots -labels -out docs/phantom-labels.png
//	go run ./scripts/phantomshots -table    # the calibration table
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/png"
	"io"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/internal/atomicfile"
	"github.com/polyseg/polyseg/phantom"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "phantomshots:", err)
		os.Exit(1)
	}
}

// column is one column of the picture: a volume and, per row, the world z
// of the slice to show.
type column struct {
	title string
	vol   *volume.Volume
	lab   *volume.Labels
	z     []float64
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("phantomshots", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "docs/phantom-vs-real.png", "output PNG")
	real := fs.String("real", "../shared/data/real/totalsegmentator/example_ct.nii.gz", "real CT (patient A) to compare with")
	seed := fs.Int64("seed", 1, "first phantom seed; the picture shows this seed and the next")
	tile := fs.Int("tile", 200, "tile size in pixels")
	overlay := fs.Bool("labels", false, "draw the label volumes' outlines")
	table := fs.Bool("table", false, "print the calibration table (Markdown) instead of drawing")
	realB := fs.String("real-b", "../shared/data/real/totalsegmentator/example_ct_dicom", "real contrast CT (patient B, DICOM) for the table")
	realBLabels := fs.String("real-b-labels", "../shared/data/real/totalsegmentator/example_seg_dicom.nii.gz", "label volume of patient B")
	seeds := fs.Int("seeds", 5, "phantoms per scanner in the calibration table")
	realLabels := fs.String("real-labels", "../shared/data/real/totalsegmentator/example_seg_fast_force_split.nii.gz", "label volume of the real CT (with -labels)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return errors.New("unexpected arguments")
	}

	rv, err := volume.ReadNIfTI(*real)
	if err != nil {
		return err
	}
	var rl *volume.Labels
	if *overlay || *table {
		if rl, _, err = volume.LoadLabels(*realLabels, rv.Grid); err != nil {
			return err
		}
	}
	if *table {
		return printTable(ctx, os.Stdout, rv, rl, *realB, *realBLabels, *seeds)
	}
	// Heights in patient A's world frame of the upper abdomen (liver
	// and spleen), the renal hila and the lower kidneys, and the same levels
	// in the phantom's frame, whose origin is the middle of L2.
	cols := []column{{title: "real: patient A", vol: rv, lab: rl, z: []float64{400, 370, 349, 315}}}
	phantomZ := []float64{60, 25, 0, -35}
	for _, c := range []struct {
		seed int64
		sc   phantom.Scanner
	}{{*seed, phantom.ScannerA()}, {*seed + 1, phantom.ScannerA()}, {*seed, phantom.ScannerB()}} {
		v, l, err := phantom.Generate(ctx, phantom.Options{Seed: c.seed, Scanner: c.sc})
		if err != nil {
			return err
		}
		if !*overlay {
			l = nil
		}
		cols = append(cols, column{title: fmt.Sprintf("phantom %s seed %d", c.sc.Name, c.seed), vol: v, lab: l, z: phantomZ})
	}

	colors := assets.DefaultColorTable()
	win := viewer.Window{Width: 400, Level: 40}
	const head = 16
	rows := len(phantomZ)
	img := image.NewRGBA(image.Rect(0, 0, len(cols)**tile, head+rows**tile))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.Black), image.Point{}, draw.Src)
	for ci, c := range cols {
		label(img, ci**tile+4, 12, c.title)
		s := viewer.NewSlicer(c.vol.Grid, viewer.Axial)
		inv, err := c.vol.Affine.Inverse()
		if err != nil {
			return fmt.Errorf("%s: %w", c.title, err)
		}
		for ri, z := range c.z {
			_, _, k := inv.Apply(0, 0, z)
			kk := min(max(int(k+0.5), 0), c.vol.Dims[2]-1)
			slice, _, _ := s.Locate(0, 0, kk)
			dst := img.SubImage(image.Rect(ci**tile, head+ri**tile, (ci+1)**tile, head+(ri+1)**tile)).(*image.RGBA)
			var ov *viewer.Overlay
			if c.lab != nil {
				ov = &viewer.Overlay{Labels: c.lab, Table: colors, Opacity: 1, Outline: true}
			}
			if err := viewer.RenderViewport(dst, c.vol, s, slice, win, ov, viewer.Viewport{}); err != nil {
				return err
			}
			_, _, zw := c.vol.Affine.Apply(0, 0, float64(kk))
			label(img, ci**tile+4, head+(ri+1)**tile-4, fmt.Sprintf("z %.0f mm", zw))
		}
	}
	// Grey (or a 256-colour palette for the outlines) keeps the committed
	// pictures small.
	var small image.Image
	if *overlay {
		pal := image.NewPaletted(img.Bounds(), palette.Plan9)
		draw.Draw(pal, pal.Bounds(), img, image.Point{}, draw.Src)
		small = pal
	} else {
		g := image.NewGray(img.Bounds())
		draw.Draw(g, g.Bounds(), img, image.Point{}, draw.Src)
		small = g
	}
	return writePNG(*out, small)
}

func label(img *image.RGBA, x, y int, s string) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.RGBA{255, 220, 0, 255}), Face: basicfont.Face7x13,
		Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// writePNG writes img atomically: a temporary file in the same folder,
// renamed into place once complete.
func writePNG(path string, img image.Image) error {
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	err := atomicfile.WriteFile(path, 0o644, func(w io.Writer) error { return enc.Encode(w, img) })
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
