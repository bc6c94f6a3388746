package volume

// What other packages need to write or read objects that refer to a DICOM
// series (a segmentation, say): which file each slice of the volume came
// from, and the same guarded parser this package uses, for their own files.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// Instance is one slice of a series as Read places it.
type Instance struct {
	Path string
	// SOPClassUID and SOPInstanceUID identify the file; anonymisers that
	// blank them in the dataset leave them in the file meta, where they
	// are taken from then.
	SOPClassUID    string
	SOPInstanceUID string
	// Position is ImagePositionPatient: DICOM's LPS+ frame, in mm, as the
	// file states it (not the grid's even spacing).
	Position [3]float64
	// Number is the InstanceNumber, 0 when absent.
	Number int
}

// SeriesLayout is a series' grid and, for each slice k of that grid, the
// file it comes from.
type SeriesLayout struct {
	Series SeriesInfo
	// Grid is the grid Read gives the series.
	Grid Grid
	// Instances[k] is the file of slice k.
	Instances []Instance
	// Orientation is ImageOrientationPatient (row, then column cosines,
	// LPS+) and PixelSpacing the distance between rows, then columns, as
	// the first file states them.
	Orientation  [6]float64
	PixelSpacing [2]float64
	// FrameOfReferenceUID is the first file's.
	FrameOfReferenceUID string
}

// Layout returns the layout of the series that opt chooses, without
// decoding pixels. It refuses what Read refuses about the series as a
// whole (an unreadable file or a gap, unless opt.AllowGaps; inconsistent
// geometry), so a layout that is returned matches the volume Read makes.
func (s *DICOMScan) Layout(opt DICOMOptions) (SeriesLayout, error) {
	se, err := s.Choose(opt)
	if err != nil {
		return SeriesLayout{}, err
	}
	if n := len(s.Broken); n > 0 && !opt.AllowGaps {
		return SeriesLayout{}, fmt.Errorf("DICOM folder %s: %v (%d unreadable files in all); it may be a slice of the series: %w", s.Dir, s.Broken[0], n, ErrGaps)
	}
	files := s.files[se.key]
	g, err := assembleSeries(files)
	if err != nil {
		return SeriesLayout{}, fmt.Errorf("DICOM series %s in %s: %w", se.UID, s.Dir, err)
	}
	if len(g.gaps) > 0 && !opt.AllowGaps {
		return SeriesLayout{}, fmt.Errorf("DICOM series %s in %s: %s: %w", se.UID, s.Dir, g.gaps[0], ErrGaps)
	}
	first := files[g.order[0]]
	l := SeriesLayout{Series: se, Grid: g.grid, FrameOfReferenceUID: first.frameOfRef}
	copy(l.Orientation[:], first.iop)
	copy(l.PixelSpacing[:], first.pixelSpacing)
	for _, i := range g.order {
		f := files[i]
		in := Instance{Path: f.path, SOPClassUID: f.sopClassUID, SOPInstanceUID: f.sopInstanceUID, Number: f.instance}
		copy(in.Position[:], f.ipp)
		l.Instances = append(l.Instances, in)
	}
	return l, nil
}

// strOr returns the first of the string elements ts that is present and
// not empty.
func strOr(ds *dicom.Dataset, ts ...tag.Tag) string {
	for _, t := range ts {
		if v := str(ds, t); v != "" {
			return v
		}
	}
	return ""
}

// ReadDICOMHeader parses the DICOM Part 10 file at path up to its pixel
// data, with the guards of this package's own reading: a size limit, every
// element length checked against the file before the library allocates it,
// and the library's panics turned into errors naming the file.
func ReadDICOMHeader(path string) (*dicom.Dataset, error) {
	b, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	return ParseDICOMDataset(path, b, false)
}

// ParseDICOMDataset parses the DICOM Part 10 file b (named name in
// errors) with the guards ReadDICOMHeader describes. With pixels, the
// PixelData element is kept, its value unprocessed (dicom.PixelDataInfo's
// UnprocessedValueData for native data): the caller decodes it.
func ParseDICOMDataset(name string, b []byte, pixels bool) (ds *dicom.Dataset, err error) {
	if len(b) < 132 || string(b[128:132]) != "DICM" {
		return nil, fmt.Errorf("%s: %w (no \"DICM\" after the 128-byte preamble)", name, errNotDICOM)
	}
	// A file cut short fails here more often than it is malformed
	// otherwise: the messages say both.
	if err := checkElementLengths(b); err != nil {
		return nil, fmt.Errorf("parse DICOM %s: malformed or cut short: %w", name, err)
	}
	switch ts, ok := metaTransferSyntax(b); {
	case !ok:
		// The library would guess one, and read lengths the walk did not
		// check.
		return nil, fmt.Errorf("parse DICOM %s: no TransferSyntaxUID in the file meta (malformed, or cut short)", name)
	case ts == tsDeflatedLE:
		// The library would inflate the dataset and allocate the element
		// lengths found inside, which nothing checked: a small file could
		// claim gigabytes.
		return nil, fmt.Errorf("parse DICOM %s: %w: %s", name, ErrUnsupportedTransferSyntax, transferSyntaxName(tsDeflatedLE))
	}
	defer func() {
		if p := recover(); p != nil {
			ds, err = nil, fmt.Errorf("parse DICOM %s: malformed or cut short (parser panicked: %v)", name, p)
		}
	}()
	opts := []dicom.ParseOption{dicom.AllowUnknownSpecificCharacterSet(), dicom.AllowMissingMetaElementGroupLength()}
	if pixels {
		opts = append(opts, dicom.SkipProcessingPixelDataValue())
	} else {
		opts = append(opts, dicom.SkipPixelData())
	}
	p, err := dicom.NewParser(bytes.NewReader(b), int64(len(b)), nil, opts...)
	if err != nil {
		return nil, fmt.Errorf("parse DICOM %s: malformed or cut short: %w", name, err)
	}
	out := dicom.Dataset{Elements: append([]*dicom.Element(nil), p.GetMetadata().Elements...)}
	for {
		e, err := p.Next()
		if errors.Is(err, dicom.ErrorEndOfDICOM) || errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse DICOM %s: malformed or cut short: %w", name, err)
		}
		if e.Tag == tag.PixelData && !pixels {
			continue
		}
		out.Elements = append(out.Elements, e)
	}
	return &out, nil
}

// metaTransferSyntax returns the TransferSyntaxUID of the file meta group
// of b, a file checkElementLengths accepted, as the library reads it, and
// whether there is one.
func metaTransferSyntax(b []byte) (string, bool) {
	w := lengthWalker{b: b, bo: binary.LittleEndian}
	for pos := 132; pos+8 <= len(b) && w.bo.Uint16(b[pos:]) == 0x0002; {
		t, _, vl, next, err := w.header(pos)
		if err != nil || int64(vl) > int64(len(b)-next) {
			return "", false
		}
		if t == tag.TransferSyntaxUID {
			return libraryString(string(b[next : next+int(vl)])), true
		}
		pos = next + int(vl)
	}
	return "", false
}

// readLimited reads a file of at most maxDICOMFileSize bytes.
func readLimited(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if st.Size() > maxDICOMFileSize {
		return nil, fmt.Errorf("%s: %d bytes is larger than the %d-byte limit for a DICOM file", path, st.Size(), maxDICOMFileSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// MaxDICOMFileSize is the largest DICOM file this package parses, in bytes.
const MaxDICOMFileSize = maxDICOMFileSize
