// Package dicomseg writes and reads binary DICOM Segmentation objects (SEG,
// PS3.3 §A.51 and §C.8.20:
// https://dicom.nema.org/medical/dicom/current/output/html/part03.html#sect_A.51)
// for scans that came from a DICOM series.
//
// # Writing
//
// Write turns a label volume on a series' grid (Source) into one BINARY
// segmentation: one segment per label value present, numbered 1, 2... in
// increasing order of value, each with its name (SegmentLabel), colour
// (RecommendedDisplayCIELabValue, converted from sRGB as dcmqi does), SNOMED
// CT category and type (TotalSegmentator's mapping, NOTICE.md; "Tissue" for
// names it does not know) and algorithm (type and name, which the caller
// decides: package app maps its provenance record). Frames are ordered
// segment by segment, slice by slice, and only the slices a segment
// touches get a frame, as dcmqi writes them. Each frame names its source
// slice (DerivationImageSequence) and position (PlanePositionSequence);
// the dimensions are the segment number and the position. Pixels are 1 bit,
// packed without breaks between frames (PS3.5 §8.1.1). Elements are sorted
// by tag at every level before dicom.Write, which writes them as given.
//
// A series whose Study or Series Instance UID (or Frame of Reference UID)
// an anonymiser blanked gets a UID derived from its SOP Instance UIDs
// (2.25 and a hash): the same series gets the same UID every time, so that
// Place recognises its segmentation, and Summary.Notes says so.
//
// # Reading
//
// Parse checks a segmentation on its own: a BINARY segmentation of
// uncompressed frames, segments numbered once each, every frame of a
// described segment, pixel data long enough for every frame. FRACTIONAL
// segmentations and label maps are refused (ErrUnsupported), naming what
// they are. Place then brings it onto its series voxel for voxel, each
// frame onto the slice its source image names, else onto the slice at its
// plane position (within a tenth of the slice spacing), and refuses a
// segmentation of another series, frames of another size, orientation or
// spacing, and frames that match no slice; nothing is returned then.
// Overlapping segments are resolved in favour of the smaller (a lesion in an
// organ survives), with a warning. Segments named (or coded) as a label of
// the colour table get its value; others get new values above it.
//
// # Security considerations
//
// A segmentation is untrusted input. Files are parsed by
// volume.ParseDICOMDataset, which checks every element length against the
// file before github.com/suyashkumar/dicom allocates it and turns the
// library's panics into errors; Rows × Columns × NumberOfFrames passes
// volume.CheckDims, and the pixel data must hold every frame before a bit
// is read. Place allocates only the series' grid, whatever the file says.
package dicomseg
