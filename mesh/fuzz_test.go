package mesh

import (
	"context"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

// FuzzExtract meshes arbitrary small masks, smooths and decimates them:
// whatever the voxels, every surface must be a closed, consistently
// oriented manifold enclosing a positive volume.
func FuzzExtract(f *testing.F) {
	f.Add([]byte{3, 3, 3, 0, 0x10, 0x00, 0x00, 0x00})          // one voxel
	f.Add([]byte{4, 4, 2, 1, 0x21, 0x84, 0x12, 0x48, 0xff})    // diagonal contacts
	f.Add([]byte{5, 5, 5, 2, 0xaa, 0x55, 0xaa, 0x55, 0xaa})    // checkerboard-ish
	f.Add([]byte{6, 2, 3, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 1}) // full, on the border
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 4 {
			return
		}
		// The grid is at most 8×8×8: enough for every local configuration,
		// small enough to check in microseconds.
		d := [3]int{int(data[0])%8 + 1, int(data[1])%8 + 1, int(data[2])%8 + 1}
		mode := data[3]
		bits := data[4:]
		l := volume.NewLabels(volume.Grid{Dims: d, Affine: volume.Identity()})
		for n := range l.Data {
			if n/8 < len(bits) && bits[n/8]>>(n%8)&1 == 1 {
				l.Data[n] = 1
			}
		}
		opt := Options{Smooth: int(mode % 4 * 5)}
		if mode&4 != 0 {
			opt.Decimate = 0.3
		}
		m, err := Extract(context.Background(), l, 1, opt)
		if err != nil {
			if voxelCount(l, 1) == 0 {
				return
			}
			t.Fatal(err)
		}
		if err := Check(m); err != nil {
			t.Fatalf("%v (options %+v)", err, opt)
		}
		if v := m.Volume(); !(v > 0) {
			t.Fatalf("volume %g (options %+v)", v, opt)
		}
	})
}
