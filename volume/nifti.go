package volume

// NIfTI-1 and NIfTI-2 reading.
//
// Specifications: https://nifti.nimh.nih.gov/pub/dist/src/niftilib/nifti1.h
// and https://nifti.nimh.nih.gov/pub/dist/doc/nifti2.h.
//
// The header is decoded here with encoding/binary into gonii's header structs
// (nifti.Nii1Header, nifti.Nii2Header: fixed 348- and 540-byte layouts) rather
// than through gonii's reader, for two reasons. Safety: gonii's reader
// reads and decompresses the whole file and allocates the voxel array from
// the header's dimensions before anything is checked, so a 300-byte file
// claiming 10^12 voxels makes it allocate (or panic). Speed: it converts every
// voxel to float64 through a per-voxel function call, several times slower
// than nibabel; here the voxel bytes are streamed from a parallel gzip reader
// and converted to float32 in chunks by several goroutines while the next
// chunk is being decompressed.
//
// # Security considerations
//
// Every header field is treated as hostile. The voxel count is computed in
// int64 and checked against MaxVoxels, the datatype against the supported
// list, vox_offset for sanity, and the data length against the file size (or,
// for a gzip stream, against the most that stream could possibly inflate to)
// before anything is allocated for the voxels. Reading never trusts the file
// to be as long as the header says: a short file ends in io.ErrUnexpectedEOF.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sync"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/pgzip"
	"github.com/okieraised/gonii/pkg/nifti"
)

// ErrNIfTIFormat is wrapped by every error about a file that is not a valid
// NIfTI file: bad magic, impossible dimensions, inconsistent sizes.
var ErrNIfTIFormat = errors.New("invalid NIfTI file")

// ErrNIfTIUnsupported is wrapped by errors about valid NIfTI files this
// package does not read: complex or RGB voxels, two-file (.hdr/.img) pairs.
var ErrNIfTIUnsupported = errors.New("unsupported NIfTI file")

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrNIfTIFormat}, args...)...)
}

func unsupportedErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrNIfTIUnsupported}, args...)...)
}

// NIfTI datatype codes (nifti1.h) that this package reads.
const (
	dtUint8   = 2
	dtInt16   = 4
	dtInt32   = 8
	dtFloat32 = 16
	dtFloat64 = 64
	dtInt8    = 256
	dtUint16  = 512
	dtUint32  = 768
	dtInt64   = 1024
	dtUint64  = 1280
)

// datatypeSize returns the bytes per voxel of a supported datatype, or an
// error naming an unsupported one.
func datatypeSize(dt int) (int, error) {
	switch dt {
	case dtUint8, dtInt8:
		return 1, nil
	case dtInt16, dtUint16:
		return 2, nil
	case dtInt32, dtUint32, dtFloat32:
		return 4, nil
	case dtInt64, dtUint64, dtFloat64:
		return 8, nil
	}
	names := map[int]string{
		0: "unknown (0)", 1: "binary (1 bit)", 32: "complex64", 128: "RGB24",
		1536: "float128", 1792: "complex128", 2048: "complex256", 2304: "RGBA32",
	}
	if n, ok := names[dt]; ok {
		return 0, unsupportedErr("datatype %s is not a scalar intensity type", n)
	}
	return 0, formatErr("unknown datatype code %d", dt)
}

// Header sizes and the offset of the first voxel when there are no
// extensions: the header plus the 4-byte extension flag.
const (
	nifti1HeaderSize = 348
	nifti2HeaderSize = 540
)

// parallelGzipMin is the compressed size above which the voxels are
// inflated by pgzip, in a goroutine of its own ahead of the conversion.
// Below it, klauspost's gzip (the same inflater, without pgzip's 4 MiB of
// read-ahead buffers and goroutines) inflates in the reading goroutine:
// label volumes and small scans gain nothing from the read-ahead.
const parallelGzipMin = 4 << 20

// deflateMaxRatio bounds how many bytes a deflate stream can inflate to per
// compressed byte (258-byte matches coded in about two bits): a gzip file
// of n bytes cannot hold more than about 1032·n bytes, which lets a header
// claiming more be refused before anything is allocated.
const deflateMaxRatio = 1032

