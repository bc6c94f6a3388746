package dicomseg

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"

	"github.com/polyseg/polyseg/internal/atomicfile"
	"github.com/polyseg/polyseg/volume"
)

// SOP classes (PS3.4 §B.5).
const (
	SegmentationStorage         = "1.2.840.10008.5.1.4.1.1.66.4"
	LabelMapSegmentationStorage = "1.2.840.10008.5.1.4.1.1.66.7"
)

// Algorithm types (PS3.3 §C.8.20.2.3).
const (
	Manual        = "MANUAL"
	Semiautomatic = "SEMIAUTOMATIC"
	Automatic     = "AUTOMATIC"
)

// Algorithm says how a segment was made: its SegmentAlgorithmType and,
// for the types other than MANUAL, SegmentAlgorithmName.
type Algorithm struct {
	Type string
	Name string
}

// Segment describes one label value of a label volume as a segment.
type Segment struct {
	Value     uint16 // the label value in the label volume
	Label     string // SegmentLabel, e.g. "liver"
	Color     color.NRGBA
	Algorithm Algorithm
	Coding    Coding
}

// WriteOptions describe the segmentation written. Segments must describe
// every label value present in the labels; values listed but absent from
// the labels are left out, as are slices a segment does not touch.
type WriteOptions struct {
	Segments []Segment
	// SeriesDescription, SeriesNumber: of the segmentation's own series;
	// "polyseg segmentation" and 300 when empty or zero.
	SeriesDescription string
	SeriesNumber      int
	// Software is SoftwareVersions, e.g. the build's version; "polyseg"
	// when empty.
	Software string
	// Creator is ContentCreatorName (a DICOM person name), empty when
	// unknown.
	Creator string
	// Now stamps the content and series dates; the zero time means now.
	Now time.Time
}

// Summary says what was written.
type Summary struct {
	SOPInstanceUID string
	Segments       []Segment // those written, numbered 1, 2... in this order
	Frames         int
	Notes          []string // derived UIDs (Source.Notes)
}

// WriteFile writes the segmentation of labels (on src's grid) to path,
// atomically: the file appears only once complete.
func WriteFile(ctx context.Context, path string, src *Source, labels *volume.Labels, opt WriteOptions) (Summary, error) {
	var sum Summary
	err := atomicfile.WriteFile(path, 0o644, func(w io.Writer) error {
		var err error
		sum, err = Write(ctx, w, src, labels, opt)
		return err
	})
	if err != nil {
		return Summary{}, fmt.Errorf("write DICOM SEG %s: %w", path, err)
	}
	return sum, nil
}

