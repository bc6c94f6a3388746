package ui

import (
	"path/filepath"
	"strings"

	"github.com/polyseg/polyseg/volume"
)

// labelFileName reports whether a label export may be named path: NIfTI
// (.nii, .nii.gz) or a 3D Slicer segmentation (.seg.nrrd, and the other
// NRRD names, which are written the same way).
func labelFileName(path string) bool {
	l := strings.ToLower(path)
	return strings.HasSuffix(l, ".nii") || strings.HasSuffix(l, ".nii.gz") || volume.IsNRRDName(path)
}

// scanBaseName is the scan's file name without its format's ending, from
// which the export dialogs propose "<base>_labels.nii.gz" and the like;
// "scan" when there is no scan file.
func scanBaseName(path string) string {
	if path == "" {
		return "scan"
	}
	base := filepath.Base(path)
	l := strings.ToLower(base)
	for _, ext := range []string{".nii.gz", ".nii", ".seg.nrrd", ".nrrd", ".nhdr"} {
		if strings.HasSuffix(l, ext) {
			return base[:len(base)-len(ext)]
		}
	}
	return base
}
