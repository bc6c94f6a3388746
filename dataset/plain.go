package dataset

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/polyseg/polyseg/volume"
)

// labelSuffixes mark a plain folder's label files: scan.nii.gz has its
// labels in scan_seg.nii.gz (or _labels, ...). polyseg phantom writes
// _labels; _seg and _mask are what other tools write.
var labelSuffixes = []string{"_labels", "_label", "_seg", "_segmentation", "_mask"}

// scanPlain lists a plain folder's cases: its NIfTI files, the DICOM
// series in it and in the folders directly below it (hidden folders and
// those of a dataset layout left out), with the label files named after
// them.
func (d *Dataset) scanPlain(ctx context.Context) error {
	entries, err := os.ReadDir(d.Dir)
	if err != nil {
		return fmt.Errorf("open dataset %s: %w", d.Dir, pathCause(err))
	}
	nifti := map[string]string{} // stem -> file name
	var stems []string
	var dicomDirs []string
	looseFiles := false
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		full := d.path(name)
		if st, err := os.Stat(full); err == nil && st.IsDir() {
			switch name {
			case StateDir, ImagesDir, LabelsDir, "imagesTs", "labelsTs":
				continue
			}
			dicomDirs = append(dicomDirs, name)
			continue
		}
		if stem := trimNIfTI(name); stem != name {
			nifti[stem] = name
			stems = append(stems, stem)
			continue
		}
		looseFiles = true
	}
	// A label file is named after its case; a name that only looks like
	// one (liver_mask.nii.gz with no liver.nii.gz) is a case of its own.
	labelOf := func(stem string) string {
		for _, s := range labelSuffixes {
			if f, ok := nifti[stem+s]; ok {
				return d.path(f)
			}
		}
		return ""
	}
	isLabel := map[string]bool{}
	for _, stem := range stems {
		for _, s := range labelSuffixes {
			base, ok := strings.CutSuffix(stem, s)
			if !ok {
				continue
			}
			if _, scan := nifti[base]; scan || slices.Contains(dicomDirs, base) {
				isLabel[stem] = true
			}
		}
	}
	for _, stem := range stems {
		if isLabel[stem] {
			continue
		}
		c := Case{ID: stem, Images: []string{d.path(nifti[stem])}, Label: labelOf(stem)}
		c.Labeled = c.Label != ""
		d.Cases = append(d.Cases, c)
	}
	addSeries := func(dir, id string) error {
		scan, err := volume.ScanDICOM(ctx, dir)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			d.issues = append(d.issues, Problem{File: d.rel(dir), What: err.Error(), Note: true})
			return nil
		}
		for i := range scan.Series {
			c := Case{ID: id, Images: []string{dir}, Label: labelOf(id)}
			if len(scan.Series) > 1 {
				c.ID = id + "_" + strconv.Itoa(i+1)
				c.Series = volume.DICOMOptions{SeriesIndex: i + 1}
				c.Label = labelOf(c.ID)
			}
			c.Labeled = c.Label != ""
			d.Cases = append(d.Cases, c)
		}
		return nil
	}
	if looseFiles {
		if err := addSeries(d.Dir, "series"); err != nil {
			return err
		}
	}
	for _, name := range dicomDirs {
		if err := addSeries(d.path(name), name); err != nil {
			return err
		}
	}
	sortCases(d.Cases)
	return nil
}

// idChars are the characters of the case IDs polyseg makes: letters,
// digits, _ and -. They make safe file names on every system, and leave
// out the dot, which would blur where the file ending starts.
var idChars = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// maxIDLength bounds a case ID: with the channel suffix and ending, file
// names stay far under every file system's limit.
const maxIDLength = 100

// ValidID returns nil when id can name a new case: 1 to 100 letters,
// digits, _ or -.
func ValidID(id string) error {
	if len(id) > maxIDLength || !idChars.MatchString(id) {
		return fmt.Errorf("case ID %q: want 1 to %d letters, digits, _ or -", id, maxIDLength)
	}
	return nil
}

// MakeID turns a file or folder name into a valid case ID: the NIfTI
// ending dropped, every other character replaced by _.
func MakeID(name string) string {
	name = trimNIfTI(filepath.Base(filepath.Clean(name)))
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	id := strings.Trim(string(b), "_")
	if len(id) > maxIDLength {
		id = id[:maxIDLength]
	}
	if id == "" {
		id = "case"
	}
	return id
}
