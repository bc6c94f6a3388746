package volume

// NIfTI writing. The header is encoded with encoding/binary from gonii's
// header structs; gonii's writer itself is not used because it writes in
// place (not atomically), keeps the voxels as float64 and cannot derive a
// quaternion from an affine.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/klauspost/pgzip"
	"github.com/okieraised/gonii/pkg/nifti"

	"github.com/polyseg/polyseg/internal/atomicfile"
)

// NIfTI codes used when writing.
const (
	unitsMM      = 2    // NIFTI_UNITS_MM
	intentLabel  = 1002 // NIFTI_INTENT_LABEL
	xformScanner = 1    // NIFTI_XFORM_SCANNER_ANAT, the default code
)

// WriteNIfTI writes v to path as NIfTI-1 (NIfTI-2 when a dimension exceeds
// NIfTI-1's 32767), gzip-compressed when path ends in ".gz". Voxels are
// stored as int16 when all are integers in int16's range (CT in HU), else as
// float32, without scaling. The grid's affine is written as both sform and
// qform; v.Meta's codes are kept (1, scanner, where absent), and when v.Meta
// still describes v's affine its qform and sform are written unchanged, so a
// volume read and written again keeps its header geometry exactly. The file
// appears at path only once complete.
func WriteNIfTI(path string, v *Volume) error {
	if err := checkWritable(v.Grid, len(v.Data)); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	dt := dtInt16
	for _, x := range v.Data {
		if x != float32(math.Trunc(float64(x))) || x < math.MinInt16 || x > math.MaxInt16 {
			dt = dtFloat32
			break
		}
	}
	data := v.Data
	err := writeNIfTI(path, v.Grid, v.Meta, dt, 0, func(dst []byte, start int) {
		src := data[start:]
		if dt == dtInt16 {
			for i := range len(dst) / 2 {
				binary.LittleEndian.PutUint16(dst[2*i:], uint16(int16(src[i])))
			}
			return
		}
		for i := range len(dst) / 4 {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(src[i]))
		}
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// checkWritable checks that a grid and its data can be written.
func checkWritable(g Grid, n int) error {
	if err := CheckDims(g.Dims); err != nil {
		return err
	}
	if n != g.Len() {
		return fmt.Errorf("%d voxels of data for a %dx%dx%d grid", n, g.Dims[0], g.Dims[1], g.Dims[2])
	}
	if _, err := g.Affine.Inverse(); err != nil {
		return fmt.Errorf("grid affine: %w", err)
	}
	return nil
}

// writeSpatial holds the spatial header fields to write.
type writeSpatial struct {
	qformCode, sformCode int
	quatern, qoffset     [3]float64
	qfac                 float64
	zoom                 [3]float64
	srow                 [3][4]float64
	units                int
}

// spatialForWrite chooses the spatial header fields for grid g. When m
// still describes g (its effective affine, by the reading precedence,
// equals g's within a micrometre), m's sform and qform are kept as they are
// (the qform only if its stored quaternion reproduces m.Qform, so a Meta
// filled inconsistently cannot leak a wrong qform); whatever is not kept is
// derived from g's affine.
func spatialForWrite(g Grid, m NIfTIMeta) writeSpatial {
	s := writeSpatial{qformCode: xformScanner, sformCode: xformScanner, units: unitsMM}
	if m.XYZTUnits != 0 {
		s.units = m.XYZTUnits
	}
	var eff Affine
	switch {
	case m.SformCode > 0:
		eff = m.Sform
	case m.QformCode > 0:
		eff = m.Qform
	}
	keep := (m.SformCode > 0 || m.QformCode > 0) && (Grid{Dims: g.Dims, Affine: eff}).Equal(g, 1e-3)

	if m.SformCode > 0 {
		s.sformCode = m.SformCode
	}
	for r := 0; r < 3; r++ {
		copy(s.srow[r][:], g.Affine[r][:])
		if keep && m.SformCode > 0 {
			copy(s.srow[r][:], m.Sform[r][:])
		}
	}

	if m.QformCode > 0 {
		s.qformCode = m.QformCode
	}
	if keep && m.QformCode > 0 {
		zoom := [3]float64{math.Abs(m.Pixdim[1]), math.Abs(m.Pixdim[2]), math.Abs(m.Pixdim[3])}
		q := quaternToAffine(m.QuaternB, m.QuaternC, m.QuaternD, m.Qfac, zoom, m.QOffset)
		if (Grid{Dims: g.Dims, Affine: q}).Equal(Grid{Dims: g.Dims, Affine: m.Qform}, 1e-3) {
			s.quatern = [3]float64{m.QuaternB, m.QuaternC, m.QuaternD}
			s.qoffset, s.qfac, s.zoom = m.QOffset, m.Qfac, zoom
			return s
		}
	}
	b, c, d, qfac, zoom, off, _ := affineToQuatern(g.Affine) // g's affine was checked invertible
	if !nifti2(g.Dims) {
		b, c, d = float32Quatern(b, c, d)
	}
	s.quatern, s.qfac, s.zoom, s.qoffset = [3]float64{b, c, d}, qfac, zoom, off
	return s
}

// writeNIfTI writes a single-file NIfTI with the given datatype; encode
// fills dst with the little-endian bytes of the voxels from index start on.
func writeNIfTI(path string, g Grid, m NIfTIMeta, dt, intent int, encode func(dst []byte, start int)) error {
	bpv, err := datatypeSize(dt)
	if err != nil {
		return err
	}
	s := spatialForWrite(g, m)
	hdr, err := encodeHeader(g.Dims, dt, bpv, intent, s)
	if err != nil {
		return err
	}
	gz := strings.HasSuffix(strings.ToLower(path), ".gz")
	return atomicfile.WriteFile(path, 0o644, func(w io.Writer) error {
		out := w
		var zw *pgzip.Writer
		if gz {
			// Level 1, as nibabel writes: CT compresses barely better at
			// higher levels and several times slower.
			zw, err = pgzip.NewWriterLevel(w, pgzip.BestSpeed)
			if err != nil {
				return err
			}
			out = zw
		}
		if _, err := out.Write(hdr); err != nil {
			return err
		}
		buf := make([]byte, streamChunk)
		total := g.Len()
		step := streamChunk / bpv
		for start := 0; start < total; start += step {
			n := min(step, total-start) * bpv
			encode(buf[:n], start)
			if _, err := out.Write(buf[:n]); err != nil {
				return err
			}
		}
		if zw != nil {
			return zw.Close()
		}
		return nil
	})
}

// nifti2 reports whether a grid needs NIfTI-2, whose dimensions are 64-bit
// (NIfTI-1's are int16).
func nifti2(dims [3]int) bool {
	return dims[0] > math.MaxInt16 || dims[1] > math.MaxInt16 || dims[2] > math.MaxInt16
}

// encodeHeader returns the header, extension flag and any padding up to
// vox_offset, little-endian.
func encodeHeader(dims [3]int, dt, bpv, intent int, s writeSpatial) ([]byte, error) {
	var b bytes.Buffer
	var err error
	if !nifti2(dims) {
		h := nifti.Nii1Header{
			SizeofHdr:  nifti1HeaderSize,
			Regular:    'r',
			Dim:        [8]int16{3, int16(dims[0]), int16(dims[1]), int16(dims[2]), 1, 1, 1, 1},
			IntentCode: int16(intent),
			Datatype:   int16(dt),
			Bitpix:     int16(8 * bpv),
			Pixdim:     [8]float32{float32(s.qfac), float32(s.zoom[0]), float32(s.zoom[1]), float32(s.zoom[2]), 1},
			VoxOffset:  nifti1HeaderSize + 4,
			SclSlope:   1,
			XyztUnits:  uint8(s.units),
			QformCode:  int16(s.qformCode),
			SformCode:  int16(s.sformCode),
			QuaternB:   float32(s.quatern[0]),
			QuaternC:   float32(s.quatern[1]),
			QuaternD:   float32(s.quatern[2]),
			QoffsetX:   float32(s.qoffset[0]),
			QoffsetY:   float32(s.qoffset[1]),
			QoffsetZ:   float32(s.qoffset[2]),
			Magic:      [4]byte{'n', '+', '1', 0},
		}
		copy(h.Descrip[:], "polyseg")
		for c := 0; c < 4; c++ {
			h.SrowX[c] = float32(s.srow[0][c])
			h.SrowY[c] = float32(s.srow[1][c])
			h.SrowZ[c] = float32(s.srow[2][c])
		}
		err = binary.Write(&b, binary.LittleEndian, &h)
	} else {
		h := nifti.Nii2Header{
			SizeofHdr:  nifti2HeaderSize,
			Magic:      [8]byte{'n', '+', '2', 0, '\r', '\n', 0x1a, '\n'},
			Datatype:   int16(dt),
			Bitpix:     int16(8 * bpv),
			Dim:        [8]int64{3, int64(dims[0]), int64(dims[1]), int64(dims[2]), 1, 1, 1, 1},
			Pixdim:     [8]float64{s.qfac, s.zoom[0], s.zoom[1], s.zoom[2], 1},
			VoxOffset:  nifti2HeaderSize + 4,
			SclSlope:   1,
			QformCode:  int32(s.qformCode),
			SformCode:  int32(s.sformCode),
			QuaternB:   s.quatern[0],
			QuaternC:   s.quatern[1],
			QuaternD:   s.quatern[2],
			QoffsetX:   s.qoffset[0],
			QoffsetY:   s.qoffset[1],
			QoffsetZ:   s.qoffset[2],
			SrowX:      s.srow[0],
			SrowY:      s.srow[1],
			SrowZ:      s.srow[2],
			XyztUnits:  int32(s.units),
			IntentCode: int32(intent),
		}
		copy(h.Descrip[:], "polyseg")
		err = binary.Write(&b, binary.LittleEndian, &h)
	}
	if err != nil {
		return nil, err
	}
	b.Write([]byte{0, 0, 0, 0}) // extension flag: no extensions
	return b.Bytes(), nil
}
