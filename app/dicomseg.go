package app

// DICOM Segmentation export and import for a scan opened from a DICOM
// series (package dicomseg does the format).

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/polyseg/polyseg/dicomseg"
	"github.com/polyseg/polyseg/volume"
)

// ScanIsDICOM reports whether the open scan was read from a DICOM series
// (a folder, or a file of the series), so that its labels can be exported
// as a DICOM SEG that refers to it.
func (s *Session) ScanIsDICOM() bool {
	s.mu.RLock()
	v, path := s.vol, s.path
	s.mu.RUnlock()
	return v != nil && isDICOMPath(path)
}

func isDICOMPath(path string) bool {
	if path == "" {
		return false
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return true
	}
	return dicomseg.LooksLikeDICOM(path)
}

// ExportSEG writes the label volume to path as a DICOM Segmentation of the
// series the scan was opened from (found again in its folder by its grid),
// atomically, with the provenance sidecar every export gets. Each
// segment's algorithm comes from the provenance record (SegmentAlgorithms).
func (s *Session) ExportSEG(ctx context.Context, path string) (dicomseg.Summary, error) {
	s.mu.RLock()
	if s.vol == nil {
		s.mu.RUnlock()
		return dicomseg.Summary{}, fmt.Errorf("export DICOM SEG %s: %w", path, ErrNoVolume)
	}
	v, scan := s.vol, s.path
	l := &volume.Labels{Grid: s.layer.Labels.Grid, Data: append([]uint16(nil), s.layer.Labels.Data...)}
	table := cloneTable(s.layer.Table)
	entries, pscan := s.prov.snapshot(), s.provenanceScan()
	s.mu.RUnlock()

	if !isDICOMPath(scan) {
		return dicomseg.Summary{}, fmt.Errorf("export DICOM SEG %s: the scan was not opened from a DICOM series (it is %s): a segmentation must refer to the DICOM images it segments", path, scan)
	}
	if sameFile(path, scan) {
		return dicomseg.Summary{}, fmt.Errorf("export DICOM SEG %s: that is the open scan; choose another name", path)
	}
	src, err := dicomseg.FindSource(ctx, scan, v.Grid)
	if err != nil {
		return dicomseg.Summary{}, fmt.Errorf("export DICOM SEG %s: %w", path, err)
	}
	segs := dicomseg.Describe(l.Present(), table, SegmentAlgorithms(entries))
	sum, err := dicomseg.WriteFile(ctx, path, src, l, dicomseg.WriteOptions{Segments: segs, Software: programVersion()})
	if err != nil {
		return dicomseg.Summary{}, err
	}
	if err := writeProvenance(path, pscan, entries, 0o644); err != nil {
		return sum, fmt.Errorf("export DICOM SEG %s: %w", path, err)
	}
	return sum, nil
}

// loadSEG reads a DICOM Segmentation onto the open scan, which must have
// been opened from the series it segments, and makes it the session's
// labels (one undo step), with its segments' names and colours.
func (s *Session) loadSEG(path string) ([]string, error) {
	s.mu.RLock()
	v, scan, table := s.vol, s.path, s.layer.Table
	s.mu.RUnlock()
	if v == nil {
		return nil, fmt.Errorf("load labels %s: %w", path, ErrNoVolume)
	}
	seg, err := dicomseg.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !isDICOMPath(scan) {
		return nil, fmt.Errorf("load labels %s: a DICOM SEG is read onto the DICOM series it segments, and the open scan (%s) is not one", path, scan)
	}
	src, err := dicomseg.FindSource(s.ctx, scan, v.Grid)
	if err != nil {
		return nil, fmt.Errorf("load labels %s: %w", path, err)
	}
	im, err := seg.Place(s.ctx, src, dicomseg.PlaceOptions{Table: table})
	if err != nil {
		return nil, err
	}
	algorithms := map[string]any{}
	for _, is := range im.Segments {
		algorithms[strconv.Itoa(int(is.Value))] = is.Info.Algorithm.Type + ":" + is.Info.Algorithm.Name
	}
	p := &Provenance{Tool: "load", Source: path, Options: map[string]any{"format": "DICOM SEG", segAlgorithmsKey: algorithms}}
	if _, err := s.replaceLabels("Load "+filepath.Base(path), im.Labels, true, p); err != nil {
		return nil, fmt.Errorf("load labels %s: %w", path, err)
	}
	for _, is := range im.Segments {
		if err := s.SetSegment(is.Value, is.Name, is.Color); err != nil {
			return nil, fmt.Errorf("load labels %s: %w", path, err)
		}
	}
	return im.Warnings, nil
}

// segAlgorithmsKey names, in a "load" record's options, the algorithm of
// each value a DICOM SEG said (value -> "TYPE:NAME"), so that a segmentation
// read and written again keeps what made it.
const segAlgorithmsKey = "dicom_seg_algorithms"

