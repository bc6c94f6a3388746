package dicomseg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/internal/realdata"
	"github.com/polyseg/polyseg/volume"
)

const realDir = "../../shared/data/real/totalsegmentator"

// python is Debian's python3, which has pydicom and nibabel when
// scripts/setup.sh ran.
const python = "/usr/bin/python3"

// needPydicom skips the test when pydicom is truly absent, saying so.
func needPydicom(t *testing.T) {
	t.Helper()
	if err := exec.Command(python, "-c", "import pydicom, nibabel").Run(); err != nil {
		t.Skipf("%s cannot import pydicom and nibabel (%v): install python3-pydicom and python3-nibabel (scripts/setup.sh)", python, err)
	}
}

func pydicomCheck(t *testing.T, args ...string) string {
	t.Helper()
	needPydicom(t)
	out, err := exec.Command(python, append([]string{"testdata/pydicom_check.py"}, args...)...).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ok") {
		t.Fatalf("pydicom check %v: %v\n%s", args[0], err, out)
	}
	return strings.TrimSpace(string(out))
}

// automatic describes every value as TotalSegmentator's output, which the
// reference labels of patient B are.
func automatic(uint16) Algorithm { return Algorithm{Type: Automatic, Name: "TotalSegmentator"} }

// patientB is patient B's series, its reference labels (stored LAS,
// brought onto the DICOM grid) and their segmentation, written once.
type patientBFixture struct {
	vol  *volume.Volume
	ref  *volume.Labels
	src  *Source
	path string // the segmentation
	sum  Summary
	err  error
}

var (
	patientBOnce sync.Once
	patientB     patientBFixture
	patientBDir  string
)

func loadPatientB(t testing.TB) *patientBFixture {
	t.Helper()
	if _, err := os.Stat(filepath.Join(realDir, "example_ct_dicom")); err != nil {
		t.Skipf("real data absent: %v", err)
	}
	patientBOnce.Do(func() {
		f := &patientB
		var ctDir string
		f.vol, f.ref, ctDir = realdata.PatientB(t, realDir)
		f.src, f.err = OpenSource(context.Background(), ctDir, volume.DICOMOptions{})
		if f.err != nil {
			return
		}
		patientBDir, f.err = os.MkdirTemp("", "dicomseg-test-")
		if f.err != nil {
			return
		}
		f.path = filepath.Join(patientBDir, "b.dcm")
		segs := Describe(f.ref.Present(), assets.DefaultColorTable(), automatic)
		f.sum, f.err = WriteFile(context.Background(), f.path, f.src, f.ref, WriteOptions{Segments: segs})
	})
	if patientB.err != nil {
		t.Fatal(patientB.err)
	}
	return &patientB
}

func TestMain(m *testing.M) {
	code := m.Run()
	if patientBDir != "" {
		os.RemoveAll(patientBDir)
	}
	os.Exit(code)
}

// TestPatientBRoundTrip writes patient B's labels (stored in another voxel
// order, LAS) as a segmentation of its DICOM series and reads it back onto
// the series: voxel for voxel the same.
func TestPatientBRoundTrip(t *testing.T) {
	b := loadPatientB(t)
	if got, want := len(b.sum.Segments), len(b.ref.Present()); got != want || want < 30 {
		t.Fatalf("%d segments written, want %d (> 30)", got, want)
	}
	if len(b.sum.Notes) != 2 {
		t.Errorf("notes %q: want the two derived UIDs of the anonymised series (study, series)", b.sum.Notes)
	}
	seg, err := ReadFile(b.path)
	if err != nil {
		t.Fatal(err)
	}
	im, err := seg.Place(context.Background(), b.src, PlaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Warnings) != 0 {
		t.Errorf("warnings %q", im.Warnings)
	}
	diff := 0
	for i, v := range b.ref.Data {
		if im.Labels.Data[i] != v {
			diff++
		}
	}
	if diff != 0 {
		t.Fatalf("%d of %d voxels differ after the round trip", diff, len(b.ref.Data))
	}
	for _, s := range im.Segments {
		want, _ := assets.DefaultColorTable().Lookup(s.Value)
		if s.Name != want.Name || s.Info.Algorithm != automatic(0) {
			t.Errorf("segment %d came back as %d %q %+v, want %q", s.Info.Number, s.Value, s.Name, s.Info.Algorithm, want.Name)
		}
		if d := colorDist(s.Color, want.Color); d > 1 {
			t.Errorf("%s: colour %v came back as %v", s.Name, want.Color, s.Color)
		}
	}
}

