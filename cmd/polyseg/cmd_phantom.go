package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/polyseg/polyseg/internal/atomicfile"
	"github.com/polyseg/polyseg/phantom"
	"github.com/polyseg/polyseg/volume"
)

func init() {
	register(command{
		name:    "phantom",
		summary: "generate synthetic abdominal CT scans with organ labels",
		usage:   "OUT_DIR [--seed N] [--scanner A|B] [--count N] [--size 256] [--slices 64] [--msd]",
		run:     runPhantom,
	})
}

// Bounds of the command's numeric flags: a dataset of more cases belongs in
// several runs, and the phantom package bounds the grid.
const maxPhantomCount = 10000

// runPhantom writes one phantom (scan and labels side by side in OUT_DIR),
// or, with --count or --msd, a data set in the layout of the Medical
// Segmentation Decathlon: imagesTr/NAME.nii.gz, labelsTr/NAME.nii.gz and
// dataset.json. Case i has seed --seed + i, so a data set can be extended or
// any case remade on its own.
func runPhantom(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("phantom", stderr)
	seed := fs.Int64("seed", 1, "seed of the first case")
	scanner := fs.String("scanner", "A", "scanner preset: A (3 mm, low noise, no contrast) or B (5 mm, noisier, portal-venous)")
	count := fs.Int("count", 1, "number of cases")
	size := fs.Int("size", 0, "in-plane matrix size (default: the preset's, 256)")
	slices := fs.Int("slices", 0, "number of axial slices (default: the preset's, 64)")
	msd := fs.Bool("msd", false, "write the Medical Segmentation Decathlon layout even for one case")
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	if err != nil {
		return usageErr("%v", err)
	}
	if len(pos) != 1 {
		return usageErr("want one OUT_DIR, got %d arguments", len(pos))
	}
	dir := pos[0]
	sc, err := phantom.Preset(*scanner)
	if err != nil {
		return usageErr("%v", err)
	}
	// An explicit --size 0 or --slices 0 is refused by Validate, not taken
	// for "the preset's".
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "size":
			sc.Matrix = *size
		case "slices":
			sc.Slices = *slices
		}
	})
	if err := sc.Validate(); err != nil {
		return usageErr("%v", err)
	}
	if *count < 1 || *count > maxPhantomCount {
		return usageErr("--count %d outside [1, %d]", *count, maxPhantomCount)
	}
	layout := *msd || *count > 1

	imgDir, labDir := dir, dir
	if layout {
		imgDir, labDir = filepath.Join(dir, "imagesTr"), filepath.Join(dir, "labelsTr")
	}
	for _, d := range []string{imgDir, labDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("output folder: %w", err)
		}
	}
	var cases []msdCase
	for i := 0; i < *count; i++ {
		s := *seed + int64(i)
		name := fmt.Sprintf("phantom_%s_%04d", sc.Name, s)
		img := filepath.Join(imgDir, name+".nii.gz")
		lab := filepath.Join(labDir, name+".nii.gz")
		if !layout {
			lab = filepath.Join(labDir, name+"_labels.nii.gz")
		}
		v, l, err := phantom.Generate(ctx, phantom.Options{Seed: s, Scanner: sc})
		if err != nil {
			return err
		}
		if err := volume.WriteNIfTI(img, v); err != nil {
			return err
		}
		if err := volume.WriteLabels(lab, l, v); err != nil {
			return err
		}
		sp := v.Spacing()
		fmt.Fprintf(stdout, "wrote %s and %s: %dx%dx%d voxels of %.3gx%.3gx%.3g mm, scanner %s, seed %d\n",
			img, lab, v.Dims[0], v.Dims[1], v.Dims[2], sp[0], sp[1], sp[2], sc.Name, s)
		cases = append(cases, msdCase{
			Image:   "./imagesTr/" + name + ".nii.gz",
			Label:   "./labelsTr/" + name + ".nii.gz",
			Seed:    s,
			Scanner: newScannerRecord(sc),
		})
	}
	if !layout {
		return nil
	}
	path := filepath.Join(dir, "dataset.json")
	if err := writeDatasetJSON(path, newMSDDataset(sc, cases)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d cases\n", path, len(cases))
	return nil
}

