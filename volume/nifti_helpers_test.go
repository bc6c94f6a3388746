package volume

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/okieraised/gonii/pkg/nifti"
)

// realDir holds the project's real CT fixtures, read in place.
const realDir = "../../shared/data/real/totalsegmentator"

// realFile returns the path of a real fixture, skipping the test when the
// fixtures are absent.
func realFile(t testing.TB, name string) string {
	t.Helper()
	if _, err := os.Stat(realDir); err != nil {
		t.Skipf("real fixtures absent: %v", err)
	}
	return filepath.Join(realDir, name)
}

// synthNIfTI describes a small NIfTI file built byte by byte for tests,
// independently of the package's writer.
type synthNIfTI struct {
	version   int              // 1 (default) or 2
	order     binary.ByteOrder // default little-endian
	dt        int16
	bitpix    int16 // default from data
	dim       [8]int64
	voxOffset float64 // default header size + 4
	slope     float64
	inter     float64
	qformCode int
	sformCode int
	quatern   [3]float64
	qoffset   [3]float64
	pixdim    [8]float64
	srow      [3][4]float64
	magic     string // overrides the magic when set
	data      any    // a typed slice written with binary.Write
}

func (s synthNIfTI) bytes(t testing.TB) []byte {
	t.Helper()
	order := s.order
	if order == nil {
		order = binary.LittleEndian
	}
	bitpix := s.bitpix
	if bitpix == 0 && s.data != nil {
		bitpix = int16(8 * binary.Size(s.data) / max(1, lenOf(s.data)))
	}
	var buf bytes.Buffer
	if s.version == 2 {
		h := nifti.Nii2Header{
			SizeofHdr: 540, Datatype: s.dt, Bitpix: bitpix, Dim: s.dim, Pixdim: s.pixdim,
			VoxOffset: int64(s.voxOffset), SclSlope: s.slope, SclInter: s.inter,
			QformCode: int32(s.qformCode), SformCode: int32(s.sformCode),
			QuaternB: s.quatern[0], QuaternC: s.quatern[1], QuaternD: s.quatern[2],
			QoffsetX: s.qoffset[0], QoffsetY: s.qoffset[1], QoffsetZ: s.qoffset[2],
			SrowX: s.srow[0], SrowY: s.srow[1], SrowZ: s.srow[2],
		}
		if s.voxOffset == 0 {
			h.VoxOffset = 544
		}
		copy(h.Magic[:], "n+2\x00\r\n\x1a\n")
		if s.magic != "" {
			h.Magic = [8]byte{}
			copy(h.Magic[:], s.magic)
		}
		if err := binary.Write(&buf, order, &h); err != nil {
			t.Fatal(err)
		}
	} else {
		h := nifti.Nii1Header{
			SizeofHdr: 348, Datatype: s.dt, Bitpix: bitpix,
			VoxOffset: float32(s.voxOffset), SclSlope: float32(s.slope), SclInter: float32(s.inter),
			QformCode: int16(s.qformCode), SformCode: int16(s.sformCode),
			QuaternB: float32(s.quatern[0]), QuaternC: float32(s.quatern[1]), QuaternD: float32(s.quatern[2]),
			QoffsetX: float32(s.qoffset[0]), QoffsetY: float32(s.qoffset[1]), QoffsetZ: float32(s.qoffset[2]),
		}
		for i := range 8 {
			h.Dim[i] = int16(s.dim[i])
			h.Pixdim[i] = float32(s.pixdim[i])
		}
		for c := range 4 {
			h.SrowX[c], h.SrowY[c], h.SrowZ[c] = float32(s.srow[0][c]), float32(s.srow[1][c]), float32(s.srow[2][c])
		}
		if s.voxOffset == 0 {
			h.VoxOffset = 352
		}
		copy(h.Magic[:], "n+1\x00")
		if s.magic != "" {
			h.Magic = [4]byte{}
			copy(h.Magic[:], s.magic)
		}
		if err := binary.Write(&buf, order, &h); err != nil {
			t.Fatal(err)
		}
	}
	buf.Write([]byte{0, 0, 0, 0})
	// Pad up to vox_offset, unless it is absurd (a test of a header
	// pointing past the end of the file).
	for int64(buf.Len()) < int64(s.voxOffset) && s.voxOffset < 1<<16 {
		buf.WriteByte(0)
	}
	if s.data != nil {
		if err := binary.Write(&buf, order, s.data); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func lenOf(data any) int {
	switch d := data.(type) {
	case []uint8:
		return len(d)
	case []int8:
		return len(d)
	case []int16:
		return len(d)
	case []uint16:
		return len(d)
	case []int32:
		return len(d)
	case []uint32:
		return len(d)
	case []int64:
		return len(d)
	case []uint64:
		return len(d)
	case []float32:
		return len(d)
	case []float64:
		return len(d)
	}
	panic("lenOf: unsupported type")
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeTemp writes b to a file called name in a fresh temporary directory.
func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// rasGrid returns an axis-aligned RAS grid with the given voxel size.
func rasGrid(dims [3]int, sp [3]float64, origin [3]float64) Grid {
	a := Identity()
	for i := range 3 {
		a[i][i] = sp[i]
		a[i][3] = origin[i]
	}
	return Grid{Dims: dims, Affine: a}
}

func affineClose(a, b Affine, tol float64) bool {
	for r := range 4 {
		for c := range 4 {
			if d := a[r][c] - b[r][c]; d > tol || d < -tol {
				return false
			}
		}
	}
	return true
}