// Write writes the segmentation of labels (on src's grid) to w as a DICOM
// Part 10 file: a BINARY Segmentation, explicit VR little endian, one
// frame per segment and slice that segment touches.
func Write(ctx context.Context, w io.Writer, src *Source, labels *volume.Labels, opt WriteOptions) (Summary, error) {
	g := src.Grid
	if !labels.Grid.Equal(g, gridTol) || len(labels.Data) != g.Len() {
		return Summary{}, fmt.Errorf("the labels (%v voxels) are not on the series' grid (%v): bring them onto the scan first", labels.Dims, g.Dims)
	}
	nx, ny, nz := g.Dims[0], g.Dims[1], g.Dims[2]
	if nx != src.Series.Cols || ny != src.Series.Rows || nz != len(src.Instances) {
		return Summary{}, fmt.Errorf("the series' grid %v does not match its %d slices of %dx%d", g.Dims, len(src.Instances), src.Series.Cols, src.Series.Rows)
	}

	// Which values are on which slices.
	perSlice := nx * ny
	onSlice := make([]map[uint16]bool, nz)
	present := map[uint16]bool{}
	for k := range nz {
		if err := ctx.Err(); err != nil {
			return Summary{}, err
		}
		m := map[uint16]bool{}
		var last uint16
		for _, v := range labels.Data[k*perSlice : (k+1)*perSlice] {
			if v != 0 && v != last {
				m[v], last = true, v
			}
		}
		onSlice[k] = m
		for v := range m {
			present[v] = true
		}
	}
	if len(present) == 0 {
		return Summary{}, errors.New("the labels are empty: a segmentation needs at least one labelled voxel")
	}
	byValue := map[uint16]Segment{}
	for _, s := range opt.Segments {
		byValue[s.Value] = s
	}
	var segs []Segment
	for v := range present {
		s, ok := byValue[v]
		if !ok {
			return Summary{}, fmt.Errorf("label %d is in the labels but has no segment description", v)
		}
		if err := checkSegment(s); err != nil {
			return Summary{}, fmt.Errorf("label %d: %w", v, err)
		}
		segs = append(segs, s)
	}
	slices.SortFunc(segs, func(a, b Segment) int { return int(a.Value) - int(b.Value) })

	// Frames: segment by segment, slice by slice, as dcmqi orders them.
	type frame struct{ seg, k int }
	var frames []frame
	frameOf := make([]map[uint16]int, nz)
	for k := range frameOf {
		frameOf[k] = map[uint16]int{}
	}
	for n, s := range segs {
		for k := range nz {
			if onSlice[k][s.Value] {
				frameOf[k][s.Value] = len(frames)
				frames = append(frames, frame{n, k})
			}
		}
	}
	// 1-bit pixels, packed without a break between frames, the first
	// pixel in the lowest bit (PS3.5 §8.1.1, §D).
	nbits := int64(len(frames)) * int64(perSlice)
	pixels := make([]byte, (nbits+7)/8+((nbits+7)/8)%2)
	// A table by value, filled for one slice at a time: a map lookup per
	// voxel would cost more than the rest of the packing.
	var frameStart [1 << 16]int64
	for k := range nz {
		if err := ctx.Err(); err != nil {
			return Summary{}, err
		}
		for v, n := range frameOf[k] {
			frameStart[v] = int64(n) * int64(perSlice)
		}
		for p, v := range labels.Data[k*perSlice : (k+1)*perSlice] {
			if v == 0 {
				continue
			}
			bit := frameStart[v] + int64(p)
			pixels[bit>>3] |= 1 << (bit & 7)
		}
	}

	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	sopUID, err := newUID()
	if err != nil {
		return Summary{}, err
	}
	seriesUID, err := newUID()
	if err != nil {
		return Summary{}, err
	}
	dimUID, err := newUID()
	if err != nil {
		return Summary{}, err
	}
	desc := opt.SeriesDescription
	if desc == "" {
		desc = "polyseg segmentation"
	}
	number := opt.SeriesNumber
	if number == 0 {
		number = 300
	}
	software := opt.Software
	if software == "" {
		software = "polyseg"
	}
	date, tod := now.Format("20060102"), now.Format("150405")

	b := &builder{}
	var es []*dicom.Element
	add := func(e ...*dicom.Element) { es = append(es, e...) }

	// File meta (PS3.10 §7.1).
	add(b.el(tag.FileMetaInformationVersion, []byte{0, 1}),
		b.str(tag.MediaStorageSOPClassUID, SegmentationStorage),
		b.str(tag.MediaStorageSOPInstanceUID, sopUID),
		b.str(tag.TransferSyntaxUID, uid.ExplicitVRLittleEndian),
		b.str(tag.ImplementationClassUID, implementationUID),
		b.str(tag.ImplementationVersionName, "POLYSEG"))

	// Patient and study: the source's, so that the segmentation files
	// beside its series in an archive.
	copied := []tag.Tag{tag.PatientName, tag.PatientID, tag.PatientBirthDate, tag.PatientSex,
		tag.StudyDate, tag.StudyTime, tag.ReferringPhysicianName, tag.StudyID, tag.AccessionNumber}
	for _, t := range copied {
		add(b.str(t, src.headerStr(t)))
	}
	for _, t := range []tag.Tag{tag.StudyDescription, tag.PositionReferenceIndicator} {
		if v := src.headerStr(t); v != "" || t == tag.PositionReferenceIndicator {
			add(b.str(t, v))
		}
	}
	add(b.str(tag.StudyInstanceUID, src.StudyUID),
		b.str(tag.FrameOfReferenceUID, src.FrameOfReferenceUID))

	// Series, equipment, SOP common, image.
	add(b.str(tag.Modality, "SEG"),
		b.str(tag.SeriesInstanceUID, seriesUID),
		b.str(tag.SeriesNumber, strconv.Itoa(number)),
		b.str(tag.SeriesDescription, desc),
		b.str(tag.SeriesDate, date), b.str(tag.SeriesTime, tod),
		b.str(tag.Manufacturer, "polyseg"),
		b.str(tag.ManufacturerModelName, "polyseg"),
		b.str(tag.DeviceSerialNumber, "0"),
		b.str(tag.SoftwareVersions, software),
		b.str(tag.SOPClassUID, SegmentationStorage),
		b.str(tag.SOPInstanceUID, sopUID),
		b.str(tag.InstanceCreationDate, date), b.str(tag.InstanceCreationTime, tod),
		b.str(tag.InstanceNumber, "1"),
		b.str(tag.ContentDate, date), b.str(tag.ContentTime, tod),
		b.str(tag.ImageType, "DERIVED", "PRIMARY"),
		b.str(tag.ContentLabel, "SEGMENTATION"),
		b.str(tag.ContentDescription, desc),
		b.str(tag.ContentCreatorName, opt.Creator),
		b.ints(tag.SamplesPerPixel, 1),
		b.str(tag.PhotometricInterpretation, "MONOCHROME2"),
		b.ints(tag.Rows, ny), b.ints(tag.Columns, nx),
		b.ints(tag.BitsAllocated, 1), b.ints(tag.BitsStored, 1), b.ints(tag.HighBit, 0),
		b.ints(tag.PixelRepresentation, 0),
		b.str(tag.LossyImageCompression, "00"),
		b.str(tag.SegmentationType, "BINARY"),
		b.str(tag.NumberOfFrames, strconv.Itoa(len(frames))))

	// The series the segmentation is of (Common Instance Reference).
	var refs [][]*dicom.Element
	for _, in := range src.Instances {
		refs = append(refs, []*dicom.Element{
			b.str(tag.ReferencedSOPClassUID, in.SOPClassUID),
			b.str(tag.ReferencedSOPInstanceUID, in.SOPInstanceUID)})
	}
	add(b.seq(tag.ReferencedSeriesSequence, []*dicom.Element{
		b.seq(tag.ReferencedInstanceSequence, refs...),
		b.str(tag.SeriesInstanceUID, src.SeriesUID)}))

	// Segments.
	var segItems [][]*dicom.Element
	for n, s := range segs {
		lab := CIELab(s.Color)
		typeExtra := []*dicom.Element{}
		if !s.Coding.TypeModifier.IsZero() {
			typeExtra = append(typeExtra, b.code(tag.SegmentedPropertyTypeModifierCodeSequence, s.Coding.TypeModifier))
		}
		it := []*dicom.Element{
			b.ints(tag.SegmentNumber, n+1),
			b.str(tag.SegmentLabel, clip(s.Label, 64)),
			b.str(tag.SegmentAlgorithmType, s.Algorithm.Type),
			b.ints(tag.RecommendedDisplayCIELabValue, int(lab[0]), int(lab[1]), int(lab[2])),
			b.code(tag.SegmentedPropertyCategoryCodeSequence, s.Coding.Category),
			b.code(tag.SegmentedPropertyTypeCodeSequence, s.Coding.Type, typeExtra...),
		}
		if s.Algorithm.Type != Manual {
			it = append(it, b.str(tag.SegmentAlgorithmName, clip(s.Algorithm.Name, 64)))
		}
		if !s.Coding.Region.IsZero() {
			var extra []*dicom.Element
			if !s.Coding.RegionModifier.IsZero() {
				extra = append(extra, b.code(tag.AnatomicRegionModifierSequence, s.Coding.RegionModifier))
			}
			it = append(it, b.code(tag.AnatomicRegionSequence, s.Coding.Region, extra...))
		}
		segItems = append(segItems, it)
	}
	add(b.seq(tag.SegmentSequence, segItems...))

	// Dimensions: the segment, then the position (PS3.3 §C.7.6.17).
	add(b.seq(tag.DimensionOrganizationSequence, []*dicom.Element{b.str(tag.DimensionOrganizationUID, dimUID)}),
		b.seq(tag.DimensionIndexSequence,
			[]*dicom.Element{
				b.str(tag.DimensionOrganizationUID, dimUID),
				b.ints(tag.DimensionIndexPointer, int(tag.ReferencedSegmentNumber.Group), int(tag.ReferencedSegmentNumber.Element)),
				b.ints(tag.FunctionalGroupPointer, int(tag.SegmentIdentificationSequence.Group), int(tag.SegmentIdentificationSequence.Element)),
				b.str(tag.DimensionDescriptionLabel, "ReferencedSegmentNumber")},
			[]*dicom.Element{
				b.str(tag.DimensionOrganizationUID, dimUID),
				b.ints(tag.DimensionIndexPointer, int(tag.ImagePositionPatient.Group), int(tag.ImagePositionPatient.Element)),
				b.ints(tag.FunctionalGroupPointer, int(tag.PlanePositionSequence.Group), int(tag.PlanePositionSequence.Element)),
				b.str(tag.DimensionDescriptionLabel, "ImagePositionPatient")}))

	// Functional groups: the geometry all frames share, then each
	// frame's source slice, position and segment.
	sp := g.Spacing()
	thickness := src.headerStr(tag.SliceThickness)
	if _, err := strconv.ParseFloat(thickness, 64); err != nil {
		thickness = ds(sp[2])
	}
	o := src.Orientation
	measures := []*dicom.Element{
		b.str(tag.SliceThickness, thickness),
		b.str(tag.PixelSpacing, dsList(src.PixelSpacing[:]...)...)}
	if evenlySpaced(src.Instances, sp[2]) {
		// Not for a series read across a gap: no one spacing is true.
		measures = append(measures, b.str(tag.SpacingBetweenSlices, ds(sp[2])))
	}
	add(b.seq(tag.SharedFunctionalGroupsSequence, []*dicom.Element{
		b.seq(tag.PlaneOrientationSequence, []*dicom.Element{b.str(tag.ImageOrientationPatient, dsList(o[:]...)...)}),
		b.seq(tag.PixelMeasuresSequence, measures),
	}))
	perFrame := make([][]*dicom.Element, len(frames))
	for n, f := range frames {
		in := src.Instances[f.k]
		perFrame[n] = []*dicom.Element{
			b.seq(tag.DerivationImageSequence, []*dicom.Element{
				b.code(tag.DerivationCodeSequence, Code{"DCM", "113076", "Segmentation"}),
				b.seq(tag.SourceImageSequence, []*dicom.Element{
					b.str(tag.ReferencedSOPClassUID, in.SOPClassUID),
					b.str(tag.ReferencedSOPInstanceUID, in.SOPInstanceUID),
					b.code(tag.PurposeOfReferenceCodeSequence, Code{"DCM", "121322", "Source image for image processing operation"}),
				}),
			}),
			b.seq(tag.FrameContentSequence, []*dicom.Element{b.ints(tag.DimensionIndexValues, f.seg+1, f.k+1)}),
			b.seq(tag.PlanePositionSequence, []*dicom.Element{b.str(tag.ImagePositionPatient, dsList(in.Position[:]...)...)}),
			b.seq(tag.SegmentIdentificationSequence, []*dicom.Element{b.ints(tag.ReferencedSegmentNumber, f.seg+1)}),
		}
	}
	add(b.seq(tag.PerFrameFunctionalGroupsSequence, perFrame...))

	px := b.el(tag.PixelData, dicom.PixelDataInfo{IntentionallyUnprocessed: true, UnprocessedValueData: pixels})
	if px != nil {
		px.RawValueRepresentation = "OB"
	}
	add(px)
	if b.err != nil {
		return Summary{}, b.err
	}
	if !allASCII(es) {
		// Go strings are UTF-8: say so (ISO_IR 192).
		add(b.str(tag.SpecificCharacterSet, "ISO_IR 192"))
	}
	sortDataset(es)
	if err := ctx.Err(); err != nil {
		return Summary{}, err
	}
	if err := dicom.Write(w, dicom.Dataset{Elements: es}); err != nil {
		return Summary{}, err
	}
	return Summary{SOPInstanceUID: sopUID, Segments: segs, Frames: len(frames), Notes: src.Notes()}, nil
}