// NIfTIHeader is the checked header of a NIfTI-1 or NIfTI-2 file: what
// ReadNIfTI will produce, learnt without reading the voxels.
type NIfTIHeader struct {
	Path       string           // the file it was read from
	Version    int              // 1 or 2
	ByteOrder  binary.ByteOrder // of the header and the voxels
	Compressed bool             // a gzip stream (.nii.gz)

	// Grid has dim[1..3] and the voxel-to-world affine chosen by the
	// standard's precedence: sform when sform_code > 0, else qform when
	// qform_code > 0, else the pixdim scaling alone.
	Grid Grid
	// Frames is the number of 3D volumes (the product of dim[4..dim[0]]);
	// only the first is read.
	Frames int64

	Datatype int // NIfTI datatype code
	Bitpix   int
	// VoxOffset is the byte offset of the first voxel in the (decompressed)
	// file.
	VoxOffset int64
	// SclSlope and SclInter map stored values to real ones
	// (real = stored·SclSlope + SclInter). A stored slope of 0 or a
	// non-finite one means no scaling and reads as 1 and 0 here.
	SclSlope, SclInter float64
	IntentCode         int

	Meta     NIfTIMeta
	Warnings []string
}

// bytesPerVoxel returns the size of one stored voxel.
func (h *NIfTIHeader) bytesPerVoxel() int {
	n, _ := datatypeSize(h.Datatype) // checked when the header was parsed
	return n
}

// frameBytes returns the size of the first 3D volume's voxel data.
func (h *NIfTIHeader) frameBytes() int64 {
	return int64(h.Grid.Len()) * int64(h.bytesPerVoxel())
}

// ReadNIfTIHeader reads and checks the header of a .nii or .nii.gz file
// (recognised by content, not by name) without reading the voxels.
func ReadNIfTIHeader(path string) (*NIfTIHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, _, err := openNIfTI(f, path, false)
	return h, err
}

// ReadNIfTI reads a NIfTI-1 or NIfTI-2 file (.nii or .nii.gz) into a volume
// of float32 values with scl_slope and scl_inter applied. Any scalar voxel
// type is accepted (8 to 64-bit integers, float32, float64) in either byte
// order. Of a 4D file only the first volume is read, with a warning: a CT
// series has one volume, and a user who opens a 4D file wants to see it, not
// an error.
func ReadNIfTI(path string) (*Volume, error) {
	return ReadNIfTIContext(context.Background(), path)
}

