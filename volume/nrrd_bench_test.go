package volume

import (
	"path/filepath"
	"testing"
)

// BenchmarkReadNRRD reads the 512x512x300 int16 phantom of
// BenchmarkReadNIfTI written as gzip NRRD, and as NIfTI for comparison in
// the same run.
func BenchmarkReadNRRD(b *testing.B) {
	nii := writePhantomCT(b, [3]int{512, 512, 300})
	v, err := ReadNIfTI(nii)
	if err != nil {
		b.Fatal(err)
	}
	nrrd := filepath.Join(b.TempDir(), "phantom.nrrd")
	if err := WriteNRRD(nrrd, v); err != nil {
		b.Fatal(err)
	}
	for _, f := range []struct {
		name string
		read func(string) (*Volume, error)
		path string
	}{{"nrrd", ReadNRRD, nrrd}, {"nifti", ReadNIfTI, nii}} {
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(2 * v.Len()))
			for b.Loop() {
				if _, err := f.read(f.path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
