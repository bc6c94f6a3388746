package volume

// DICOM series reading, part 1: scanning a folder, one file's header, and the
// public entry points. The geometry of a series is in dicom_series.go, pixel
// decoding in dicom_pixels.go.
//
// The files are parsed with github.com/suyashkumar/dicom (PS3.5/PS3.10:
// https://dicom.nema.org/medical/dicom/current/output/html/part10.html).
//
// # Security considerations
//
// Every file in a folder is untrusted. The library can panic on hostile
// input (it indexes values it has not checked, e.g. MustGetInts(...)[0] on
// an empty Rows element), so every call into it runs under recover() and a
// panic becomes an error naming the file. The library also allocates a
// buffer of an element's declared length (up to 4 GiB) before reading it,
// so every file first passes checkElementLengths (dicom_lengths.go), which
// refuses any length larger than what is left of the file. Nothing here
// allocates from a header field before checking it: rows, columns and slice
// count pass CheckDims, and uncompressed pixel data must hold the bytes the
// header claims before the volume is allocated. JPEG 2000 frames are
// checked against Rows and Columns before they are decoded; a series of
// them can still claim up to MaxVoxels voxels, as a NIfTI header can.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"
)

// maxDICOMFileSize bounds the size of one DICOM file this package parses: a
// single CT slice is well under a megabyte, and even a large multi-frame
// object stays far below this.
const maxDICOMFileSize = 1 << 30

// ErrNoDICOM is returned (wrapped) when a folder holds no DICOM image.
var ErrNoDICOM = errors.New("no DICOM images")

// ErrSeveralSeries is returned (wrapped) when a folder holds several series
// and DICOMOptions chooses none; the message lists them.
var ErrSeveralSeries = errors.New("several DICOM series")

// ErrUnsupportedTransferSyntax is returned (wrapped) for pixel data encoded
// with a transfer syntax this package cannot decode; the message names it.
var ErrUnsupportedTransferSyntax = errors.New("unsupported DICOM transfer syntax")

// SeriesInfo describes one DICOM series found in a folder.
type SeriesInfo struct {
	UID         string // SeriesInstanceUID (0020,000E)
	Number      int    // SeriesNumber (0020,0011); 0 when absent
	Description string // SeriesDescription (0008,103E)
	Modality    string // Modality (0008,0060), e.g. "CT"
	StudyUID    string // StudyInstanceUID (0020,000D)
	Files       int    // image files in the series
	Slices      int    // distinct slice positions (Files less duplicates)
	Rows, Cols  int    // of the first file
	// TransferSyntax is the UID of the first file's transfer syntax.
	TransferSyntax string
	// Paths lists the series' files, sorted by name.
	Paths []string

	key string // seriesKey of its files
}

// seriesKey groups files into series: by SeriesInstanceUID, or, for
// anonymised files whose UIDs were blanked (patient B of the fixtures is
// one), by frame of reference, series number and description. Such a series
// has an empty UID and is chosen by index.
func seriesKey(f *dicomFile) string {
	if f.seriesUID != "" {
		return f.seriesUID
	}
	return fmt.Sprintf("\x00%s\x00%d\x00%s", f.frameOfRef, f.seriesNumber, f.seriesDesc)
}

// TransferSyntaxName returns the name of the series' transfer syntax, e.g.
// "JPEG 2000 Image Compression (Lossless Only)", or the UID itself when it is
// not a standard one.
func (s SeriesInfo) TransferSyntaxName() string { return transferSyntaxName(s.TransferSyntax) }

// DICOMScan is what ListDICOMSeries found in a folder.
type DICOMScan struct {
	Dir    string
	Series []SeriesInfo // sorted by series number
	// Skipped counts the regular files that are not DICOM (no "DICM" magic
	// after the 128-byte preamble) or are DICOM without an image; they are
	// skipped quietly, as a folder often holds a DICOMDIR or a README.
	Skipped int
	// Broken holds one error per file that claims to be DICOM but cannot be
	// parsed; those files are left out of every series.
	Broken []error

	files map[string][]*dicomFile // by seriesKey
}