// TestPatientBIndependent checks the written segmentation with tools that
// share no code with this package: dciodvfy (dicom3tools) validates it
// against the standard, and pydicom reads every frame and compares it with
// the labels.
func TestPatientBIndependent(t *testing.T) {
	b := loadPatientB(t)
	t.Run("dciodvfy", func(t *testing.T) {
		dciodvfy(t, b.path)
	})
	t.Run("pydicom", func(t *testing.T) {
		labels := filepath.Join(t.TempDir(), "labels.nii.gz")
		if err := volume.WriteLabels(labels, b.ref, b.vol); err != nil {
			t.Fatal(err)
		}
		out := pydicomCheck(t, "written", b.path, labels, b.src.Dir, "../assets/colortables/totalsegmentator_v2.txt")
		if want := "ok " + strconv.Itoa(b.sum.Frames) + " frames"; !strings.HasPrefix(out, want) {
			t.Errorf("pydicom: %s; want %s", out, want)
		}
		t.Log(out)
	})
}

// dciodvfyWarnings are the warnings dciodvfy may give a segmentation of
// patient B, and why each is no fault of the writer: the anonymised series
// has an empty PatientID and StudyID, which the segmentation repeats (they
// are type 2: present, possibly empty).
var dciodvfyWarnings = []string{
	"Warning - Missing attribute or value that would be needed to build DICOMDIR - Patient ID",
	"Warning - Missing attribute or value that would be needed to build DICOMDIR - Study ID",
}

func dciodvfy(t *testing.T, path string) {
	t.Helper()
	bin, err := exec.LookPath("dciodvfy")
	if err != nil {
		t.Skip("dciodvfy is absent: install dicom3tools (scripts/setup.sh)")
	}
	out, err := exec.Command(bin, path).CombinedOutput()
	if err != nil {
		t.Errorf("dciodvfy: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "Segmentation" || line == "":
		case strings.HasPrefix(line, "Error"):
			t.Errorf("dciodvfy: %s", line)
		case strings.HasPrefix(line, "Warning"):
			known := false
			for _, w := range dciodvfyWarnings {
				known = known || line == w
			}
			if !known {
				t.Errorf("dciodvfy, a warning not explained: %s", line)
			}
		default:
			t.Errorf("dciodvfy: unexpected line %q", line)
		}
	}
}

