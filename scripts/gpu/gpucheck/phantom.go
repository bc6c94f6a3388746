package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/polyseg/polyseg/internal/atomicfile"
	"github.com/polyseg/polyseg/phantom"
	"github.com/polyseg/polyseg/volume"
)

// runPhantom writes phantoms in the MSD layout (imagesTr/, labelsTr/), named
// and seeded as "polyseg phantom --msd" names and seeds them, so that
// scripts/gpu/data.sha256, made from polyseg phantom's files here, checks
// the files made there.
func runPhantom(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("phantom", flag.ContinueOnError)
	out := fs.String("out", "", "output folder")
	seed := fs.Int64("seed", 1, "seed of the first case")
	scanner := fs.String("scanner", "A", "scanner preset, A or B")
	count := fs.Int("count", 1, "number of cases")
	size := fs.Int("size", 0, "in-plane matrix size (0: the preset's)")
	slices := fs.Int("slices", 0, "axial slices (0: the preset's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *count < 1 {
		return fmt.Errorf("phantom: want --out and --count >= 1")
	}
	sc, err := phantom.Preset(*scanner)
	if err != nil {
		return err
	}
	if *size > 0 {
		sc.Matrix = *size
	}
	if *slices > 0 {
		sc.Slices = *slices
	}
	if err := sc.Validate(); err != nil {
		return err
	}
	img, lab := filepath.Join(*out, "imagesTr"), filepath.Join(*out, "labelsTr")
	for _, d := range []string{img, lab} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("output folder: %w", err)
		}
	}
	for i := 0; i < *count; i++ {
		s := *seed + int64(i)
		name := fmt.Sprintf("phantom_%s_%04d.nii.gz", sc.Name, s)
		v, l, err := phantom.Generate(ctx, phantom.Options{Seed: s, Scanner: sc})
		if err != nil {
			return err
		}
		if err := volume.WriteNIfTI(filepath.Join(img, name), v); err != nil {
			return err
		}
		if err := volume.WriteLabels(filepath.Join(lab, name), l, v); err != nil {
			return err
		}
	}
	// The trainer only needs the two folders; dataset.json marks the set
	// as complete for scripts/experiment.sh.
	path := filepath.Join(*out, "dataset.json")
	err = atomicfile.WriteFile(path, 0o644, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "{\"name\": \"polyseg phantoms, scanner %s\", \"numTraining\": %d}\n", sc.Name, *count)
		return err
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fmt.Fprintf(stdout, "wrote %d scanner-%s phantoms to %s\n", *count, sc.Name, *out)
	return nil
}
