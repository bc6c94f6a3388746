package render3d_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/polyseg/polyseg/mesh"
	"github.com/polyseg/polyseg/render3d"
	"github.com/polyseg/polyseg/volume"
)

func Example() {
	// A ball of radius 10 mm, meshed.
	g := volume.Grid{Dims: [3]int{24, 24, 24}, Affine: volume.Identity()}
	l := volume.NewLabels(g)
	for k := range 24 {
		for j := range 24 {
			for i := range 24 {
				x, y, z := float64(i)-11.5, float64(j)-11.5, float64(k)-11.5
				if x*x+y*y+z*z <= 100 {
					l.Data[g.Index(i, j, k)] = 1
				}
			}
		}
	}
	m, err := mesh.Extract(context.Background(), l, 1, mesh.Options{Smooth: 20})
	if err != nil {
		fmt.Println(err)
		return
	}
	m.Color = color.NRGBA{221, 130, 101, 255}

	scene := &render3d.Scene{Objects: []*render3d.Object{render3d.NewObject(m)}}
	cam := render3d.NewCamera()
	lo, hi, _ := scene.Bounds()
	cam.Reset(lo, hi) // from the front, all in view
	cam.Orbit(0.3, 0) // a mouse drag to the right

	r := &render3d.Renderer{Background: color.RGBA{0, 0, 0, 255}}
	img := image.NewRGBA(image.Rect(0, 0, 200, 200))
	r.Render(img, scene, &cam)

	// Clicking the middle of the view finds the ball's near surface.
	hit, ok := r.Pick(100, 100)
	fmt.Println(ok, hit.Object)
	eye := cam.Eye()
	fmt.Printf("%.0f mm from the eye, the centre %.0f mm\n", dist(hit.Point, eye), dist(cam.Target, eye))
	// Output:
	// true 0
	// 61 mm from the eye, the centre 71 mm
}

func dist(a, b render3d.Vec) float64 {
	return math.Sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2]))
}
