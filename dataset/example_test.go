package dataset_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/polyseg/polyseg/dataset"
	"github.com/polyseg/polyseg/volume"
)

// An annotator's round trip: a dataset is made and given a case, the case
// is locked, its labels saved and its state set, and the dataset checked.
func Example() {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	d, err := dataset.Init(ctx, filepath.Join(tmp, "Dataset001_Liver"), "Liver", dataset.Options{})
	if err != nil {
		log.Fatal(err)
	}
	g := volume.Grid{Dims: [3]int{8, 8, 4}, Affine: volume.Affine{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 2, 0}, {0, 0, 0, 1}}}
	scan := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	if _, err := d.AddCase(ctx, "liver_001", scan, nil, nil); err != nil {
		log.Fatal(err)
	}

	lock, err := d.Acquire("liver_001")
	if err != nil {
		var le *dataset.LockedError
		if errors.As(err, &le) {
			// The app shows who has the case open, and offers TakeOver
			// when le.Stale.
			log.Fatalf("open elsewhere: %v (stale: %v)", le.Holder, le.Stale)
		}
		log.Fatal(err)
	}
	defer lock.Release()
	labels := volume.NewLabels(g)
	labels.Data[g.Index(3, 3, 1)] = 5 // liver
	if err := lock.SaveLabels(ctx, labels, scan, nil); err != nil {
		log.Fatal(err)
	}
	if _, err := lock.UpdateState(func(s *dataset.State) {
		s.Status = dataset.NeedsReview
		s.EditTime += 95 * time.Second
		s.Note = "tip of the left lobe unclear"
	}); err != nil {
		log.Fatal(err)
	}

	for _, e := range d.Worklist() {
		fmt.Printf("%s: %s, %s of editing, open: %v, note %q\n", e.Case.ID, e.State.Status, e.State.EditTime, e.Lock.Held, e.State.Note)
	}
	fmt.Println("labels:", d.Labels())
	r, err := d.Check(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("check OK:", r.OK())
	// Output:
	// liver_001: needs review, 1m35s of editing, open: true, note "tip of the left lobe unclear"
	// labels: [{0 background} {1 spleen} {2 kidney_right} {3 kidney_left} {4 gallbladder} {5 liver}]
	// check OK: true
}
