package app_test

import (
	"context"
	"fmt"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/volume"
)

// A session edits labels as undoable steps and runs work as jobs.
func Example() {
	s := app.New(app.Options{})
	defer s.Close()

	g := volume.Grid{Dims: [3]int{4, 4, 2}, Affine: volume.Identity()}
	if err := s.SetVolume(&volume.Volume{Grid: g, Data: make([]float32, g.Len())}, "scan.nii.gz"); err != nil {
		fmt.Println(err)
		return
	}
	n, _ := s.Paint("Paint liver", []int{g.Index(1, 1, 0), g.Index(2, 1, 0)}, 5)
	fmt.Println("painted", n, "voxels")
	for _, l := range s.PresentLabels() {
		fmt.Println(l.Value, l.Name, l.Voxels)
	}

	// A segmentation would run here; its result goes in as one undo step.
	job := s.RunJob("Segment", func(ctx context.Context, p app.Progress) error {
		p.Report(0.5, "half way")
		result := volume.NewLabels(g)
		result.Data[g.Index(3, 3, 1)] = 1
		_, err := s.ReplaceLabels("Segment", result)
		return err
	})
	if err := job.Wait(); err != nil {
		fmt.Println(err)
		return
	}
	undo, _ := s.UndoRedoNames()
	fmt.Println("undo:", undo)
	s.Undo()
	fmt.Println("after undo:", len(s.PresentLabels()), "label(s), value", s.PresentLabels()[0].Value)
	// Output:
	// painted 2 voxels
	// 5 liver 2
	// undo: Segment
	// after undo: 1 label(s), value 5
}