// evenlySpaced reports whether consecutive slices lie step mm apart,
// within 1%.
func evenlySpaced(in []volume.Instance, step float64) bool {
	for k := 1; k < len(in); k++ {
		if d := dist(in[k].Position, in[k-1].Position); math.Abs(d-step) > 0.01*step {
			return false
		}
	}
	return true
}

// implementationUID identifies polyseg as the writer of a file (PS3.7
// §D.3.3.2), derived as every UID of this package is.
var implementationUID = derivedUID("polyseg implementation class")

func checkSegment(s Segment) error {
	switch s.Algorithm.Type {
	case Manual:
	case Semiautomatic, Automatic:
		if s.Algorithm.Name == "" {
			return fmt.Errorf("segment %q: a %s segment needs an algorithm name", s.Label, s.Algorithm.Type)
		}
	default:
		return fmt.Errorf("segment %q: algorithm type %q is none of MANUAL, SEMIAUTOMATIC, AUTOMATIC", s.Label, s.Algorithm.Type)
	}
	if s.Label == "" {
		return errors.New("a segment needs a label")
	}
	if s.Coding.Category.IsZero() || s.Coding.Type.IsZero() {
		return fmt.Errorf("segment %q: no category or type code", s.Label)
	}
	return nil
}

// clip shortens s to at most n bytes without splitting a character: LO
// values hold 64 characters.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// allASCII reports whether every string value of es, nested ones too, is
// ASCII, the default character repertoire.
func allASCII(es []*dicom.Element) bool {
	for _, e := range es {
		if e == nil || e.Value == nil {
			continue
		}
		switch v := e.Value.GetValue().(type) {
		case []string:
			for _, s := range v {
				for i := 0; i < len(s); i++ {
					if s[i] >= 0x80 {
						return false
					}
				}
			}
		case []*dicom.SequenceItemValue:
			for _, it := range v {
				if !allASCII(it.GetValue().([]*dicom.Element)) {
					return false
				}
			}
		}
	}
	return true
}