// TestForeignSegmentations reads segmentations that other tools made onto
// their series and checks the result against pydicom's reading of the
// same files.
func TestForeignSegmentations(t *testing.T) {
	for _, tc := range []struct {
		name, seg, series string
		allowGaps         bool
		values            map[int]uint16 // segment number -> value
		voxels            int
		warnings          int
	}{
		// highdicom's segmentation of pydicom's CT2 series, whose first
		// slice lies 200 mm from the rest: frames are placed by their
		// source images, not by an even grid.
		{"highdicom", "testdata/highdicom/seg_image_ct_binary.dcm", "testdata/pydicom-ct2", true, map[int]uint16{1: 118}, -1, 0},
		// Two overlapping segments: the smaller wins.
		{"highdicom overlap", "testdata/highdicom/seg_image_ct_binary_overlap.dcm", "testdata/pydicom-ct2", true, map[int]uint16{1: 118, 2: 119}, -1, 1},
		// dcmqi's "Liver" (old SRT codes) is the colour table's liver.
		{"dcmqi", "testdata/dcmqi-23x38x3/seg/label.seg", "testdata/dcmqi-23x38x3/image", false, map[int]uint16{1: 5}, -1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := OpenSource(context.Background(), tc.series, volume.DICOMOptions{AllowGaps: tc.allowGaps})
			if err != nil {
				t.Fatal(err)
			}
			seg, err := ReadFile(tc.seg)
			if err != nil {
				t.Fatal(err)
			}
			im, err := seg.Place(context.Background(), src, PlaceOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(im.Warnings) != tc.warnings {
				t.Errorf("warnings %q, want %d", im.Warnings, tc.warnings)
			}
			mapping := map[string]uint16{}
			for _, s := range im.Segments {
				if want := tc.values[s.Info.Number]; s.Value != want {
					t.Errorf("segment %d %q got value %d, want %d", s.Info.Number, s.Info.Label, s.Value, want)
				}
				if s.Voxels == 0 {
					t.Errorf("segment %d is empty", s.Info.Number)
				}
				mapping[strconv.Itoa(s.Info.Number)] = s.Value
			}
			dir := t.TempDir()
			out := filepath.Join(dir, "out.nii.gz")
			ref := &volume.Volume{Grid: src.Grid, Meta: volume.NIfTIMeta{SformCode: 1, Sform: src.Grid.Affine}}
			if err := volume.WriteLabels(out, im.Labels, ref); err != nil {
				t.Fatal(err)
			}
			mj := filepath.Join(dir, "mapping.json")
			b, _ := json.Marshal(mapping)
			if err := os.WriteFile(mj, b, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Log(pydicomCheck(t, "imported", tc.seg, tc.series, out, mj))
		})
	}
}

// TestDcmqiAgainstItsSource compares dcmqi's segmentation, read onto its
// series, with the label map dcmqi made it from (gzip NRRD, same grid):
// 874 pixels a frame, so frames do not start on a byte.
func TestDcmqiAgainstItsSource(t *testing.T) {
	src, err := OpenSource(context.Background(), "testdata/dcmqi-23x38x3/image", volume.DICOMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seg, err := ReadFile("testdata/dcmqi-23x38x3/seg/label.seg")
	if err != nil {
		t.Fatal(err)
	}
	im, err := seg.Place(context.Background(), src, PlaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := readNRRD(t, "testdata/dcmqi-23x38x3/nrrd/label.nrrd", src.Grid.Len())
	n := 0
	for i, v := range want {
		if (v != 0) != (im.Labels.Data[i] == 5) {
			t.Fatalf("voxel %d: NRRD %d, imported %d", i, v, im.Labels.Data[i])
		}
		if v != 0 {
			n++
		}
	}
	if n == 0 {
		t.Fatal("the NRRD label map is empty")
	}
}

// readNRRD reads the gzip-encoded int16 NRRD of the dcmqi fixture: a text
// header, a blank line, the data.
func readNRRD(t *testing.T, path string, voxels int) []int16 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	hdr, body, ok := bytes.Cut(b, []byte("\n\n"))
	if !ok || !bytes.Contains(hdr, []byte("encoding: gzip")) || !bytes.Contains(hdr, []byte("type: short")) {
		t.Fatalf("%s: not the gzip int16 NRRD expected", path)
	}
	raw := gunzip(t, body)
	if len(raw) != 2*voxels {
		t.Fatalf("%s: %d bytes of data, want %d", path, len(raw), 2*voxels)
	}
	out := make([]int16, voxels)
	for i := range out {
		out[i] = int16(uint16(raw[2*i]) | uint16(raw[2*i+1])<<8)
	}
	return out
}

// TestRefusals: bad input is refused with its cause named, and nothing is
// returned.
func TestRefusals(t *testing.T) {
	ct2, err := OpenSource(context.Background(), "testdata/pydicom-ct2", volume.DICOMOptions{AllowGaps: true})
	if err != nil {
		t.Fatal(err)
	}
	small := writeCT2(t, ct2)
	smallBytes, err := os.ReadFile(small)
	if err != nil {
		t.Fatal(err)
	}
	// A series without its first slice: frames on it match nothing.
	short := *ct2
	short.Instances = ct2.Instances[1:]
	short.Grid.Dims[2]--
	short.Grid.Affine[0][3], short.Grid.Affine[1][3], short.Grid.Affine[2][3] = ct2.Grid.Affine.Apply(0, 0, 1)

	for _, tc := range []struct {
		name    string
		seg     string // a file, or "" for the bytes
		bytes   []byte
		src     *Source
		is      error
		message string
	}{
		{"fractional", "testdata/highdicom/seg_image_ct_true_fractional.dcm", nil, ct2, ErrUnsupported, "FRACTIONAL"},
		{"label map", "testdata/dcmqi/sparse-labelmap-noppv.dcm", nil, nil, ErrUnsupported, "label map"},
		{"a CT slice", "testdata/pydicom-ct2/17106", nil, nil, ErrUnsupported, "not a segmentation but CT Image Storage"},
		{"not DICOM", "testdata/README.md", nil, nil, nil, "not a DICOM file"},
		{"another series", "testdata/dcmqi-23x38x3/seg/label.seg", nil, ct2, errNotSource, "is of series 1.2.826.0.1.3680043.2.1125.1.31406211013692525450623069050794718"},
		{"frames that match no slice", small, nil, &short, errNotSource, "frame 2 (segment 2) matches no slice"},
		{"cut in the pixel data", "", smallBytes[:len(smallBytes)-40], ct2, nil, "cut short"},
		{"cut inside an element", "", smallBytes[:1000], ct2, nil, "cut short"},
		{"cut between elements", "", smallBytes[:400], ct2, ErrFormat, "no pixel data (the file is cut short?)"},
		{"cut in the file meta", "", smallBytes[:200], ct2, nil, "cut short"},
		{"empty", "", []byte{}, ct2, nil, "not a DICOM file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var seg *SEG
			var err error
			if tc.seg != "" {
				seg, err = ReadFile(tc.seg)
			} else {
				seg, err = Parse("cut.dcm", tc.bytes)
			}
			var im *Imported
			if err == nil && tc.src != nil {
				im, err = seg.Place(context.Background(), tc.src, PlaceOptions{})
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if im != nil {
				t.Error("refused, yet returned labels")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not say %q", err, tc.message)
			}
			name := tc.seg
			if name == "" {
				name = "cut.dcm"
			}
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error %q does not name the file %s", err, name)
			}
		})
	}
}

// writeCT2 writes a two-segment segmentation of the pydicom CT2 series.
func writeCT2(t *testing.T, src *Source) string {
	t.Helper()
	l := volume.NewLabels(src.Grid)
	for k := 0; k < 4; k++ {
		for j := 2; j < 9; j++ {
			for i := 3; i < 7+k; i++ {
				l.Data[src.Grid.Index(i, j, k)] = 5
			}
		}
	}
	l.Data[src.Grid.Index(12, 12, 2)] = 1
	path := filepath.Join(t.TempDir(), "ct2.dcm")
	segs := Describe(l.Present(), assets.DefaultColorTable(), func(uint16) Algorithm { return Algorithm{Type: Manual} })
	if _, err := WriteFile(context.Background(), path, src, l, WriteOptions{Segments: segs}); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSmallSeriesIndependent: a segmentation of pydicom's CT2 series, whose
// UIDs are all there, passes dciodvfy and pydicom, and reads back.
func TestSmallSeriesIndependent(t *testing.T) {
	src, err := OpenSource(context.Background(), "testdata/pydicom-ct2", volume.DICOMOptions{AllowGaps: true})
	if err != nil {
		t.Fatal(err)
	}
	path := writeCT2(t, src)
	dciodvfy(t, path)
	seg, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if seg.StudyUID != "1.3.6.1.4.1.5962.1.1.0.0.0.1196530851.28319.0.1" || seg.Referenced[0].SeriesUID != src.SeriesUID || seg.FrameOfReferenceUID != src.FrameOfReferenceUID {
		t.Errorf("study %s, series %v, frame of reference %s: not the source's", seg.StudyUID, seg.Referenced, seg.FrameOfReferenceUID)
	}
	if len(seg.Frames) != 5 { // liver on 4 slices, spleen on 1
		t.Errorf("%d frames, want 5", len(seg.Frames))
	}
	im, err := seg.Place(context.Background(), src, PlaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if im.Segments[0].Info.Algorithm.Type != Manual || im.Segments[1].Value != 5 {
		t.Errorf("segments %+v", im.Segments)
	}
}

func TestWriteRefusals(t *testing.T) {
	src, err := OpenSource(context.Background(), "testdata/pydicom-ct2", volume.DICOMOptions{AllowGaps: true})
	if err != nil {
		t.Fatal(err)
	}
	full := volume.NewLabels(src.Grid)
	full.Data[0], full.Data[1] = 5, 7
	other := volume.NewLabels(volume.Grid{Dims: [3]int{8, 8, 4}, Affine: src.Grid.Affine})
	liverOnly := []Segment{{Value: 5, Label: "liver", Algorithm: Algorithm{Type: Manual}, Coding: CodingFor("liver")}}
	for _, tc := range []struct {
		name    string
		l       *volume.Labels
		segs    []Segment
		message string
	}{
		{"empty", volume.NewLabels(src.Grid), nil, "empty"},
		{"another grid", other, nil, "not on the series' grid"},
		{"undescribed label", full, liverOnly, "label 7 is in the labels but has no segment description"},
		{"no algorithm name", full, []Segment{liverOnly[0], {Value: 7, Label: "pancreas", Algorithm: Algorithm{Type: Automatic}, Coding: CodingFor("pancreas")}}, "needs an algorithm name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.dcm")
			_, err := WriteFile(context.Background(), path, src, tc.l, WriteOptions{Segments: tc.segs})
			if err == nil || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("error %v, want one saying %q", err, tc.message)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused write left %s", path)
			}
		})
	}
}

