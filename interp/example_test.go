package interp_test

import (
	"context"
	"fmt"

	"github.com/polyseg/polyseg/interp"
	"github.com/polyseg/polyseg/volume"
)

// A square of side 3 drawn on axial slice 0 and of side 7 on slice 4: the
// slices between get squares of sides 3, 5 and 7 (a pixel is inside where
// the blend of the two signed distances is negative, and no pixel is at
// distance 0 from a boundary, so the sides jump by whole pixels).
func ExampleFill() {
	g := volume.Grid{Dims: [3]int{9, 9, 5}, Affine: volume.Identity()}
	l := volume.NewLabels(g)
	square := func(k, half int) {
		for j := 4 - half; j <= 4+half; j++ {
			for i := 4 - half; i <= 4+half; i++ {
				l.Data[g.Index(i, j, k)] = 1
			}
		}
	}
	square(0, 1)
	square(4, 3)
	res, err := interp.Fill(context.Background(), l, 1, interp.Options{Axis: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	for k := range g.Dims[2] {
		n := 0
		for j := range g.Dims[1] {
			for i := range g.Dims[0] {
				if res.Labels.At(i, j, k) == 1 {
					n++
				}
			}
		}
		fmt.Printf("slice %d: %d voxels\n", k, n)
	}
	fmt.Println("filled", res.Filled)
	// Output:
	// slice 0: 9 voxels
	// slice 1: 9 voxels
	// slice 2: 25 voxels
	// slice 3: 49 voxels
	// slice 4: 49 voxels
	// filled [1 2 3]
}
