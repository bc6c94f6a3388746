package dicomseg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/polyseg/polyseg/volume"
)

// Source is the DICOM series a segmentation belongs to: its grid, the
// file of each slice, and the identifiers a segmentation refers to it by.
type Source struct {
	volume.SeriesLayout
	Dir string
	// Chosen reads the same series from Dir with volume.ReadDICOM.
	Chosen volume.DICOMOptions
	// StudyUID and SeriesUID are the series' StudyInstanceUID and
	// SeriesInstanceUID, or, where an anonymiser blanked them, UIDs
	// derived from the series' SOP Instance UIDs (DerivedStudy and
	// DerivedSeries say so): the same series always gets the same ones,
	// so a segmentation written for it is recognised when read back.
	StudyUID, SeriesUID         string
	DerivedStudy, DerivedSeries bool
	// FrameOfReferenceUID is the series' (derived likewise when blank).
	FrameOfReferenceUID string
	DerivedFrame        bool

	// header is the first slice's header: the patient and study
	// attributes a segmentation repeats come from it.
	header *dicom.Dataset
}

// OpenSource reads the headers of the series that opt chooses in the
// DICOM folder dir (a DICOM file names its folder).
func OpenSource(ctx context.Context, dir string, opt volume.DICOMOptions) (*Source, error) {
	dir = folderOf(dir)
	scan, err := volume.ScanDICOM(ctx, dir)
	if err != nil {
		return nil, err
	}
	l, err := scan.Layout(opt)
	if errors.Is(err, volume.ErrSeveralSeries) {
		// A segmentation written into its series' folder is a series of
		// its own there; it is never the one meant.
		images := 0
		for i, se := range scan.Series {
			if se.Modality != "SEG" {
				images++
				opt.SeriesIndex = i + 1
			}
		}
		if images == 1 {
			l, err = scan.Layout(opt)
		}
	}
	if err != nil {
		return nil, err
	}
	src, err := newSource(dir, l)
	if err != nil {
		return nil, err
	}
	src.Chosen = opt
	return src, nil
}

// FindSource returns the series of the DICOM folder dir (or the folder of
// the DICOM file dir) that lies on grid g: the scan an app opened from
// that folder, found again without knowing which series was chosen.
func FindSource(ctx context.Context, dir string, g volume.Grid) (*Source, error) {
	dir = folderOf(dir)
	scan, err := volume.ScanDICOM(ctx, dir)
	if err != nil {
		return nil, err
	}
	var found []volume.SeriesLayout
	var opt volume.DICOMOptions
	for i := range scan.Series {
		o := volume.DICOMOptions{SeriesIndex: i + 1, AllowGaps: true}
		l, err := scan.Layout(o)
		if err == nil && l.Grid.Equal(g, gridTol) {
			found, opt = append(found, l), o
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("DICOM folder %s: no series lies on the scan's grid (%v voxels): was the scan opened from this folder?", dir, g.Dims)
	case 1:
		src, err := newSource(dir, found[0])
		if err != nil {
			return nil, err
		}
		src.Chosen = opt
		return src, nil
	}
	return nil, fmt.Errorf("DICOM folder %s: %d series lie on the scan's grid; choose one with --series on the command line", dir, len(found))
}

// gridTol is how far, in mm per affine entry, two grids may differ and
// still be one: DICOM positions are decimal strings of a few digits.
const gridTol = 1e-3

func folderOf(path string) string {
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		return filepath.Dir(path)
	}
	return path
}

func newSource(dir string, l volume.SeriesLayout) (*Source, error) {
	if len(l.Instances) == 0 {
		return nil, fmt.Errorf("DICOM folder %s: the series has no slices", dir)
	}
	var sops []string
	for _, in := range l.Instances {
		if in.SOPInstanceUID == "" {
			return nil, fmt.Errorf("%s: no SOP Instance UID, in the dataset or the file meta: a segmentation cannot refer to the slice", in.Path)
		}
		if in.SOPClassUID == "" {
			return nil, fmt.Errorf("%s: no SOP Class UID, in the dataset or the file meta", in.Path)
		}
		sops = append(sops, in.SOPInstanceUID)
	}
	hdr, err := volume.ReadDICOMHeader(l.Instances[0].Path)
	if err != nil {
		return nil, err
	}
	s := &Source{SeriesLayout: l, Dir: dir, header: hdr}
	slices.Sort(sops)
	key := strings.Join(sops, "\\")
	s.SeriesUID = l.Series.UID
	if s.SeriesUID == "" {
		s.SeriesUID, s.DerivedSeries = derivedUID("polyseg series", key), true
	}
	s.StudyUID = l.Series.StudyUID
	if s.StudyUID == "" {
		s.StudyUID, s.DerivedStudy = derivedUID("polyseg study", key), true
	}
	s.FrameOfReferenceUID = l.FrameOfReferenceUID
	if s.FrameOfReferenceUID == "" {
		s.FrameOfReferenceUID, s.DerivedFrame = derivedUID("polyseg frame of reference", key), true
	}
	return s, nil
}

// Notes says what a user should know about the references a segmentation
// of this series carries: the UIDs that had to be derived.
func (s *Source) Notes() []string {
	var n []string
	for _, d := range []struct {
		derived bool
		what    string
	}{{s.DerivedStudy, "StudyInstanceUID"}, {s.DerivedSeries, "SeriesInstanceUID"}, {s.DerivedFrame, "FrameOfReferenceUID"}} {
		if d.derived {
			n = append(n, fmt.Sprintf("the series has no %s (anonymised?): the segmentation refers to it by one derived from its SOP Instance UIDs, which other tools will not know", d.what))
		}
	}
	return n
}

// slice returns the slice index of the instance with SOP Instance UID uid.
func (s *Source) slice(uid string) (int, bool) {
	for k, in := range s.Instances {
		if in.SOPInstanceUID == uid {
			return k, true
		}
	}
	return 0, false
}

// headerStr returns a string attribute of the series' first slice.
func (s *Source) headerStr(t tag.Tag) string {
	if s.header == nil {
		return ""
	}
	return str1(s.header.Elements, t)
}

// errNotSource marks a segmentation that is not of the series given.
var errNotSource = errors.New("the segmentation is not of this series")
