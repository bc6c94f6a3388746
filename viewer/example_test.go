package viewer_test

import (
	"fmt"
	"image"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// A scan stored LPS (as DICOM converts) still shows the patient's right on
// the screen's left: voxel i = 0 is the patient's rightmost column.
func Example() {
	g := volume.Grid{
		Dims: [3]int{4, 3, 2},
		Affine: volume.Affine{
			{-1, 0, 0, 0}, // i runs towards the patient's Left
			{0, -1, 0, 0}, // j towards Posterior
			{0, 0, 1, 0},
			{0, 0, 0, 1},
		},
	}
	vol := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	labels := volume.NewLabels(g)
	labels.Data[g.Index(0, 1, 0)] = 5 // a liver voxel at the patient's right

	s := viewer.NewSlicer(g, viewer.Axial)
	w, h := s.Size()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	ov := &viewer.Overlay{Labels: labels, Table: assets.DefaultColorTable(), Opacity: 1}
	if err := viewer.Render(img, vol, s, 0, viewer.Presets()[0].Window, ov); err != nil {
		fmt.Println(err)
		return
	}
	slice, u, v := s.Locate(0, 1, 0)
	fmt.Println(s.Orientation())
	fmt.Printf("voxel (0, 1, 0) is shown at column %d, row %d of slice %d: %v\n", u, v, slice, img.RGBAAt(u, v))
	// Output:
	// axial, voxels LPS, 4×3×2: R left, A top
	// voxel (0, 1, 0) is shown at column 0, row 1 of slice 0: {196 64 52 255}
}
