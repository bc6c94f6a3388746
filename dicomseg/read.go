package dicomseg

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"os"
	"strings"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"

	"github.com/polyseg/polyseg/volume"
)

// ErrUnsupported is wrapped by the errors about segmentations this
// package does not read: FRACTIONAL ones, label maps, compressed pixels.
var ErrUnsupported = errors.New("unsupported segmentation")

// ErrFormat is wrapped by the errors about segmentations that break the
// standard or contradict themselves.
var ErrFormat = errors.New("invalid segmentation")

// SEG is a binary DICOM Segmentation as read: what it says about itself,
// checked for consistency, with its frames still packed.
type SEG struct {
	Name                string // the file, for messages
	SOPInstanceUID      string
	StudyUID            string
	SeriesUID           string
	FrameOfReferenceUID string
	// Referenced lists the series the segmentation refers to and their
	// instances (ReferencedSeriesSequence).
	Referenced []ReferencedSeries
	Rows, Cols int
	Segments   []SegmentInfo // in the file's order
	Frames     []FrameInfo
	// Orientation and PixelSpacing are those of the frames (shared, or
	// the same in every frame); ok false when the file gives none.
	Orientation    [6]float64
	HasOrientation bool
	PixelSpacing   [2]float64
	HasSpacing     bool

	bits []byte // the frames' pixels, 1 bit each, packed
}

// ReferencedSeries is one item of ReferencedSeriesSequence.
type ReferencedSeries struct {
	SeriesUID string
	Instances []string // SOP Instance UIDs
}

// SegmentInfo is one item of SegmentSequence.
type SegmentInfo struct {
	Number    int
	Label     string
	Algorithm Algorithm
	Coding    Coding
	// Color is the recommended display colour in sRGB; HasColor false
	// when the file recommends none.
	Color    color.NRGBA
	HasColor bool
	// Frames counts the frames of the segment.
	Frames int
}

// FrameInfo is what one frame's functional groups say.
type FrameInfo struct {
	Segment int // ReferencedSegmentNumber
	// Sources are the SOP Instance UIDs of the frame's source images.
	Sources []string
	// Position is ImagePositionPatient (LPS+, mm); HasPosition false when
	// the frame gives none.
	Position    [3]float64
	HasPosition bool
}