// ReadNIfTIContext is ReadNIfTI stopping early, with ctx's error, when ctx
// is done: a large scan on a slow disk takes seconds.
func ReadNIfTIContext(ctx context.Context, path string) (*Volume, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, r, err := openNIfTI(f, path, true)
	if err != nil {
		return nil, err
	}
	if zr, ok := r.(*pgzip.Reader); ok {
		defer zr.Close()
	}
	data := make([]float32, h.Grid.Len())
	slope, inter := h.SclSlope, h.SclInter
	dt := h.Datatype
	err = streamVoxels(ctx, r, h, func(start int, b []byte) error {
		decodeLE(data[start:], b, dt, slope, inter)
		return nil
	})
	if err == nil {
		err = checkEnd(r, h)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if w := nonFiniteWarning(data); w != "" {
		h.Warnings = append(h.Warnings, w)
	}
	return &Volume{
		Grid:     h.Grid,
		Data:     data,
		Source:   path,
		Meta:     h.Meta,
		Warnings: h.Warnings,
	}, nil
}

// nonFiniteWarning counts NaN and infinite voxels, which float files use
// for "no data" and which are no HU value: the user should know that the
// HU range and statistics shown leave them out or are dominated by them.
func nonFiniteWarning(data []float32) string {
	var nan, inf int
	for _, x := range data {
		switch {
		case x != x:
			nan++
		case math.IsInf(float64(x), 0):
			inf++
		}
	}
	if nan+inf == 0 {
		return ""
	}
	return fmt.Sprintf("%d voxels are NaN and %d infinite, not HU values (the models read NaN as air)", nan, inf)
}

// openNIfTI reads and checks the header of the file f and returns a reader
// positioned at the header's end, decompressing when the file is gzip.
// full says that the voxels will be read, and asks for a gzip reader
// suited to that; a pgzip reader must then be closed by the caller.
func openNIfTI(f *os.File, path string, full bool) (*NIfTIHeader, io.Reader, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if fi.IsDir() {
		return nil, nil, fmt.Errorf("read %s: a folder, not a NIfTI file", path)
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("read %s: not a regular file", path)
	}
	size := fi.Size()

	if size == 0 {
		return nil, nil, fmt.Errorf("read %s: empty file: %w", path, io.ErrUnexpectedEOF)
	}
	var magic [2]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		return nil, nil, fmt.Errorf("read %s: header ends early: %w", path, noEOF(err))
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	compressed := magic == [2]byte{0x1f, 0x8b}
	var r io.Reader = f
	if compressed {
		var zr io.Reader
		switch {
		case full && size > parallelGzipMin:
			zr, err = pgzip.NewReader(f)
		default:
			zr, err = kgzip.NewReader(f)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: gzip: %w", path, noEOF(err))
		}
		r = zr
	}
	fail := func(err error) (*NIfTIHeader, io.Reader, error) {
		if c, ok := r.(*pgzip.Reader); ok {
			c.Close()
		}
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}

	buf := make([]byte, nifti2HeaderSize)
	if _, err := io.ReadFull(r, buf[:4]); err != nil {
		return fail(fmt.Errorf("header ends early: %w", noEOF(err)))
	}
	hsize := nifti1HeaderSize
	switch sizeofHdr(buf) {
	case nifti1HeaderSize:
	case nifti2HeaderSize:
		hsize = nifti2HeaderSize
	default:
		_, err := parseNIfTIHeader(buf[:4]) // says what is wrong
		return fail(err)
	}
	if _, err := io.ReadFull(r, buf[4:hsize]); err != nil {
		return fail(fmt.Errorf("header ends early, before its %d bytes: %w", hsize, noEOF(err)))
	}
	h, err := parseNIfTIHeader(buf[:hsize])
	if err != nil {
		return fail(err)
	}
	h.Path = path
	h.Compressed = compressed

	need := h.VoxOffset + h.frameBytes()
	if compressed {
		if need/deflateMaxRatio > size {
			return fail(fmt.Errorf("%w: a %d-byte gzip file cannot hold the %d bytes of voxels the header describes (%dx%dx%d %s)",
				io.ErrUnexpectedEOF, size, need, h.Grid.Dims[0], h.Grid.Dims[1], h.Grid.Dims[2], datatypeName(h.Datatype)))
		}
	} else {
		all := h.VoxOffset + h.frameBytes()*h.Frames // cannot overflow: checked in parseNIfTIHeader
		if size < all {
			return fail(fmt.Errorf("%w: file is %d bytes but the header describes %d (%dx%dx%d×%d %s from offset %d)",
				io.ErrUnexpectedEOF, size, all, h.Grid.Dims[0], h.Grid.Dims[1], h.Grid.Dims[2], h.Frames,
				datatypeName(h.Datatype), h.VoxOffset))
		}
	}
	// Skip the extensions between the header and the voxels.
	if skip := h.VoxOffset - int64(hsize); skip > 0 {
		if _, err := io.CopyN(io.Discard, r, skip); err != nil {
			return fail(noEOF(err))
		}
	}
	return h, r, nil
}

// noEOF turns io.EOF, which means the input ended where it should not, into
// io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// sizeofHdr returns the sizeof_hdr field read in whichever byte order makes
// it a valid NIfTI header size, or its little-endian value when none does.
func sizeofHdr(b []byte) int32 {
	le := int32(binary.LittleEndian.Uint32(b))
	if le == nifti1HeaderSize || le == nifti2HeaderSize {
		return le
	}
	if be := int32(binary.BigEndian.Uint32(b)); be == nifti1HeaderSize || be == nifti2HeaderSize {
		return be
	}
	return le
}

// rawHeader is a NIfTI-1 or NIfTI-2 header widened to common types.
type rawHeader struct {
	dim                  [8]int64
	datatype, bitpix     int
	pixdim               [8]float64
	voxOffset            float64
	sclSlope, sclInter   float64
	qformCode, sformCode int
	quatern              [3]float64
	qoffset              [3]float64
	srow                 [3][4]float64
	xyztUnits            int
	intentCode           int
}

// parseNIfTIHeader decodes and checks a 348-byte NIfTI-1 or 540-byte
// NIfTI-2 header. It does no I/O, so it is what the fuzz test exercises.
func parseNIfTIHeader(b []byte) (*NIfTIHeader, error) {
	if len(b) < 4 {
		return nil, io.ErrUnexpectedEOF
	}
	h := &NIfTIHeader{}
	var order binary.ByteOrder
	switch {
	case binary.LittleEndian.Uint32(b) == nifti1HeaderSize:
		order, h.Version = binary.LittleEndian, 1
	case binary.BigEndian.Uint32(b) == nifti1HeaderSize:
		order, h.Version = binary.BigEndian, 1
	case binary.LittleEndian.Uint32(b) == nifti2HeaderSize:
		order, h.Version = binary.LittleEndian, 2
	case binary.BigEndian.Uint32(b) == nifti2HeaderSize:
		order, h.Version = binary.BigEndian, 2
	default:
		return nil, formatErr("sizeof_hdr is %d, want 348 (NIfTI-1) or 540 (NIfTI-2)", int32(binary.LittleEndian.Uint32(b)))
	}
	h.ByteOrder = order

	var raw rawHeader
	hsize := nifti1HeaderSize
	if h.Version == 1 {
		if len(b) < nifti1HeaderSize {
			return nil, io.ErrUnexpectedEOF
		}
		var n1 nifti.Nii1Header
		if err := binary.Read(bytes.NewReader(b[:nifti1HeaderSize]), order, &n1); err != nil {
			return nil, err
		}
		switch n1.Magic {
		case [4]byte{'n', '+', '1', 0}:
		case [4]byte{'n', 'i', '1', 0}:
			return nil, unsupportedErr("two-file NIfTI (.hdr/.img pair); convert it to a single .nii file")
		default:
			return nil, formatErr("no NIfTI-1 magic (found %q): an Analyze 7.5 file or not NIfTI", n1.Magic[:])
		}
		raw = rawHeader{
			datatype: int(n1.Datatype), bitpix: int(n1.Bitpix),
			voxOffset: float64(n1.VoxOffset),
			sclSlope:  float64(n1.SclSlope), sclInter: float64(n1.SclInter),
			qformCode: int(n1.QformCode), sformCode: int(n1.SformCode),
			quatern:    [3]float64{float64(n1.QuaternB), float64(n1.QuaternC), float64(n1.QuaternD)},
			qoffset:    [3]float64{float64(n1.QoffsetX), float64(n1.QoffsetY), float64(n1.QoffsetZ)},
			xyztUnits:  int(n1.XyztUnits),
			intentCode: int(n1.IntentCode),
		}
		for i := range raw.dim {
			raw.dim[i] = int64(n1.Dim[i])
			raw.pixdim[i] = float64(n1.Pixdim[i])
		}
		for c := 0; c < 4; c++ {
			raw.srow[0][c] = float64(n1.SrowX[c])
			raw.srow[1][c] = float64(n1.SrowY[c])
			raw.srow[2][c] = float64(n1.SrowZ[c])
		}
	} else {
		hsize = nifti2HeaderSize
		if len(b) < nifti2HeaderSize {
			return nil, io.ErrUnexpectedEOF
		}
		var n2 nifti.Nii2Header
		if err := binary.Read(bytes.NewReader(b[:nifti2HeaderSize]), order, &n2); err != nil {
			return nil, err
		}
		switch n2.Magic {
		case [8]byte{'n', '+', '2', 0, '\r', '\n', 0x1a, '\n'}:
		case [8]byte{'n', 'i', '2', 0, '\r', '\n', 0x1a, '\n'}:
			return nil, unsupportedErr("two-file NIfTI-2 (.hdr/.img pair); convert it to a single .nii file")
		default:
			return nil, formatErr("no NIfTI-2 magic (found %q)", n2.Magic[:])
		}
		raw = rawHeader{
			dim:      n2.Dim,
			datatype: int(n2.Datatype), bitpix: int(n2.Bitpix),
			pixdim:    n2.Pixdim,
			voxOffset: float64(n2.VoxOffset),
			sclSlope:  n2.SclSlope, sclInter: n2.SclInter,
			qformCode: int(n2.QformCode), sformCode: int(n2.SformCode),
			quatern:    [3]float64{n2.QuaternB, n2.QuaternC, n2.QuaternD},
			qoffset:    [3]float64{n2.QoffsetX, n2.QoffsetY, n2.QoffsetZ},
			srow:       [3][4]float64{n2.SrowX, n2.SrowY, n2.SrowZ},
			xyztUnits:  int(n2.XyztUnits),
			intentCode: int(n2.IntentCode),
		}
	}

	// Dimensions. dim[0] is the number of dimensions in use; dimensions
	// after it are ignored, missing spatial ones count as 1.
	nd := raw.dim[0]
	if nd < 1 || nd > 7 {
		return nil, formatErr("dim[0] is %d, want 1 to 7", nd)
	}
	size := [7]int64{1, 1, 1, 1, 1, 1, 1}
	for i := int64(1); i <= nd; i++ {
		if raw.dim[i] < 1 {
			return nil, formatErr("dim[%d] is %d, want at least 1", i, raw.dim[i])
		}
		if raw.dim[i] > MaxVoxels {
			return nil, formatErr("dim[%d] is %d, beyond the limit of %d voxels", i, raw.dim[i], int64(MaxVoxels))
		}
		size[i-1] = raw.dim[i]
	}
	dims := [3]int{int(size[0]), int(size[1]), int(size[2])}
	if err := CheckDims(dims); err != nil {
		return nil, formatErr("%v", err)
	}
	h.Grid.Dims = dims

	bpv, err := datatypeSize(raw.datatype)
	if err != nil {
		return nil, err
	}
	h.Datatype, h.Bitpix = raw.datatype, raw.bitpix
	if raw.bitpix != 8*bpv {
		h.Warnings = append(h.Warnings, fmt.Sprintf("bitpix is %d but datatype %s has %d bits; the datatype was trusted",
			raw.bitpix, datatypeName(raw.datatype), 8*bpv))
	}

	// Frames beyond the first are never allocated, but their byte count
	// must fit in an int64 for the file size check.
	frameBytes := int64(h.Grid.Len()) * int64(bpv)
	h.Frames = 1
	for _, n := range size[3:] {
		if n > (math.MaxInt64/2)/(frameBytes*h.Frames) {
			return nil, formatErr("dim[4..7] = %v describe more data than any file can hold", size[3:])
		}
		h.Frames *= n
	}
	if h.Frames > 1 {
		h.Warnings = append(h.Warnings, fmt.Sprintf("the file holds %d volumes (dim %v); only the first was read", h.Frames, size[:nd]))
	}

	// vox_offset: a whole number of bytes at or after the header and its
	// extension flag. Some writers leave it 0 in a single file; the data
	// then starts right after the flag.
	first := int64(hsize + 4)
	switch vo := raw.voxOffset; {
	case math.IsNaN(vo) || vo < 0 || vo > 1<<40 || vo != math.Trunc(vo):
		return nil, formatErr("vox_offset is %v", vo)
	case int64(vo) < first:
		if vo != 0 {
			h.Warnings = append(h.Warnings, fmt.Sprintf("vox_offset %v is inside the header; voxels read from byte %d", vo, first))
		}
		h.VoxOffset = first
	default:
		h.VoxOffset = int64(vo)
	}

	h.SclSlope, h.SclInter = 1, 0
	if s := raw.sclSlope; s != 0 && !math.IsNaN(s) && !math.IsInf(s, 0) {
		h.SclSlope = s
		if i := raw.sclInter; !math.IsNaN(i) && !math.IsInf(i, 0) {
			h.SclInter = i
		}
	}
	h.IntentCode = raw.intentCode

	h.Meta, h.Grid.Affine, h.Warnings = spatial(raw, h.Warnings)
	return h, nil
}

// spatial fills the NIfTI spatial metadata and chooses the affine by the
// standard's precedence (sform, then qform, then pixdim), falling back to
// the next when one is unusable (non-finite or singular), with a warning.
func spatial(raw rawHeader, warnings []string) (NIfTIMeta, Affine, []string) {
	m := NIfTIMeta{
		QformCode: raw.qformCode,
		SformCode: raw.sformCode,
		QuaternB:  raw.quatern[0],
		QuaternC:  raw.quatern[1],
		QuaternD:  raw.quatern[2],
		QOffset:   raw.qoffset,
		Pixdim:    raw.pixdim,
		XYZTUnits: raw.xyztUnits,
	}
	m.Qfac = 1
	if raw.pixdim[0] < 0 {
		m.Qfac = -1
	}
	var zoom [3]float64
	badZoom := false
	for i := range zoom {
		// A voxel size outside 1 nm to 1 km is corrupt, not exotic, and
		// one that small would make the affine numerically singular.
		z := math.Abs(raw.pixdim[i+1])
		if !(z >= 1e-6 && z <= 1e6) {
			z, badZoom = 1, true
		}
		zoom[i] = z
	}
	m.Qform = quaternToAffine(m.QuaternB, m.QuaternC, m.QuaternD, m.Qfac, zoom, m.QOffset)
	m.Sform = Identity()
	for r := 0; r < 3; r++ {
		copy(m.Sform[r][:], raw.srow[r][:])
	}

	usable := func(a Affine) bool {
		for r := 0; r < 3; r++ {
			for c := 0; c < 4; c++ {
				if math.IsNaN(a[r][c]) || math.IsInf(a[r][c], 0) {
					return false
				}
			}
		}
		inv, err := a.Inverse()
		if err != nil {
			return false
		}
		// A determinant that barely escapes zero leaves an inverse too
		// large to use.
		for r := 0; r < 3; r++ {
			for c := 0; c < 4; c++ {
				if math.IsNaN(inv[r][c]) || math.IsInf(inv[r][c], 0) || math.Abs(inv[r][c]) > 1e12 {
					return false
				}
			}
		}
		return true
	}
	if m.SformCode > 0 {
		if usable(m.Sform) {
			return m, m.Sform, warnings
		}
		warnings = append(warnings, "the sform is not a usable affine (singular or not finite); it was ignored")
	}
	if m.QformCode > 0 {
		if usable(m.Qform) {
			if badZoom {
				warnings = append(warnings, fmt.Sprintf("pixdim %v has zero or invalid voxel sizes; 1 mm was used", raw.pixdim[1:4]))
			}
			return m, m.Qform, warnings
		}
		warnings = append(warnings, "the qform is not usable (quaternion not finite); it was ignored")
	}
	a := Identity()
	for i := range zoom {
		a[i][i] = zoom[i]
	}
	if badZoom {
		warnings = append(warnings, fmt.Sprintf("pixdim %v has zero or invalid voxel sizes; 1 mm was used", raw.pixdim[1:4]))
	}
	warnings = append(warnings, fmt.Sprintf("no usable sform or qform: the orientation is unknown, voxel sizes %gx%gx%g mm taken from pixdim with the axes assumed RAS",
		zoom[0], zoom[1], zoom[2]))
	return m, a, warnings
}

// datatypeName names a datatype code for messages.
func datatypeName(dt int) string {
	switch dt {
	case dtUint8:
		return "uint8"
	case dtInt8:
		return "int8"
	case dtInt16:
		return "int16"
	case dtUint16:
		return "uint16"
	case dtInt32:
		return "int32"
	case dtUint32:
		return "uint32"
	case dtInt64:
		return "int64"
	case dtUint64:
		return "uint64"
	case dtFloat32:
		return "float32"
	case dtFloat64:
		return "float64"
	}
	return fmt.Sprintf("datatype %d", dt)
}

// streamChunk is the size of the pieces the voxel bytes are read and
// converted in: large enough to amortise the hand-over between goroutines,
// small enough that conversion overlaps decompression.
const streamChunk = 1 << 20

// streamVoxels reads the first volume's voxel bytes from r in chunks and
// hands each, in little-endian order, to consume together with the index
// of its first voxel, until ctx is done. Chunks are consumed concurrently by GOMAXPROCS
// goroutines while the next ones are read, so consume must only touch the
// voxels it is given. The first error stops the stream.
func streamVoxels(ctx context.Context, r io.Reader, h *NIfTIHeader, consume func(start int, b []byte) error) error {
	total := h.frameBytes()
	bpv := int64(h.bytesPerVoxel())
	swap := h.ByteOrder == binary.BigEndian && bpv > 1
	if err := ctx.Err(); err != nil {
		return err
	}
	if total <= streamChunk {
		// One chunk: nothing to overlap, so no goroutines (which also
		// keeps the fuzzers' coverage deterministic).
		b := make([]byte, total)
		if got, err := io.ReadFull(r, b); err != nil {
			return fmt.Errorf("voxel data ends early, after %d of %d bytes: %w", got, total, noEOF(err))
		}
		if swap {
			swapBytes(b, int(bpv))
		}
		return consume(0, b)
	}
	chunk := int64(streamChunk) // a multiple of every voxel size
	workers := runtime.GOMAXPROCS(0)
	nbuf := 2 * workers
	if n := (total + chunk - 1) / chunk; n < int64(nbuf) {
		nbuf = int(n)
	}

	type job struct {
		off int64
		b   []byte
	}
	free := make(chan []byte, nbuf)
	for i := 0; i < nbuf; i++ {
		free <- make([]byte, chunk)
	}
	jobs := make(chan job, nbuf)
	var (
		mu       sync.Mutex
		firstErr error
		failed   = make(chan struct{})
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
			close(failed)
		}
	}

	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				select {
				case <-failed:
				default:
					if swap {
						swapBytes(j.b, int(bpv))
					}
					if err := consume(int(j.off/bpv), j.b); err != nil {
						fail(err)
					}
				}
				free <- j.b[:cap(j.b)]
			}
		}()
	}