// ErrGaps is returned (wrapped) when a series has a gap: a file in its
// folder that claims to be DICOM but cannot be read (it may be one of its
// slices), or slices farther apart than the rest, as where a file is
// missing. The message names the file or the files around the gap.
// DICOMOptions.AllowGaps reads such a series anyway.
var ErrGaps = errors.New("slices missing or unreadable")

// DICOMOptions chooses the series to read from a folder. The zero value
// reads the folder's only series and fails when there are several.
type DICOMOptions struct {
	SeriesUID   string // choose by SeriesInstanceUID
	SeriesIndex int    // 1-based position in ListDICOMSeries' order; 0 = not chosen
	// AllowGaps reads a series with a gap (see ErrGaps) instead of refusing
	// it: unreadable files are skipped, and the grid assumes the mean
	// spacing, so the anatomy beyond a gap is misplaced; both are warnings.
	AllowGaps bool
}

// ListDICOMSeries parses the headers of the files in dir (not its
// subfolders) and returns its image series, sorted by series number.
func ListDICOMSeries(ctx context.Context, dir string) ([]SeriesInfo, error) {
	scan, err := ScanDICOM(ctx, dir)
	if err != nil {
		return nil, err
	}
	return scan.Series, nil
}

// ScanDICOM is ListDICOMSeries with the count of skipped and broken files.
// Headers are parsed in parallel, without pixel data.
func ScanDICOM(ctx context.Context, dir string) (*DICOMScan, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read DICOM folder %s: %w", dir, err)
	}
	var paths []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.Type().IsRegular():
		case e.Type()&fs.ModeSymlink != 0:
			// Exports often link to files in a store: follow the link.
			if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
				continue
			}
		default:
			continue
		}
		paths = append(paths, p)
	}
	files := make([]*dicomFile, len(paths))
	errs := make([]error, len(paths))
	err = forEach(ctx, len(paths), func(i int) error {
		files[i], errs[i] = readDICOMFile(paths[i], false)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan DICOM folder %s: %w", dir, err)
	}
	scan := &DICOMScan{Dir: dir, files: map[string][]*dicomFile{}}
	for i, f := range files {
		switch {
		case errors.Is(errs[i], errNotDICOM):
			scan.Skipped++
		case errs[i] != nil:
			scan.Broken = append(scan.Broken, errs[i])
		case !f.hasPixels:
			scan.Skipped++
		default:
			k := seriesKey(f)
			scan.files[k] = append(scan.files[k], f)
		}
	}
	for k, fs := range scan.files {
		f := fs[0]
		s := SeriesInfo{
			key: k, UID: f.seriesUID, Number: f.seriesNumber, Description: f.seriesDesc, Modality: f.modality,
			StudyUID: f.studyUID, Files: len(fs), Slices: len(fs), Rows: f.rows, Cols: f.cols,
			TransferSyntax: f.transferSyntax,
		}
		for _, f := range fs {
			s.Paths = append(s.Paths, f.path)
		}
		sort.Strings(s.Paths)
		if g, err := assembleSeries(fs); err == nil {
			s.Slices = len(g.order)
		}
		scan.Series = append(scan.Series, s)
	}
	sort.Slice(scan.Series, func(i, j int) bool {
		a, b := scan.Series[i], scan.Series[j]
		if a.Number != b.Number {
			return a.Number < b.Number
		}
		return a.key < b.key
	})
	return scan, nil
}

