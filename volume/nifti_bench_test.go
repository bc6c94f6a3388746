package volume

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// writePhantomCT writes a CT-like int16 volume (air, a soft-tissue ellipse,
// a bony ring, noise inside the body) that compresses about as a real scan
// does, and returns its path.
func writePhantomCT(b *testing.B, dims [3]int) string {
	b.Helper()
	g := Grid{Dims: dims, Affine: Affine{{-0.75, 0, 0, 190}, {0, -0.75, 0, 190}, {0, 0, 1, -150}, {0, 0, 0, 1}}}
	v := &Volume{Grid: g, Data: make([]float32, g.Len())}
	rng := rand.New(rand.NewPCG(1, 2))
	nx, ny := dims[0], dims[1]
	for k := range dims[2] {
		for j := range ny {
			for i := range nx {
				x, y := float64(i-nx/2)/(0.39*float64(nx)), float64(j-ny/2)/(0.29*float64(ny))
				r := x*x + y*y
				hu := -1000.0
				switch {
				case r > 0.8 && r < 0.9:
					hu = 700 + rng.NormFloat64()*15
				case r < 1:
					hu = 40 + rng.NormFloat64()*15
				}
				v.Data[g.Index(i, j, k)] = float32(int(hu))
			}
		}
	}
	path := filepath.Join(b.TempDir(), "phantom.nii.gz")
	if err := WriteNIfTI(path, v); err != nil {
		b.Fatal(err)
	}
	return path
}

func BenchmarkReadNIfTI(b *testing.B) {
	files := []struct {
		name string
		path func(b *testing.B) string
	}{
		{"example_ct", func(b *testing.B) string { return realFile(b, "example_ct.nii.gz") }},
		{"512x512x300_int16_gz", func(b *testing.B) string { return writePhantomCT(b, [3]int{512, 512, 300}) }},
	}
	for _, f := range files {
		b.Run(f.name, func(b *testing.B) {
			path := f.path(b)
			h, err := ReadNIfTIHeader(path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(h.frameBytes())
			for b.Loop() {
				if _, err := ReadNIfTI(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