// TestDcmqiLiverParses: a 512×512 segmentation by dcmqi, whose series is
// not in the fixtures, parses with the segment and frames pydicom sees.
func TestDcmqiLiverParses(t *testing.T) {
	seg, err := ReadFile("testdata/dcmqi/liver.dcm")
	if err != nil {
		t.Fatal(err)
	}
	if len(seg.Segments) != 1 || seg.Segments[0].Label != "Liver" || seg.Segments[0].Algorithm != (Algorithm{Semiautomatic, "SlicerEditor"}) || len(seg.Frames) != 3 {
		t.Fatalf("segments %+v, %d frames", seg.Segments, len(seg.Frames))
	}
	var counts []string
	for n := range seg.Frames {
		counts = append(counts, strconv.Itoa(seg.FrameCount(n)))
	}
	needPydicom(t)
	out, err := exec.Command(python, "-c", `import pydicom,sys
d=pydicom.dcmread(sys.argv[1]); print(" ".join(str(int(f.sum())) for f in d.pixel_array))`, "testdata/dcmqi/liver.dcm").CombinedOutput()
	if err != nil {
		t.Fatalf("pydicom: %v\n%s", err, out)
	}
	if got, want := strings.Join(counts, " "), strings.TrimSpace(string(out)); got != want {
		t.Errorf("pixels per frame %s, pydicom counts %s", got, want)
	}
}
