package mesh_test

import (
	"context"
	"fmt"

	"github.com/polyseg/polyseg/mesh"
	"github.com/polyseg/polyseg/volume"
)

func Example() {
	// A 4×4×4 block of label 5 in a grid of 2 mm voxels.
	g := volume.Grid{Dims: [3]int{6, 6, 6}, Affine: volume.Affine{{2, 0, 0, 0}, {0, 2, 0, 0}, {0, 0, 2, 0}, {0, 0, 0, 1}}}
	l := volume.NewLabels(g)
	for k := 1; k < 5; k++ {
		for j := 1; j < 5; j++ {
			for i := 1; i < 5; i++ {
				l.Data[g.Index(i, j, k)] = 5
			}
		}
	}
	m, err := mesh.Extract(context.Background(), l, 5, mesh.Options{Smooth: 10})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("closed:", mesh.Check(m) == nil, "outward:", m.Volume() > 0)

	// Volume from the voxels; area and diameter from the unsmoothed
	// marching-cubes surface, whose farthest vertices here are two
	// opposite corners of the cube, cut by half a voxel.

	st, err := mesh.Measure(context.Background(), l, []uint16{5})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.3f mL, %.0f mm², diameter %.2f mm\n", st[0].VolumeML, st[0].SurfaceMM2, st[0].MaxDiameterMM)
	// Output:
	// closed: true outward: true
	// 0.512 mL, 325 mm², diameter 11.66 mm
}