// Choose returns the series that opt selects, or an error that lists the
// series and says how to choose one.
func (s *DICOMScan) Choose(opt DICOMOptions) (SeriesInfo, error) {
	if len(s.Series) == 0 {
		msg := fmt.Sprintf("%s: %v (%d other files skipped", s.Dir, ErrNoDICOM, s.Skipped)
		if len(s.Broken) > 0 {
			msg += fmt.Sprintf(", %d unreadable: %v", len(s.Broken), s.Broken[0])
		}
		return SeriesInfo{}, fmt.Errorf("%s)%w", msg, errNoDICOMMarker)
	}
	switch {
	case opt.SeriesUID != "":
		for _, se := range s.Series {
			// Series without a UID never match: they are chosen by index.
			if se.UID == opt.SeriesUID {
				return se, nil
			}
		}
		return SeriesInfo{}, fmt.Errorf("%s: no series with UID %s; %s", s.Dir, opt.SeriesUID, s.describe())
	case opt.SeriesIndex != 0:
		if opt.SeriesIndex < 1 || opt.SeriesIndex > len(s.Series) {
			return SeriesInfo{}, fmt.Errorf("%s: series index %d out of range 1..%d; %s", s.Dir, opt.SeriesIndex, len(s.Series), s.describe())
		}
		return s.Series[opt.SeriesIndex-1], nil
	case len(s.Series) > 1:
		return SeriesInfo{}, fmt.Errorf("%s holds %d series (%w), choose one by UID or by index: %s", s.Dir, len(s.Series), ErrSeveralSeries, s.describe())
	}
	return s.Series[0], nil
}

// errNoDICOMMarker lets errors.Is(err, ErrNoDICOM) hold for the message
// built in Choose without repeating the sentinel's text.
var errNoDICOMMarker = noDICOMMarker{}

type noDICOMMarker struct{}

func (noDICOMMarker) Error() string { return "" }
func (noDICOMMarker) Is(target error) bool {
	return target == ErrNoDICOM
}

func (s *DICOMScan) describe() string {
	parts := make([]string, len(s.Series))
	for i, se := range s.Series {
		desc := se.Description
		if desc == "" {
			desc = "no description"
		}
		u := se.UID
		if u == "" {
			u = "(none)"
		}
		parts[i] = fmt.Sprintf("[%d] UID %s %q (%s, %d slices)", i+1, u, desc, se.Modality, se.Slices)
	}
	return strings.Join(parts, "; ")
}

// ReadDICOM reads one series of the folder dir as a volume in HU. The voxel
// axes follow the DICOM pixel grid: i along a row (the column index), j down
// the columns (the row index), k along the slices sorted by position on the
// slice normal. The world frame is RAS+ (see the package documentation).
func ReadDICOM(ctx context.Context, dir string, opt DICOMOptions) (*Volume, error) {
	scan, err := ScanDICOM(ctx, dir)
	if err != nil {
		return nil, err
	}
	return scan.Read(ctx, opt)
}

// Read reads the series that opt chooses from a scanned folder, as
// ReadDICOM does, without parsing the headers again.
func (s *DICOMScan) Read(ctx context.Context, opt DICOMOptions) (*Volume, error) {
	se, err := s.Choose(opt)
	if err != nil {
		return nil, err
	}
	return s.readWithNotes(ctx, se, opt.AllowGaps)
}

// readWithNotes reads one series and adds the folder's skipped and broken
// files to its warnings. Unless allowGaps, a broken file, which may be a
// slice of the series, is refused: skipping it would leave a hole that
// the even grid hides.
func (s *DICOMScan) readWithNotes(ctx context.Context, se SeriesInfo, allowGaps bool) (*Volume, error) {
	if n := len(s.Broken); n > 0 && !allowGaps {
		more := ""
		if n > 1 {
			more = fmt.Sprintf(" (and %d more unreadable files)", n-1)
		}
		return nil, fmt.Errorf("DICOM folder %s: %v%s; it may be a slice of the series, which would have a gap: %w", s.Dir, s.Broken[0], more, ErrGaps)
	}
	v, err := s.read(ctx, se, allowGaps)
	if err != nil {
		return nil, err
	}
	if s.Skipped > 0 {
		v.Warnings = append(v.Warnings, fmt.Sprintf("skipped %d files that are not DICOM images", s.Skipped))
	}
	for _, e := range s.Broken {
		v.Warnings = append(v.Warnings, "skipped unreadable file: "+e.Error())
	}
	return v, nil
}