read:
	for off := int64(0); off < total; {
		if err := ctx.Err(); err != nil {
			fail(err)
			break
		}
		var b []byte
		select {
		case b = <-free:
		case <-failed:
			break read
		case <-ctx.Done():
			fail(ctx.Err())
			break read
		}
		n := min(chunk, total-off)
		if got, err := io.ReadFull(r, b[:n]); err != nil {
			fail(fmt.Errorf("voxel data ends early, after %d of %d bytes: %w", off+int64(got), total, noEOF(err)))
			break
		}
		jobs <- job{off, b[:n]}
		off += n
	}
	close(jobs)
	wg.Wait()
	return firstErr
}

// checkEnd reads a gzip stream of a 3D file to its end after the voxels,
// so that a stream missing its trailer, or whose checksum is wrong, is
// refused even when all the voxels could be decompressed. The volumes after
// the first of a 4D file are not decompressed just for that.
func checkEnd(r io.Reader, h *NIfTIHeader) error {
	if !h.Compressed || h.Frames > 1 {
		return nil
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return fmt.Errorf("gzip stream after the voxels: %w", err)
	}
	return nil
}

// swapBytes reverses the byte order of each size-byte word of b in place.
func swapBytes(b []byte, size int) {
	switch size {
	case 2:
		for i := 0; i+1 < len(b); i += 2 {
			b[i], b[i+1] = b[i+1], b[i]
		}
	case 4:
		for i := 0; i+3 < len(b); i += 4 {
			binary.LittleEndian.PutUint32(b[i:], binary.BigEndian.Uint32(b[i:]))
		}
	case 8:
		for i := 0; i+7 < len(b); i += 8 {
			binary.LittleEndian.PutUint64(b[i:], binary.BigEndian.Uint64(b[i:]))
		}
	}
}

