package volume

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/klauspost/pgzip"
)

// ReadLabelsNIfTI reads a label volume from a NIfTI file on its own grid.
// Any scalar datatype is accepted as long as every value, after scl_slope
// and scl_inter, is a whole number from 0 to 65535; anything else (a
// probability map, negative values) is refused with the first offending
// voxel named.
func ReadLabelsNIfTI(path string) (*Labels, error) {
	l, _, err := readNIfTILabels(path)
	return l, err
}

// readLabels reads a label volume from a NRRD file (by its name: .nrrd,
// .nhdr, .seg.nrrd) or else a NIfTI file, with the colour table beside it
// if there is one, and returns the reader's warnings.
func readLabels(path string) (*Labels, []string, error) {
	if IsNRRDName(path) {
		return readLabelsNRRD(context.Background(), path)
	}
	l, warnings, err := readNIfTILabels(path)
	if err != nil {
		return nil, nil, err
	}
	segs, w := readColorTableSidecar(path)
	l.Segments = segs
	if w != "" {
		warnings = append(warnings, w)
	}
	return l, warnings, nil
}

// readNIfTILabels is ReadLabelsNIfTI that also returns the header's warnings.
func readNIfTILabels(path string) (*Labels, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	h, r, err := openNIfTI(f, path, true)
	if err != nil {
		return nil, nil, err
	}
	if zr, ok := r.(*pgzip.Reader); ok {
		defer zr.Close()
	}
	l := NewLabels(h.Grid)
	dt, slope, inter := h.Datatype, h.SclSlope, h.SclInter
	unscaled := slope == 1 && inter == 0
	err = streamVoxels(context.Background(), r, h, func(start int, b []byte) error {
		dst := l.Data[start:]
		switch {
		case unscaled && dt == dtUint8:
			for i, v := range b {
				dst[i] = uint16(v)
			}
			return nil
		case unscaled && dt == dtUint16:
			for i := range len(b) / 2 {
				dst[i] = binary.LittleEndian.Uint16(b[2*i:])
			}
			return nil
		}
		// Everything else goes through float64, which holds every
		// valid label exactly, in pieces small enough for the stack.
		bpv := h.bytesPerVoxel()
		var tmp [4096]float64
		for p := 0; p < len(b)/bpv; p += len(tmp) {
			src := b[p*bpv : min(len(b), (p+len(tmp))*bpv)]
			vals := tmp[:len(src)/bpv]
			decodeLE(vals, src, dt, slope, inter)
			for i, v := range vals {
				if !(v >= 0 && v <= math.MaxUint16 && v == math.Trunc(v)) {
					n := start + p + i
					nx, ny := h.Grid.Dims[0], h.Grid.Dims[1]
					return fmt.Errorf("label value %g at voxel (%d, %d, %d): labels must be whole numbers from 0 to 65535",
						v, n%nx, n/nx%ny, n/(nx*ny))
				}
				dst[p+i] = uint16(v)
			}
		}
		return nil
	})
	if err == nil {
		err = checkEnd(r, h)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	return l, h.Warnings, nil
}

// LoadLabels reads a label volume for a scan on grid ref: a NIfTI file
// (with the names and colours of the colour table beside it, see
// ColorTablePath), or a NRRD label map or 3D Slicer segmentation (.nrrd,
// .nhdr, .seg.nrrd; see ReadLabelsNRRD), with the names and colours in the
// labels' Segments. Labels on ref's
// grid are returned as they are; labels on another grid are resampled onto
// ref (see ResampleLabels), with a warning saying so. Labels that do not
// overlap the scan, or whose grid cannot be inverted, are refused with an
// error naming the file. The warnings also carry the file's header
// warnings (a 4D file, a missing orientation).
func LoadLabels(path string, ref Grid) (*Labels, []string, error) {
	l, warnings, err := readLabels(path)
	if err != nil {
		return nil, nil, err
	}
	_, im, exact, err := voxelMap(l.Grid, ref)
	if err != nil {
		return nil, nil, fmt.Errorf("labels %s: the label grid cannot be inverted: %w", path, err)
	}
	if exact && im.identity() && l.Dims == ref.Dims {
		// The same grid up to float32 rounding of the header: take the
		// scan's affine so later grid comparisons are exact.
		l.Grid = ref
		return l, warnings, nil
	}
	r, err := ResampleLabels(l, ref)
	if r != nil {
		r.Segments = l.Segments
	}
	if errors.Is(err, ErrNoOverlap) {
		return nil, nil, fmt.Errorf("labels %s (%s): %w (scan grid %s)", path, describeGrid(l.Grid), err, describeGrid(ref))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("labels %s: %w", path, err)
	}
	how := "by nearest neighbour"
	if exact {
		how = "exactly, voxel for voxel"
	}
	warnings = append(warnings, fmt.Sprintf("labels on another grid (%s) resampled onto the scan grid (%s) %s",
		describeGrid(l.Grid), describeGrid(ref), how))
	return r, warnings, nil
}

// WriteLabels writes l as a label volume for the scan ref, in the format
// path names: a 3D Slicer segmentation for .seg.nrrd, .nrrd, .seg.nhdr and
// .nhdr (see writeLabelsNRRD; l.Segments give the names and colours), else
// NIfTI: uint8 when every label fits, else uint16, with intent
// NIFTI_INTENT_LABEL, and, when l has Segments, their names and colours in
// a 3D Slicer colour table beside it (ColorTablePath), written after the
// labels. l must be on ref's grid. A NIfTI header carries ref's affine,
// qform and sform (ref.Meta) so that the file overlays the scan in 3D
// Slicer or ITK-SNAP. The file appears at path only once complete; ".gz"
// compresses NIfTI.
func WriteLabels(path string, l *Labels, ref *Volume) error {
	if IsNRRDName(path) {
		return writeLabelsNRRD(path, l, ref)
	}
	if !l.Grid.Equal(ref.Grid, 1e-4) {
		return fmt.Errorf("write %s: labels on grid %s, scan on grid %s: resample the labels onto the scan first",
			path, describeGrid(l.Grid), describeGrid(ref.Grid))
	}
	if err := checkWritable(l.Grid, len(l.Data)); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	dt := dtUint8
	if l.Max() > math.MaxUint8 {
		dt = dtUint16
	}
	data := l.Data
	err := writeNIfTI(path, ref.Grid, ref.Meta, dt, intentLabel, func(dst []byte, start int) {
		src := data[start:]
		if dt == dtUint8 {
			for i := range dst {
				dst[i] = uint8(src[i])
			}
			return
		}
		for i := range len(dst) / 2 {
			binary.LittleEndian.PutUint16(dst[2*i:], src[i])
		}
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if len(l.Segments) > 0 {
		if err := writeColorTableSidecar(path, l.Segments); err != nil {
			return err // names the table's file
		}
	}
	return nil
}

// ReadLabels reads a label volume on its own grid from a NIfTI or NRRD
// file, as LoadLabels reads it (with the names and colours the file or the
// colour table beside it gives, in Segments) but without bringing it onto
// a scan's grid, and returns the reader's warnings.
func ReadLabels(path string) (*Labels, []string, error) { return readLabels(path) }

// IsLabelFile reports whether the file at path says it holds labels rather
// than intensities: a 3D Slicer segmentation (named .seg.nrrd or .seg.nhdr,
// or a NRRD with Slicer's segment fields), or a NIfTI file with intent
// NIFTI_INTENT_LABEL. Unreadable files are not label files; their reader
// will say what is wrong.
func IsLabelFile(path string) bool {
	if IsSegmentationName(path) {
		return true
	}
	if IsNRRDName(path) {
		h, err := readNRRDHeader(path)
		if err != nil {
			return false
		}
		_, ok := h.KeyValues["Segment0_ID"]
		_, ok2 := h.KeyValues["Segment0_LabelValue"]
		return ok || ok2
	}
	h, err := ReadNIfTIHeader(path)
	return err == nil && h.IntentCode == intentLabel
}
