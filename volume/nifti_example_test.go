package volume_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/polyseg/polyseg/volume"
)

// A scan written as NIfTI, and its header read back without the voxels.
func ExampleReadNIfTIHeader() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// An LPS grid, as a DICOM series gives: 0.75 mm pixels, 2 mm slices.
	g := volume.Grid{Dims: [3]int{4, 3, 2}, Affine: volume.Affine{
		{-0.75, 0, 0, 100}, {0, -0.75, 0, 120}, {0, 0, 2, -300}, {0, 0, 0, 1}}}
	scan := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	path := filepath.Join(dir, "scan.nii.gz")
	if err := volume.WriteNIfTI(path, scan); err != nil {
		log.Fatal(err)
	}

	h, err := volume.ReadNIfTIHeader(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(h.Grid.Dims, h.Grid.Affine.AxisCodes(), h.Grid.Spacing())
	fmt.Println("datatype", h.Datatype, "qform code", h.Meta.QformCode, "sform code", h.Meta.SformCode)
	// Output:
	// [4 3 2] LPS [0.75 0.75 2]
	// datatype 4 qform code 1 sform code 1
}

// Labels stored in another voxel order than the scan (LAS against LPS)
// are mapped onto the scan's grid through world coordinates.
func ExampleLoadLabels() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	las := volume.Grid{Dims: [3]int{4, 3, 2}, Affine: volume.Affine{
		{-1, 0, 0, 0}, {0, 1, 0, -2}, {0, 0, 2, 0}, {0, 0, 0, 1}}}
	labels := volume.NewLabels(las)
	labels.Data[las.Index(0, 0, 1)] = 5 // world (0, -2, 2)
	path := filepath.Join(dir, "labels.nii.gz")
	if err := volume.WriteLabels(path, labels, &volume.Volume{Grid: las}); err != nil {
		log.Fatal(err)
	}

	// The scan's grid: the same voxels with j running the other way.
	lps := volume.Grid{Dims: las.Dims, Affine: volume.Affine{
		{-1, 0, 0, 0}, {0, -1, 0, 0}, {0, 0, 2, 0}, {0, 0, 0, 1}}}
	onScan, warnings, err := volume.LoadLabels(path, lps)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(warnings[0])
	fmt.Println("label at scan voxel (0, 2, 1):", onScan.At(0, 2, 1))
	// Output:
	// labels on another grid (LAS 4x3x2) resampled onto the scan grid (LPS 4x3x2) exactly, voxel for voxel
	// label at scan voxel (0, 2, 1): 5
}
