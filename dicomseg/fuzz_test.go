package dicomseg

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/polyseg/polyseg/volume"
)

// FuzzParse feeds the reader hostile files: it must refuse them with an
// error, never panic or allocate beyond the file, and what it accepts must
// place onto a series or be refused likewise.
func FuzzParse(f *testing.F) {
	src, err := OpenSource(context.Background(), "testdata/pydicom-ct2", volume.DICOMOptions{AllowGaps: true})
	if err != nil {
		f.Fatal(err)
	}
	seeds, _ := filepath.Glob("testdata/*/*.dcm")
	seeds = append(seeds, "testdata/dcmqi-23x38x3/seg/label.seg")
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil && len(b) < maxFuzzInput {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		// A hang is a failure too; the fuzzer keeps the input that
		// panics.
		watchdog := time.AfterFunc(10*time.Second, func() { panic("Parse and Place took over 10 s") })
		defer watchdog.Stop()
		s, err := Parse("fuzz.dcm", b)
		if err != nil {
			return
		}
		for n := range s.Frames {
			s.FrameCount(n)
		}
		_, _ = s.Place(context.Background(), src, PlaceOptions{})
	})
}

// maxFuzzInput bounds the fuzzer's inputs: the seeds are under 10 kB.
const maxFuzzInput = 64 << 10
