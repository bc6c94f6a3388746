package dicomseg

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/volume"
)

// BenchmarkExportPatientB writes patient B's 31 segments (520 frames of
// 512×512) as a segmentation, and, as the reference in the same run, the
// same labels as the NIfTI file polyseg's ordinary export writes.
func BenchmarkExportPatientB(b *testing.B) {
	fx := loadPatientB(b)
	segs := Describe(fx.ref.Present(), assets.DefaultColorTable(), automatic)
	b.Run("seg", func(b *testing.B) {
		for b.Loop() {
			if _, err := Write(context.Background(), io.Discard, fx.src, fx.ref, WriteOptions{Segments: segs}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("seg-file", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "b.dcm")
		for b.Loop() {
			if _, err := WriteFile(context.Background(), path, fx.src, fx.ref, WriteOptions{Segments: segs}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nifti-gz-reference", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "b.nii.gz")
		for b.Loop() {
			if err := volume.WriteLabels(path, fx.ref, fx.vol); err != nil {
				b.Fatal(err)
			}
		}
	})
}
