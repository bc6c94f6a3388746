package dicomseg_test

import (
	"context"
	"fmt"

	"github.com/polyseg/polyseg/dicomseg"
	"github.com/polyseg/polyseg/volume"
)

// Read dcmqi's segmentation of a three-slice CT onto that series.
func ExampleSEG_Place() {
	seg, err := dicomseg.ReadFile("testdata/dcmqi-23x38x3/seg/label.seg")
	if err != nil {
		fmt.Println(err)
		return
	}
	src, err := dicomseg.OpenSource(context.Background(), "testdata/dcmqi-23x38x3/image", volume.DICOMOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	im, err := seg.Place(context.Background(), src, dicomseg.PlaceOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range im.Segments {
		fmt.Printf("segment %d %q: label %d %s, %s by %s, %d voxels\n",
			s.Info.Number, s.Info.Label, s.Value, s.Name, s.Info.Algorithm.Type, s.Info.Algorithm.Name, s.Voxels)
	}
	// Output:
	// segment 1 "Liver": label 5 liver, SEMIAUTOMATIC by SlicerEditor, 322 voxels
}