// read decodes one series of the scan.
func (s *DICOMScan) read(ctx context.Context, se SeriesInfo, allowGaps bool) (*Volume, error) {
	files := s.files[se.key]
	seriesUID := se.UID
	if seriesUID == "" {
		seriesUID = fmt.Sprintf("%q (no UID)", se.Description)
	}
	g, err := assembleSeries(files)
	if err != nil {
		return nil, fmt.Errorf("DICOM series %s in %s: %w", seriesUID, s.Dir, err)
	}
	if len(g.gaps) > 0 && !allowGaps {
		more := ""
		if n := len(g.gaps); n > 1 {
			more = fmt.Sprintf(" (and %d more gaps)", n-1)
		}
		return nil, fmt.Errorf("DICOM series %s in %s: %s%s: %w", seriesUID, s.Dir, g.gaps[0], more, ErrGaps)
	}
	for _, i := range g.order {
		if err := checkDecodable(files[i]); err != nil {
			return nil, fmt.Errorf("DICOM series %s in %s: %w", seriesUID, s.Dir, err)
		}
	}
	nx, ny := g.grid.Dims[0], g.grid.Dims[1]
	data := make([]float32, g.grid.Len())
	err = forEach(ctx, len(g.order), func(k int) error {
		hdr := files[g.order[k]]
		f, err := readDICOMFile(hdr.path, true)
		if err != nil {
			return err
		}
		if f.rows != hdr.rows || f.cols != hdr.cols {
			return fmt.Errorf("%s changed while reading", hdr.path)
		}
		if err := decodeFrame(f, data[k*nx*ny:(k+1)*nx*ny]); err != nil {
			return fmt.Errorf("decode %s: %w", f.path, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read DICOM series %s in %s: %w", seriesUID, s.Dir, err)
	}
	return &Volume{
		Grid:     g.grid,
		Data:     data,
		Source:   s.Dir,
		Warnings: g.warnings,
		Meta:     scannerMeta(g.grid.Affine),
	}, nil
}

// scannerMeta describes an affine in scanner coordinates as NIfTI stores
// it, as dcm2niix does: sform = the affine, qform = its rotation as a
// quaternion (which cannot hold the shear of a gantry-tilted series; the
// sform can), both with code 1 (NIFTI_XFORM_SCANNER_ANAT).
func scannerMeta(a Affine) NIfTIMeta {
	m := NIfTIMeta{QformCode: 1, SformCode: 1, Sform: a, Qform: a, XYZTUnits: 2 /* NIFTI_UNITS_MM */}
	b, c, d, qfac, zoom, off, ok := affineToQuatern(a)
	if !ok {
		// assembleSeries checked the affine invertible; keep the sform.
		m.QformCode = 0
		return m
	}
	m.QuaternB, m.QuaternC, m.QuaternD, m.Qfac, m.QOffset = b, c, d, qfac, off
	m.Pixdim = [8]float64{qfac, zoom[0], zoom[1], zoom[2], 1, 1, 1, 1}
	m.Qform = quaternToAffine(b, c, d, qfac, zoom, off)
	return m
}

// errNotDICOM marks a file without the DICOM Part 10 magic: not an error
// for a folder scan, which skips it.
var errNotDICOM = errors.New("not a DICOM file")

// dicomFile is what one file says about itself: the header fields this
// package uses and, when read with pixels, the raw pixel data.
type dicomFile struct {
	path           string
	transferSyntax string
	seriesUID      string
	studyUID       string
	sopClassUID    string // SOPClassUID, else the file meta's MediaStorageSOPClassUID
	sopInstanceUID string // SOPInstanceUID, else the file meta's MediaStorageSOPInstanceUID
	frameOfRef     string
	seriesDesc     string
	modality       string
	seriesNumber   int
	instance       int
	rows, cols     int
	bitsAllocated  int
	bitsStored     int
	pixelRep       int // 0 unsigned, 1 two's complement
	samples        int
	photometric    string
	frames         int
	ipp            []float64 // ImagePositionPatient, LPS mm
	iop            []float64 // ImageOrientationPatient, row then column cosines
	pixelSpacing   []float64 // distance between rows, then between columns
	thickness      float64
	slope          float64
	intercept      float64
	hasPixels      bool
	pixelBytes     int64 // PixelData's value length; -1 when encapsulated (undefined)

	// With pixels: the native bytes, or the encapsulated fragments.
	native       []byte
	encapsulated bool
	fragments    [][]byte
}

// readDICOMFile parses the file at path; withPixels also keeps its pixel data.
func readDICOMFile(path string, withPixels bool) (*dicomFile, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Size() > maxDICOMFileSize {
		return nil, fmt.Errorf("%s: %d bytes is larger than the %d-byte limit for a DICOM file", path, st.Size(), maxDICOMFileSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return parseDICOM(path, b, withPixels)
}

// parseDICOM parses the DICOM Part 10 file b, named name in errors, up to
// its pixel data. Files without the "DICM" magic are refused (errNotDICOM):
// the library's guessing mode for them accepts almost any bytes. The
// library runs only on files whose element lengths were checked, and under
// recover (see the security considerations above).
func parseDICOM(name string, b []byte, withPixels bool) (f *dicomFile, err error) {
	if len(b) < 132 || string(b[128:132]) != "DICM" {
		return nil, fmt.Errorf("%s: %w", name, errNotDICOM)
	}
	if err := checkElementLengths(b); err != nil {
		return nil, fmt.Errorf("parse DICOM %s: malformed file: %w", name, err)
	}
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("parse DICOM %s: malformed file (parser panicked: %v)", name, p)
		}
	}()
	opts := []dicom.ParseOption{dicom.AllowUnknownSpecificCharacterSet(), dicom.AllowMissingMetaElementGroupLength()}
	if withPixels {
		opts = append(opts, dicom.SkipProcessingPixelDataValue())
	} else {
		opts = append(opts, dicom.SkipPixelData())
	}
	p, err := dicom.NewParser(bytes.NewReader(b), int64(len(b)), nil, opts...)
	if err != nil {
		if errors.Is(err, dicom.ErrorMagicWord) {
			return nil, fmt.Errorf("%s: %w", name, errNotDICOM)
		}
		return nil, fmt.Errorf("parse DICOM %s: %w", name, err)
	}
	// A copy: the parser's metadata and dataset share a backing array.
	ds := dicom.Dataset{Elements: append([]*dicom.Element(nil), p.GetMetadata().Elements...)}
	var pixel *dicom.Element
	for {
		e, err := p.Next()
		if errors.Is(err, dicom.ErrorEndOfDICOM) || errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse DICOM %s: %w", name, err)
		}
		if e.Tag == tag.PixelData {
			pixel = e
			break
		}
		ds.Elements = append(ds.Elements, e)
	}
	f = headerFields(name, &ds)
	if pixel == nil {
		if f.rows > 0 && f.cols > 0 {
			// An image's header without its pixels: a slice cut short
			// (a copy interrupted, a full disk), not a DICOMDIR or a
			// report, which have no image size.
			return nil, fmt.Errorf("parse DICOM %s: a %dx%d image without pixel data (the file is cut short?)", name, f.cols, f.rows)
		}
		return f, nil
	}
	f.hasPixels = true
	f.pixelBytes = -1
	if pixel.ValueLength != tag.VLUndefinedLength {
		f.pixelBytes = int64(pixel.ValueLength)
	}
	if !withPixels {
		return f, nil
	}
	info, ok := pixel.Value.GetValue().(dicom.PixelDataInfo)
	if !ok {
		return nil, fmt.Errorf("parse DICOM %s: pixel data of unexpected type %T", name, pixel.Value.GetValue())
	}
	switch {
	case info.IsEncapsulated:
		f.encapsulated = true
		for _, fr := range info.Frames {
			if fr != nil && fr.Encapsulated {
				f.fragments = append(f.fragments, fr.EncapsulatedData.Data)
			}
		}
	case info.IntentionallyUnprocessed:
		f.native = info.UnprocessedValueData
	default:
		return nil, fmt.Errorf("parse DICOM %s: pixel data not read", name)
	}
	return f, nil
}

// headerFields extracts the fields this package uses from a dataset.
func headerFields(name string, ds *dicom.Dataset) *dicomFile {
	f := &dicomFile{
		path:           name,
		transferSyntax: str(ds, tag.TransferSyntaxUID),
		seriesUID:      str(ds, tag.SeriesInstanceUID),
		studyUID:       str(ds, tag.StudyInstanceUID),
		sopClassUID:    strOr(ds, tag.SOPClassUID, tag.MediaStorageSOPClassUID),
		sopInstanceUID: strOr(ds, tag.SOPInstanceUID, tag.MediaStorageSOPInstanceUID),
		frameOfRef:     str(ds, tag.FrameOfReferenceUID),
		seriesDesc:     str(ds, tag.SeriesDescription),
		modality:       str(ds, tag.Modality),
		seriesNumber:   intOr(ds, tag.SeriesNumber, 0),
		instance:       intOr(ds, tag.InstanceNumber, 0),
		rows:           intOr(ds, tag.Rows, 0),
		cols:           intOr(ds, tag.Columns, 0),
		bitsAllocated:  intOr(ds, tag.BitsAllocated, 0),
		bitsStored:     intOr(ds, tag.BitsStored, 0),
		pixelRep:       intOr(ds, tag.PixelRepresentation, 0),
		samples:        intOr(ds, tag.SamplesPerPixel, 1),
		photometric:    str(ds, tag.PhotometricInterpretation),
		frames:         intOr(ds, tag.NumberOfFrames, 1),
		ipp:            floats(ds, tag.ImagePositionPatient),
		iop:            floats(ds, tag.ImageOrientationPatient),
		pixelSpacing:   floats(ds, tag.PixelSpacing),
		slope:          1,
	}
	if v := floats(ds, tag.SliceThickness); len(v) == 1 {
		f.thickness = v[0]
	}
	if v := floats(ds, tag.RescaleSlope); len(v) >= 1 && v[0] != 0 {
		f.slope = v[0]
	}
	if v := floats(ds, tag.RescaleIntercept); len(v) >= 1 {
		f.intercept = v[0]
	}
	if f.bitsStored == 0 {
		f.bitsStored = f.bitsAllocated
	}
	return f
}

// str returns the first value of a string element, trimmed; "" if absent.
func str(ds *dicom.Dataset, t tag.Tag) string {
	e, err := ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return ""
	}
	if v, ok := e.Value.GetValue().([]string); ok && len(v) > 0 {
		return strings.TrimSpace(strings.TrimRight(v[0], "\x00"))
	}
	return ""
}

// intOr returns the first value of an integer element (US, IS), or def.
func intOr(ds *dicom.Dataset, t tag.Tag, def int) int {
	e, err := ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return def
	}
	switch v := e.Value.GetValue().(type) {
	case []int:
		if len(v) > 0 {
			return v[0]
		}
	case []string:
		if len(v) > 0 {
			if n, err := strconv.Atoi(strings.TrimSpace(v[0])); err == nil {
				return n
			}
		}
	}
	return def
}

// floats returns the values of a decimal string (DS) or floating point
// element; nil if absent or if any value does not parse as a finite number.
func floats(ds *dicom.Dataset, t tag.Tag) []float64 {
	e, err := ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return nil
	}
	switch v := e.Value.GetValue().(type) {
	case []float64:
		for _, x := range v {
			if !finite(x) {
				return nil
			}
		}
		return v
	case []string:
		out := make([]float64, 0, len(v))
		for _, s := range v {
			x, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimRight(s, "\x00")), 64)
			if err != nil || !finite(x) {
				return nil
			}
			out = append(out, x)
		}
		return out
	}
	return nil
}

// transferSyntaxName names a transfer syntax UID for messages.
func transferSyntaxName(u string) string {
	if info, err := uid.Lookup(u); err == nil {
		return fmt.Sprintf("%s (%s)", info.Name, u)
	}
	if u == "" {
		return "unknown transfer syntax"
	}
	return u
}

// forEach calls fn(0..n-1) on a bounded pool of GOMAXPROCS workers and
// returns the first error, or ctx's error once it is done; the remaining
// calls are not started after either.
func forEach(ctx context.Context, n int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		}()
	}
feed:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