// ReadFile reads and checks the segmentation at path.
func ReadFile(path string) (*SEG, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// Parse reads and checks the segmentation held in b, named name in
// errors. It refuses, naming the cause: a file that is not a segmentation,
// a FRACTIONAL one or a label map (ErrUnsupported), compressed pixel data,
// and a file that contradicts itself or ends early (ErrFormat): frames
// missing from the pixel data, a frame of a segment the file does not
// describe, segment numbers repeated.
func Parse(name string, b []byte) (*SEG, error) {
	d, err := volume.ParseDICOMDataset(name, b, true)
	if err != nil {
		return nil, err
	}
	s, err := parse(name, d.Elements)
	if err != nil {
		return nil, fmt.Errorf("DICOM SEG %s: %w", name, err)
	}
	return s, nil
}

func parse(name string, es []*dicom.Element) (*SEG, error) {
	// A file cut at an element's end parses without error: what it lacks
	// tells.
	px := find(es, tag.PixelData)
	cls := str1(es, tag.SOPClassUID)
	if cls == "" && px == nil {
		return nil, fmt.Errorf("%w: no SOP Class UID and no pixel data (the file is cut short?)", ErrFormat)
	}
	switch c := cls; c {
	case SegmentationStorage:
	case LabelMapSegmentationStorage:
		return nil, fmt.Errorf("%w: a label map segmentation (SOP class %s); polyseg reads BINARY segmentations", ErrUnsupported, c)
	default:
		what := c
		if info, err := uid.Lookup(c); err == nil {
			what = info.Name + " (" + c + ")"
		}
		return nil, fmt.Errorf("%w: not a segmentation but %s", ErrUnsupported, what)
	}
	if px == nil || px.Value == nil {
		return nil, fmt.Errorf("%w: no pixel data (the file is cut short?)", ErrFormat)
	}
	switch t := str1(es, tag.SegmentationType); t {
	case "BINARY":
	case "FRACTIONAL":
		ft := str1(es, tag.SegmentationFractionalType)
		return nil, fmt.Errorf("%w: a FRACTIONAL segmentation (%s): polyseg reads BINARY segmentations only; convert it with a threshold first", ErrUnsupported, strings.ToLower(ft))
	default:
		return nil, fmt.Errorf("%w: SegmentationType %q (polyseg reads BINARY)", ErrUnsupported, t)
	}
	switch ts := str1(es, tag.TransferSyntaxUID); ts {
	case uid.ImplicitVRLittleEndian, uid.ExplicitVRLittleEndian, uid.DeflatedExplicitVRLittleEndian:
	default:
		name := ts
		if info, err := uid.Lookup(ts); err == nil {
			name = info.Name
		}
		return nil, fmt.Errorf("%w: transfer syntax %s: polyseg reads uncompressed segmentations", ErrUnsupported, name)
	}
	s := &SEG{
		Name:                name,
		SOPInstanceUID:      str1(es, tag.SOPInstanceUID),
		StudyUID:            str1(es, tag.StudyInstanceUID),
		SeriesUID:           str1(es, tag.SeriesInstanceUID),
		FrameOfReferenceUID: str1(es, tag.FrameOfReferenceUID),
	}
	rows, ok1 := int1(es, tag.Rows)
	cols, ok2 := int1(es, tag.Columns)
	nf, ok3 := int1(es, tag.NumberOfFrames)
	if !ok3 {
		nf = 1
	}
	if !ok1 || !ok2 || rows <= 0 || cols <= 0 || nf <= 0 {
		return nil, fmt.Errorf("%w: Rows %d, Columns %d, NumberOfFrames %d", ErrFormat, rows, cols, nf)
	}
	if err := volume.CheckDims([3]int{cols, rows, nf}); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	s.Rows, s.Cols = rows, cols
	for _, want := range []struct {
		t tag.Tag
		v int
	}{{tag.BitsAllocated, 1}, {tag.BitsStored, 1}, {tag.SamplesPerPixel, 1}} {
		if v, ok := int1(es, want.t); ok && v != want.v {
			info, _ := tag.Find(want.t)
			return nil, fmt.Errorf("%w: %s is %d, a BINARY segmentation has %d", ErrFormat, info.Name, v, want.v)
		}
	}

	for _, it := range items(es, tag.ReferencedSeriesSequence) {
		r := ReferencedSeries{SeriesUID: str1(it, tag.SeriesInstanceUID)}
		for _, in := range items(it, tag.ReferencedInstanceSequence) {
			r.Instances = append(r.Instances, str1(in, tag.ReferencedSOPInstanceUID))
		}
		s.Referenced = append(s.Referenced, r)
	}

	numbers := map[int]int{} // segment number -> index in Segments
	for _, it := range items(es, tag.SegmentSequence) {
		n, ok := int1(it, tag.SegmentNumber)
		if !ok || n < 1 {
			return nil, fmt.Errorf("%w: a segment without a valid SegmentNumber", ErrFormat)
		}
		if _, dup := numbers[n]; dup {
			return nil, fmt.Errorf("%w: segment number %d is used twice", ErrFormat, n)
		}
		si := SegmentInfo{
			Number:    n,
			Label:     str1(it, tag.SegmentLabel),
			Algorithm: Algorithm{Type: str1(it, tag.SegmentAlgorithmType), Name: str1(it, tag.SegmentAlgorithmName)},
			Coding: Coding{
				Category: readCode(it, tag.SegmentedPropertyCategoryCodeSequence),
				Type:     readCode(it, tag.SegmentedPropertyTypeCodeSequence),
				Region:   readCode(it, tag.AnatomicRegionSequence),
			},
		}
		if ty := first(it, tag.SegmentedPropertyTypeCodeSequence); ty != nil {
			si.Coding.TypeModifier = readCode(ty, tag.SegmentedPropertyTypeModifierCodeSequence)
		}
		if re := first(it, tag.AnatomicRegionSequence); re != nil {
			si.Coding.RegionModifier = readCode(re, tag.AnatomicRegionModifierSequence)
		}
		if lab, ok := intVals(it, tag.RecommendedDisplayCIELabValue); ok && len(lab) == 3 {
			si.Color, si.HasColor = SRGB([3]uint16{uint16(lab[0]), uint16(lab[1]), uint16(lab[2])}), true
		}
		numbers[n] = len(s.Segments)
		s.Segments = append(s.Segments, si)
	}
	if len(s.Segments) == 0 {
		return nil, fmt.Errorf("%w: no segments (SegmentSequence is empty)", ErrFormat)
	}

	shared := first(es, tag.SharedFunctionalGroupsSequence)
	perFrame := items(es, tag.PerFrameFunctionalGroupsSequence)
	if len(perFrame) != nf && !(nf == 1 && len(perFrame) == 0) {
		return nil, fmt.Errorf("%w: %d frames but %d per-frame functional groups", ErrFormat, nf, len(perFrame))
	}
	// A functional group is in the frame's item, or shared by all.
	group := func(n int, t tag.Tag) []*dicom.Element {
		if n < len(perFrame) {
			if g := first(perFrame[n], t); g != nil {
				return g
			}
		}
		return first(shared, t)
	}
	for n := range nf {
		var f FrameInfo
		segNo, ok := int1(group(n, tag.SegmentIdentificationSequence), tag.ReferencedSegmentNumber)
		if !ok {
			return nil, fmt.Errorf("%w: frame %d names no segment (ReferencedSegmentNumber)", ErrFormat, n+1)
		}
		idx, ok := numbers[segNo]
		if !ok {
			return nil, fmt.Errorf("%w: frame %d belongs to segment %d, which SegmentSequence does not describe", ErrFormat, n+1, segNo)
		}
		s.Segments[idx].Frames++
		f.Segment = segNo
		if p, ok := floatVals(group(n, tag.PlanePositionSequence), tag.ImagePositionPatient); ok && len(p) == 3 {
			copy(f.Position[:], p)
			f.HasPosition = true
		}
		var der [][]*dicom.Element
		if n < len(perFrame) {
			der = items(perFrame[n], tag.DerivationImageSequence)
		}
		if der == nil {
			der = items(shared, tag.DerivationImageSequence)
		}
		for _, d := range der {
			for _, src := range items(d, tag.SourceImageSequence) {
				if u := str1(src, tag.ReferencedSOPInstanceUID); u != "" {
					f.Sources = append(f.Sources, u)
				}
			}
		}
		if o, ok := floatVals(group(n, tag.PlaneOrientationSequence), tag.ImageOrientationPatient); ok && len(o) == 6 {
			var oo [6]float64
			copy(oo[:], o)
			if s.HasOrientation && !near(oo[:], s.Orientation[:], 1e-4) {
				return nil, fmt.Errorf("%w: frame %d is oriented %v, frame 1 %v: frames of several orientations are not supported", ErrUnsupported, n+1, oo, s.Orientation)
			}
			s.Orientation, s.HasOrientation = oo, true
		}
		if p, ok := floatVals(group(n, tag.PixelMeasuresSequence), tag.PixelSpacing); ok && len(p) == 2 {
			var pp [2]float64
			copy(pp[:], p)
			if s.HasSpacing && !near(pp[:], s.PixelSpacing[:], 1e-4*pp[0]) {
				return nil, fmt.Errorf("%w: frame %d has pixel spacing %v, frame 1 %v", ErrUnsupported, n+1, pp, s.PixelSpacing)
			}
			s.PixelSpacing, s.HasSpacing = pp, true
		}
		s.Frames = append(s.Frames, f)
	}

	info, ok := px.Value.GetValue().(dicom.PixelDataInfo)
	if !ok || info.IsEncapsulated || !info.IntentionallyUnprocessed {
		return nil, fmt.Errorf("%w: encapsulated (compressed) pixel data", ErrUnsupported)
	}
	need := (int64(nf)*int64(rows)*int64(cols) + 7) / 8
	if int64(len(info.UnprocessedValueData)) < need {
		return nil, fmt.Errorf("%w: the pixel data holds %d bytes, %d frames of %dx%d pixels need %d (the file is cut short?)",
			ErrFormat, len(info.UnprocessedValueData), nf, cols, rows, need)
	}
	s.bits = info.UnprocessedValueData[:need]
	return s, nil
}

// Pixel reports whether pixel (col i, row j) of frame n is set.
func (s *SEG) Pixel(n, i, j int) bool {
	bit := (int64(n)*int64(s.Rows)+int64(j))*int64(s.Cols) + int64(i)
	return s.bits[bit>>3]&(1<<(bit&7)) != 0
}

// FrameCount returns the number of set pixels of frame n.
func (s *SEG) FrameCount(n int) int {
	per := int64(s.Rows) * int64(s.Cols)
	c := 0
	for bit := int64(n) * per; bit < int64(n+1)*per; bit++ {
		if s.bits[bit>>3]&(1<<(bit&7)) != 0 {
			c++
		}
	}
	return c
}

func near(a, b []float64, tol float64) bool {
	for i := range a {
		if d := a[i] - b[i]; d > tol || d < -tol {
			return false
		}
	}
	return true
}

// readFile reads a file of at most volume.MaxDICOMFileSize bytes.
func readFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read DICOM SEG: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("read DICOM SEG %s: a folder, not a file", path)
	}
	if st.Size() > volume.MaxDICOMFileSize {
		return nil, fmt.Errorf("read DICOM SEG %s: %d bytes is larger than the %d-byte limit", path, st.Size(), int64(volume.MaxDICOMFileSize))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read DICOM SEG: %w", err)
	}
	return b, nil
}

// LooksLikeDICOM reports whether the file at path starts as a DICOM Part
// 10 file does: a 128-byte preamble, then "DICM". A label file with it can
// only be a segmentation; Parse says what else it is.
func LooksLikeDICOM(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [132]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return false
	}
	return string(b[128:]) == "DICM"
}
