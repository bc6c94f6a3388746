package phantom_test

import (
	"context"
	"fmt"

	"github.com/polyseg/polyseg/phantom"
)

func ExampleGenerate() {
	sc := phantom.ScannerA()
	sc.Matrix, sc.Slices = 100, 16 // small, for a quick example
	vol, labels, err := phantom.Generate(context.Background(), phantom.Options{Seed: 1, Scanner: sc})
	if err != nil {
		fmt.Println(err)
		return
	}
	sp := vol.Spacing()
	fmt.Printf("%dx%dx%d voxels of %gx%gx%g mm, %s\n", vol.Dims[0], vol.Dims[1], vol.Dims[2], sp[0], sp[1], sp[2], vol.Affine.AxisCodes())
	liver := 0
	for _, v := range labels.Data {
		if v == phantom.Liver {
			liver++
		}
	}
	fmt.Println("liver present:", liver > 0)
	// Output:
	// 100x100x16 voxels of 4x4x3 mm, RAS
	// liver present: true
}
