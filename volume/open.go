package volume

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// OpenOptions tunes Open. The zero value opens a folder's only series.
type OpenOptions struct {
	DICOM DICOMOptions
}

// Open reads a CT volume from path, whatever its kind:
//
//   - a folder: the DICOM series in it (ReadDICOM; opt.DICOM chooses one);
//   - a file named .nii or .nii.gz: NIfTI (ReadNIfTI);
//   - a file named .nrrd or .nhdr: NRRD (ReadNRRD; a Slicer .seg.nrrd
//     opens as a volume of its label values);
//   - a DICOM file (any name): the series it belongs to, read from its
//     folder, since one slice alone is rarely what a user means. A series
//     choice in opt.DICOM must then agree with the file's series.
//
// Anything else is an error naming the file.
func Open(ctx context.Context, path string, opt OpenOptions) (*Volume, error) {
	st, err := os.Stat(path)
	if err != nil {
		// The path is named once: drop the one inside *fs.PathError.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if st.IsDir() {
		return ReadDICOM(ctx, path, opt.DICOM)
	}
	lower := strings.ToLower(path)
	if strings.HasSuffix(lower, ".nii") || strings.HasSuffix(lower, ".nii.gz") {
		return ReadNIfTI(path)
	}
	if IsNRRDName(path) {
		return ReadNRRDContext(ctx, path)
	}
	if !isDICOMFile(path) {
		return nil, fmt.Errorf("open %s: not a NIfTI file (.nii, .nii.gz), a NRRD file (.nrrd, .nhdr), a DICOM file or a folder of DICOM files", path)
	}
	return openDICOMFile(ctx, path, opt.DICOM)
}

// openDICOMFile reads the series that the DICOM file at path belongs to.
func openDICOMFile(ctx context.Context, path string, opt DICOMOptions) (*Volume, error) {
	f, err := readDICOMFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if !f.hasPixels {
		return nil, fmt.Errorf("open %s: a DICOM file without an image", path)
	}
	scan, err := ScanDICOM(ctx, filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	for i, se := range scan.Series {
		for _, p := range se.Paths {
			if pa, err := filepath.Abs(p); err != nil || pa != abs {
				continue
			}
			if (opt.SeriesUID != "" && opt.SeriesUID != se.UID) || (opt.SeriesIndex != 0 && opt.SeriesIndex != i+1) {
				return nil, fmt.Errorf("open %s: the file belongs to series [%d] %s, not to the series chosen", path, i+1, se.UID)
			}
			return scan.readWithNotes(ctx, se, opt.AllowGaps)
		}
	}
	// The file changed between the two reads.
	return nil, fmt.Errorf("open %s: the file is not in its folder's scan", path)
}

// isDICOMFile reports whether path starts like a DICOM Part 10 file: a
// 128-byte preamble and "DICM".
func isDICOMFile(path string) bool {
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
