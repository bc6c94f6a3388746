package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/polyseg/polyseg/dicomseg"
	"github.com/polyseg/polyseg/volume"
)

// Open starts a job that reads a scan (a NIfTI file or a DICOM folder) and
// makes it the session's, replacing the open one only once it was read
// whole. The job's error names the file.
func (s *Session) Open(path string, opts volume.OpenOptions) *Job {
	return s.Load("Open "+filepath.Base(path), path, func(ctx context.Context, p Progress) (*volume.Volume, *volume.Labels, error) {
		p.Report(-1, "reading "+filepath.Base(path))
		v, err := s.opts.Open(ctx, path, opts)
		return v, nil, err
	})
}

// LoadFunc makes a scan and, optionally (nil otherwise), its labels on the
// scan's grid.
type LoadFunc func(ctx context.Context, p Progress) (*volume.Volume, *volume.Labels, error)

// Load starts a job named name that makes a scan with load (reads it,
// generates it) and makes it the session's, with load's labels as the
// starting point: they are not an undo step. path is where the scan came
// from, "" for one that is not in a file.
func (s *Session) Load(name, path string, load LoadFunc) *Job {
	return s.RunJob(name, func(ctx context.Context, p Progress) error {
		v, l, err := load(ctx, p)
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		p.Report(-1, "checking")
		return s.setVolume(v, l, path)
	})
}

// LoadLabels reads a label volume (resampled onto the scan's grid when it
// lies on another; a DICOM SEG is read onto the series it segments) and
// makes it the session's labels, as one undo step; the names and colours
// the file gives (a .seg.nrrd's segments, a DICOM SEG's, a colour table
// beside a NIfTI file) go into the colour table. It
// returns the reader's warnings. The labels are in a file already: there
// is nothing to autosave until they are edited.
func (s *Session) LoadLabels(path string) ([]string, error) {
	s.mu.RLock()
	v := s.vol
	s.mu.RUnlock()
	if v == nil {
		return nil, fmt.Errorf("load labels %s: %w", path, ErrNoVolume)
	}
	if dicomseg.LooksLikeDICOM(path) {
		return s.loadSEG(path)
	}
	l, warnings, err := s.opts.LoadLabels(path, v.Grid)
	if err != nil {
		return nil, err
	}
	if _, err := s.replaceLabels("Load "+filepath.Base(path), l, true, &Provenance{Tool: "load", Source: path}); err != nil {
		return nil, fmt.Errorf("load labels %s: %w", path, err)
	}
	s.applySegments(l.Segments)
	return warnings, nil
}

// ExportLabels writes the label volume to path, on the scan's grid, in the
// format its name says (volume.WriteLabels): NIfTI with the scan's qform
// and sform and a colour table beside it, or a 3D Slicer segmentation
// (.seg.nrrd, .nrrd); the segment list's names and colours go with it.
// Once written, the autosave is no longer needed and is removed.
func (s *Session) ExportLabels(path string) error {
	s.mu.RLock()
	if s.vol == nil {
		s.mu.RUnlock()
		return fmt.Errorf("export labels %s: %w", path, ErrNoVolume)
	}
	v, scan := s.vol, s.path
	gen := s.edits
	// A copy, so that edits can go on while the file is written.
	l := &volume.Labels{Grid: s.layer.Labels.Grid, Data: append([]uint16(nil), s.layer.Labels.Data...),
		Segments: s.segmentsLocked()}
	entries, pscan := s.prov.snapshot(), s.provenanceScan()
	s.mu.RUnlock()

	// A label volume written over the scan would replace the scan.
	if scan != "" && sameFile(path, scan) {
		return fmt.Errorf("export labels %s: that is the open scan; choose another name", path)
	}
	if err := s.opts.WriteLabels(path, l, v); err != nil {
		return err
	}
	// The sidecar follows the labels: written first, it could describe a
	// file that then failed to be written.
	if err := writeProvenance(path, pscan, entries, 0o644); err != nil {
		return fmt.Errorf("export labels %s: %w", path, err)
	}
	s.mu.Lock()
	clean := s.edits == gen && s.vol == v
	if clean {
		s.dirty = false
	}
	s.mu.Unlock()
	if clean {
		return s.DiscardAutosave()
	}
	return nil
}

// sameFile reports whether a and b name one existing file.
func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}