// SegmentAlgorithms decides, from a provenance record (oldest first), how
// each label value was made, for a DICOM SEG's SegmentAlgorithmType and
// SegmentAlgorithmName (PS3.3 §C.8.20.2.3: MANUAL a person drew it,
// SEMIAUTOMATIC computed with a person's help, AUTOMATIC computed alone):
//
//   - brush, polygon (and the eraser, which adds to no segment): MANUAL;
//   - threshold brush, flood fill, and the other tools that compute voxels
//     from a person's gesture (fill between slices): SEMIAUTOMATIC, named
//     "polyseg" and the tool;
//   - SAM box, SAM refine, propagation (a person's box, slice or anchors
//     prompt the model): SEMIAUTOMATIC, named by the models that ran;
//   - segment (the U-Net over the whole scan, no prompt): AUTOMATIC, named
//     by the model;
//   - a label file loaded replaces every value's history: a DICOM SEG's
//     own algorithms are kept; anything else is of unknown origin.
//
// Undone edits do not count; a renumbered segment keeps its history. A
// value made in several ways is SEMIAUTOMATIC, unless all were MANUAL or
// all AUTOMATIC. Unknown origin counts as MANUAL, as 3D Slicer's
// exporter marks segments it knows nothing of.
func SegmentAlgorithms(entries []ProvenanceEntry) func(v uint16) dicomseg.Algorithm {
	h := algorithmHistory{}
	h.replay(entries)
	return h.algorithm
}

type madeBy struct {
	kind string // dicomseg.Manual, Semiautomatic or Automatic
	name string
}

type algorithmHistory map[uint16][]madeBy

func (h algorithmHistory) replay(entries []ProvenanceEntry) {
	for _, e := range entries {
		if e.Undone {
			continue
		}
		p := e.What
		switch p.Tool {
		case "load":
			clear(h)
			if m, ok := p.Options[segAlgorithmsKey].(map[string]any); ok {
				for k, x := range m {
					v, err := strconv.Atoi(k)
					s, ok := x.(string)
					if err != nil || !ok || v <= 0 || v > 0xffff {
						continue
					}
					typ, name, _ := strings.Cut(s, ":")
					h[uint16(v)] = []madeBy{{typ, name}}
				}
			}
			continue
		case "restore-autosave":
			clear(h)
			h.replay(p.Earlier)
			continue
		case "renumber":
			from, ok1 := number(p.Options["from"])
			to, ok2 := number(p.Options["to"])
			if ok1 && ok2 {
				h[to] = append(h[to], h[from]...)
				delete(h, from)
			}
			continue
		case "delete-segment":
			if v, ok := number(p.Options["deleted"]); ok {
				delete(h, v)
			}
			continue
		}
		m := toolMadeBy(p)
		for _, v := range p.Labels {
			if v != 0 {
				h[v] = append(h[v], m)
			}
		}
	}
}

func toolMadeBy(p Provenance) madeBy {
	var models []string
	for _, m := range p.Models {
		if !slices.Contains(models, m.Name) {
			models = append(models, m.Name)
		}
	}
	named := func(kind string) madeBy {
		if len(models) > 0 {
			return madeBy{kind, strings.Join(models, ", ")}
		}
		return madeBy{kind, "polyseg " + p.Tool}
	}
	switch p.Tool {
	case "brush", "polygon", "eraser":
		return madeBy{kind: dicomseg.Manual}
	case "segment":
		return named(dicomseg.Automatic)
	}
	return named(dicomseg.Semiautomatic)
}

func (h algorithmHistory) algorithm(v uint16) dicomseg.Algorithm {
	ms := h[v]
	kinds := map[string]bool{}
	var names []string
	for _, m := range ms {
		k := m.kind
		if k != dicomseg.Semiautomatic && k != dicomseg.Automatic {
			k = dicomseg.Manual
		}
		kinds[k] = true
		if k != dicomseg.Manual && m.name != "" && !slices.Contains(names, m.name) {
			names = append(names, m.name)
		}
	}
	name := strings.Join(names, ", ")
	switch {
	case len(kinds) == 0 || (len(kinds) == 1 && kinds[dicomseg.Manual]):
		return dicomseg.Algorithm{Type: dicomseg.Manual}
	case len(kinds) == 1 && kinds[dicomseg.Automatic]:
		return dicomseg.Algorithm{Type: dicomseg.Automatic, Name: name}
	}
	if name == "" {
		name = "polyseg"
	}
	return dicomseg.Algorithm{Type: dicomseg.Semiautomatic, Name: name}
}

// number reads a label value from a record's options: a uint16 in the
// session, a float64 once the record went through JSON.
func number(x any) (uint16, bool) {
	switch n := x.(type) {
	case uint16:
		return n, true
	case int:
		return uint16(n), n > 0 && n <= 0xffff
	case float64:
		return uint16(n), n > 0 && n <= 0xffff && n == float64(uint16(n))
	}
	return 0, false
}