// msdDataset is dataset.json of the Medical Segmentation Decathlon, with a
// record of how each case was made added to its training entry (readers of
// the format ignore keys they do not know).
type msdDataset struct {
	Name            string            `json:"name"`
	Description     string            `json:"description"`
	Reference       string            `json:"reference"`
	Licence         string            `json:"licence"`
	Release         string            `json:"release"`
	TensorImageSize string            `json:"tensorImageSize"`
	Modality        map[string]string `json:"modality"`
	Labels          orderedLabels     `json:"labels"`
	NumTraining     int               `json:"numTraining"`
	NumTest         int               `json:"numTest"`
	Training        []msdCase         `json:"training"`
	Test            []string          `json:"test"`
}

type msdCase struct {
	Image   string        `json:"image"`
	Label   string        `json:"label"`
	Seed    int64         `json:"seed"`
	Scanner scannerRecord `json:"scanner"`
}

// scannerRecord is phantom.Scanner as recorded in dataset.json.
type scannerRecord struct {
	Preset           string  `json:"preset"`
	Matrix           int     `json:"matrix"`
	FOVmm            float64 `json:"fov_mm"`
	PixelSpacingmm   float64 `json:"pixel_spacing_mm"`
	Slices           int     `json:"slices"`
	SliceThicknessmm float64 `json:"slice_thickness_mm"`
	NoiseSigmaHU     float64 `json:"noise_sigma_hu"`
	BlurSigmamm      float64 `json:"blur_sigma_mm"`
	Phase            string  `json:"phase"`
}

func newScannerRecord(s phantom.Scanner) scannerRecord {
	return scannerRecord{Preset: s.Name, Matrix: s.Matrix, FOVmm: s.FOV, PixelSpacingmm: s.PixelSpacing(),
		Slices: s.Slices, SliceThicknessmm: s.SliceThickness, NoiseSigmaHU: s.NoiseSigma,
		BlurSigmamm: s.BlurSigma, Phase: s.Phase.String()}
}

func newMSDDataset(sc phantom.Scanner, cases []msdCase) msdDataset {
	return msdDataset{
		Name: "polyseg-phantom-" + sc.Name,
		Description: "Procedural abdominal CT phantoms made by polyseg phantom; labels use " +
			"TotalSegmentator v2 values. Case NAME's seed and scanner settings are in its training entry.",
		Reference:       "polyseg phantom package",
		Licence:         "CC0-1.0",
		Release:         "1.0",
		TensorImageSize: "3D",
		Modality:        map[string]string{"0": "CT"},
		Labels:          orderedLabels(phantom.LabelNames()),
		NumTraining:     len(cases),
		Training:        cases,
		Test:            []string{},
	}
}

// orderedLabels marshals as MSD's labels object, with "0": "background"
// first and the others in numeric order (encoding/json would sort the keys
// as strings: "1", "18", "2").
type orderedLabels map[uint16]string

func (o orderedLabels) MarshalJSON() ([]byte, error) {
	vals := make([]int, 0, len(o))
	for v := range o {
		vals = append(vals, int(v))
	}
	sort.Ints(vals)
	b := []byte(`{"0":"background"`)
	for _, v := range vals {
		name, err := json.Marshal(o[uint16(v)])
		if err != nil {
			return nil, err
		}
		b = append(b, ',')
		b = strconv.AppendQuote(b, strconv.Itoa(v))
		b = append(b, ':')
		b = append(b, name...)
	}
	return append(b, '}'), nil
}

// writeDatasetJSON writes d atomically: a temporary file in the same
// folder, renamed into place once complete.
func writeDatasetJSON(path string, d msdDataset) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	err = atomicfile.WriteFile(path, 0o644, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