// decodeLE converts little-endian voxels of datatype dt in src to
// stored·slope + inter in dst. Scaled values are computed in float64 so
// that 32-bit integers and float64 voxels lose nothing before the final
// conversion; unscaled ones (most CT) skip the float64 arithmetic. One loop per datatype keeps the inner loops free
// of calls and, with src and dst cut to matching lengths first, of most
// bounds checks.
func decodeLE[F float32 | float64](dst []F, src []byte, dt int, slope, inter float64) {
	le := binary.LittleEndian
	unscaled := slope == 1 && inter == 0
	switch dt {
	case dtUint8:
		dst = dst[:len(src)]
		if unscaled {
			for i, v := range src {
				dst[i] = F(v)
			}
			return
		}
		for i, v := range src {
			dst[i] = F(float64(v)*slope + inter)
		}
	case dtInt8:
		dst = dst[:len(src)]
		if unscaled {
			for i, v := range src {
				dst[i] = F(int8(v))
			}
			return
		}
		for i, v := range src {
			dst[i] = F(float64(int8(v))*slope + inter)
		}
	case dtInt16:
		dst = dst[:len(src)/2]
		src = src[:2*len(dst)]
		if unscaled {
			for i := range dst {
				dst[i] = F(int16(le.Uint16(src[2*i:])))
			}
			return
		}
		for i := range dst {
			dst[i] = F(float64(int16(le.Uint16(src[2*i:])))*slope + inter)
		}
	case dtUint16:
		dst = dst[:len(src)/2]
		src = src[:2*len(dst)]
		if unscaled {
			for i := range dst {
				dst[i] = F(le.Uint16(src[2*i:]))
			}
			return
		}
		for i := range dst {
			dst[i] = F(float64(le.Uint16(src[2*i:]))*slope + inter)
		}
	case dtInt32:
		dst = dst[:len(src)/4]
		src = src[:4*len(dst)]
		if unscaled {
			for i := range dst {
				dst[i] = F(int32(le.Uint32(src[4*i:])))
			}
			return
		}
		for i := range dst {
			dst[i] = F(float64(int32(le.Uint32(src[4*i:])))*slope + inter)
		}
	case dtUint32:
		dst = dst[:len(src)/4]
		src = src[:4*len(dst)]
		if unscaled {
			for i := range dst {
				dst[i] = F(le.Uint32(src[4*i:]))
			}
			return
		}
		for i := range dst {
			dst[i] = F(float64(le.Uint32(src[4*i:]))*slope + inter)
		}
	case dtFloat32:
		dst = dst[:len(src)/4]
		src = src[:4*len(dst)]
		if unscaled {
			for i := range dst {
				dst[i] = F(math.Float32frombits(le.Uint32(src[4*i:])))
			}
			return
		}
		for i := range dst {
			dst[i] = F(float64(math.Float32frombits(le.Uint32(src[4*i:])))*slope + inter)
		}
	case dtInt64:
		dst = dst[:len(src)/8]
		src = src[:8*len(dst)]
		if unscaled {
			for i := range dst {
				dst[i] = F(int64(le.Uint64(src[8*i:])))
			}
			return
		}
		for i := range dst {
			dst[i] = F(float64(int64(le.Uint64(src[8*i:])))*slope + inter)
		}
	case dtUint64:
		dst = dst[:len(src)/8]
		src = src[:8*len(dst)]
		if unscaled {
			for i := range dst {
				dst[i] = F(le.Uint64(src[8*i:]))
			}
			return
		}
		for i := range dst {
			dst[i] = F(float64(le.Uint64(src[8*i:]))*slope + inter)
		}
	case dtFloat64:
		dst = dst[:len(src)/8]
		src = src[:8*len(dst)]
		if unscaled {
			for i := range dst {
				dst[i] = F(math.Float64frombits(le.Uint64(src[8*i:])))
			}
			return
		}
		for i := range dst {
			dst[i] = F(float64(math.Float64frombits(le.Uint64(src[8*i:])))*slope + inter)
		}
	}
}

// describeGrid names a grid for messages: orientation and dimensions,
// "LAS 512x512x20".
func describeGrid(g Grid) string {
	return fmt.Sprintf("%s %dx%dx%d", g.Affine.AxisCodes(), g.Dims[0], g.Dims[1], g.Dims[2])
}
