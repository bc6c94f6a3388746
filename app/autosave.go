package app

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/internal/atomicfile"
	"github.com/polyseg/polyseg/internal/xdg"
	"github.com/polyseg/polyseg/volume"
)

// An autosave file is one line naming the format, one line of JSON
// describing the scan it belongs to (and, from version 2, the propagation
// records of its labels), then the label voxels as little-endian uint16 in
// gzip. The JSON keeps the file self-describing and lets FindAutosave
// decide without reading the voxels.
const (
	autosaveMagic   = "polyseg-autosave 2\n"
	autosaveMagicV1 = "polyseg-autosave 1\n"
	AutosaveSuffix  = ".polyseg-autosave"
	// maxHeaderLength bounds the JSON line: version 1's held a few hundred
	// bytes; version 2's propagation records hold a confidence and an
	// engine's note per decided slice, some kilobytes per label.
	maxHeaderLength   = 16 << 20
	maxHeaderLengthV1 = 1 << 16
)

// How many autosaves the autosave folder keeps (Options.AutosaveKeep and
// AutosaveMaxAge give others).
const (
	// DefaultAutosaveKeep is how many autosaves the folder keeps, the most
	// recently written: one per scan, so the scans last worked on.
	DefaultAutosaveKeep = 20
	// DefaultAutosaveMaxAge is how long an autosave is kept after it was
	// last written: one that old belongs to work given up or exported
	// long ago (an export removes its scan's autosave at once).
	DefaultAutosaveMaxAge = 30 * 24 * time.Hour
)

type autosaveHeader struct {
	Scan     string        `json:"scan"`
	ScanHash string        `json:"scan_hash"`
	Dims     [3]int        `json:"dims"`
	Affine   volume.Affine `json:"affine"`
	Saved    time.Time     `json:"saved"`
	Labelled int           `json:"labelled_voxels"`
	// Propagation holds, per label, the last propagation accepted on the
	// scan: its anchors and the confidence of each slice it decided, which
	// the confidence strip shows and X steps through.
	Propagation []autosaveProp `json:"propagation,omitempty"`
}

// autosaveProp is a propRecord as an autosave keeps it. Slices are
// indices along the scan's axial voxel axis from 0, as propagation
// numbers them (machine fields, like the provenance sidecar's).
type autosaveProp struct {
	Label      uint16          `json:"label"`
	Anchors    []int           `json:"anchors"`
	Confidence map[int]float64 `json:"confidence"`
	Notes      map[int]string  `json:"notes,omitempty"`
	// Reasons say why the doubtful slices are doubtful (the strip's
	// hover text, X's status line).
	Reasons map[int]string `json:"reasons,omitempty"`
	// Unchecked lists the slices flagged beyond a chain's end, which the
	// propagation did not decide.
	Unchecked []int  `json:"unchecked,omitempty"`
	Engine    string `json:"engine,omitempty"`
	Provider  string `json:"provider,omitempty"`
}

// Autosave describes an autosave file found for the open scan.
type Autosave struct {
	Path     string
	Saved    time.Time
	Labelled int // non-zero voxels
	// Legacy marks an autosave where polyseg wrote them before they went
	// to the state folder: beside the scan, or in the cache folder. The
	// next autosave of the scan replaces it with one in the state folder.
	Legacy bool
}

// scanHash identifies a scan by content, so that an autosave is offered
// back to the same scan even when it was moved or opened through another
// path, and never to a different scan that took its file name.
func scanHash(v *volume.Volume) string {
	h := sha256.New()
	var hdr [3*8 + 12*8]byte
	b := hdr[:0]
	for _, d := range v.Dims {
		b = binary.LittleEndian.AppendUint64(b, uint64(d))
	}
	for r := 0; r < 3; r++ {
		for c := 0; c < 4; c++ {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Affine[r][c]))
		}
	}
	h.Write(b)
	buf := make([]byte, 0, 1<<16)
	for _, x := range v.Data {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
		if len(buf) == cap(buf) {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	h.Write(buf)
	return hex.EncodeToString(h.Sum(nil))
}

// autosaveDir returns the folder autosaves are written to: AutosaveDir,
// else the user's state folder's "autosave".
func (s *Session) autosaveDir() (string, error) {
	if s.opts.AutosaveDir != "" {
		return s.opts.AutosaveDir, nil
	}
	state, err := xdg.StateDir()
	if err != nil {
		return "", fmt.Errorf("autosave folder: %w", err)
	}
	return filepath.Join(state, "autosave"), nil
}

// autosaveName is the file name of the autosave of the scan with content
// hash hash: 128 bits of it are plenty to tell scans apart.
func autosaveName(hash string) string { return hash[:32] + AutosaveSuffix }

// legacyAutosavePaths returns where older polysegs wrote the open scan's
// autosave: beside the scan (a DICOM folder's beside the folder), and,
// when the scan's folder could not be written, in the user's cache folder
// (only looked at when AutosaveDir is not set, so that tests and callers
// with a folder of their own see only theirs). The lock is held.
func (s *Session) legacyAutosavePaths() []string {
	var paths []string
	if s.path != "" && !s.autosaveAway {
		paths = append(paths, filepath.Clean(s.path)+AutosaveSuffix)
	}
	if s.opts.AutosaveDir == "" {
		if cache, err := os.UserCacheDir(); err == nil {
			paths = append(paths, filepath.Join(cache, "polyseg", "autosave", autosaveName(s.scanHash)))
		}
	}
	return paths
}

// Autosave writes the label volume, with the propagation records, to the
// open scan's autosave file in the autosave folder if it changed since the
// last autosave or export, and returns the file written ("" when nothing
// needed saving). Autosaves of this scan that older polysegs wrote beside
// it are removed once the new one is written; other scans' autosaves in
// the folder beyond the newest AutosaveKeep, or older than AutosaveMaxAge,
// are removed.
func (s *Session) Autosave() (string, error) {
	s.mu.RLock()
	if !s.dirty || s.layer.Labels == nil {
		s.mu.RUnlock()
		return "", nil
	}
	gen := s.edits
	data := append([]uint16(nil), s.layer.Labels.Data...)
	hdr := autosaveHeader{Scan: s.path, ScanHash: s.scanHash, Dims: s.vol.Dims, Affine: s.vol.Affine, Saved: time.Now().UTC(),
		Propagation: s.propagationRecordsLocked()}
	legacy := s.legacyAutosavePaths()
	entries, pscan := s.prov.snapshot(), s.provenanceScan()
	s.mu.RUnlock()

	dir, err := s.autosaveDir()
	if err != nil {
		return "", fmt.Errorf("autosave: %w", err)
	}
	for _, v := range data {
		if v != 0 {
			hdr.Labelled++
		}
	}
	// 0700 and 0600: an autosave holds a patient's segmentation and is
	// read back only by its owner.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("autosave: %w", err)
	}
	p := filepath.Join(dir, autosaveName(hdr.ScanHash))
	if err := atomicfile.WriteFile(p, 0o600, func(w io.Writer) error { return writeAutosave(w, hdr, data) }); err != nil {
		return "", fmt.Errorf("autosave: write %s: %w", p, err)
	}
	if err := writeProvenance(p, pscan, entries, 0o600); err != nil {
		return "", fmt.Errorf("autosave: %w", err)
	}
	s.mu.Lock()
	if s.edits == gen {
		s.dirty = false
	}
	s.mu.Unlock()
	// The new file holds the labels the legacy one held, or newer ones:
	// remove the legacy one, where it can be (a read-only archive keeps
	// it, and it is never offered again over the newer one).
	for _, lp := range legacy {
		if h, err := readAutosaveHeaderFile(lp); err == nil && h.ScanHash == hdr.ScanHash && !readOnlyDir(lp) {
			removeAutosaveFile(lp)
		}
	}
	s.pruneAutosaves(dir, p)
	return p, nil
}

// pruneAutosaves removes the autosaves in dir beyond the newest keep and
// those older than the maximum age, never keep (the one just written).
// Failures are ignored: pruning is housekeeping, and the next autosave
// tries again.
func (s *Session) pruneAutosaves(dir, keep string) {
	n := s.opts.AutosaveKeep
	if n <= 0 {
		n = DefaultAutosaveKeep
	}
	age := s.opts.AutosaveMaxAge
	if age <= 0 {
		age = DefaultAutosaveMaxAge
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type file struct {
		path string
		mod  time.Time
	}
	var files []file
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), AutosaveSuffix) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		files = append(files, file{filepath.Join(dir, e.Name()), info.ModTime()})
	}
	slices.SortFunc(files, func(a, b file) int { return b.mod.Compare(a.mod) })
	now := time.Now()
	kept := 0
	for _, f := range files {
		if f.path == keep {
			kept++
			continue
		}
		if kept < n && now.Sub(f.mod) <= age {
			kept++
			continue
		}
		removeAutosaveFile(f.path)
	}
}

// removeAutosaveFile removes an autosave and its provenance sidecar.
func removeAutosaveFile(path string) error {
	err := os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	return errors.Join(err, removeProvenance(path))
}

// StartAutosave saves every interval while labels have unsaved changes,
// until the session is closed. Failures go to onErr (if not nil) and the
// next tick tries again.
func (s *Session) StartAutosave(interval time.Duration, onErr func(error)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.ctx.Done():
				return
			case <-t.C:
				if _, err := s.Autosave(); err != nil && onErr != nil {
					onErr(err)
				}
			}
		}
	}()
}

// FindAutosave returns the newest autosave written for the open scan (same
// content hash and grid), in the autosave folder or where older polysegs
// wrote them, or nil when there is none. Unreadable candidates are
// skipped: an autosave is a convenience, and a broken one must not stop
// the scan from opening.
func (s *Session) FindAutosave() *Autosave {
	s.mu.RLock()
	if s.vol == nil {
		s.mu.RUnlock()
		return nil
	}
	legacy := s.legacyAutosavePaths()
	hash, grid := s.scanHash, s.vol.Grid
	s.mu.RUnlock()

	var paths []string
	if dir, err := s.autosaveDir(); err == nil {
		paths = append(paths, filepath.Join(dir, autosaveName(hash)))
	}
	var best *Autosave
	for n, p := range append(paths, legacy...) {
		hdr, err := readAutosaveHeaderFile(p)
		if err != nil || hdr.ScanHash != hash || hdr.Dims != grid.Dims {
			continue
		}
		if best == nil || hdr.Saved.After(best.Saved) {
			best = &Autosave{Path: p, Saved: hdr.Saved, Labelled: hdr.Labelled, Legacy: n >= len(paths)}
		}
	}
	return best
}

// AutosaveFolder returns the folder autosaves are written to, for telling
// the user; "" when there is none (no home folder).
func (s *Session) AutosaveFolder() string {
	dir, err := s.autosaveDir()
	if err != nil {
		return ""
	}
	return dir
}

// RestoreAutosave replaces the label volume with an autosave's, as one undo
// step, brings back the propagation records it kept (the confidence strip
// and X), and returns the number of voxels that changed.
func (s *Session) RestoreAutosave(a *Autosave) (int, error) {
	s.mu.RLock()
	if s.vol == nil {
		s.mu.RUnlock()
		return 0, ErrNoVolume
	}
	grid, hash := s.vol.Grid, s.scanHash
	s.mu.RUnlock()

	f, err := os.Open(a.Path)
	if err != nil {
		return 0, fmt.Errorf("restore autosave: %w", err)
	}
	defer f.Close()
	hdr, data, err := readAutosave(f, grid.Len())
	if err != nil {
		return 0, fmt.Errorf("restore autosave %s: %w", a.Path, err)
	}
	if hdr.ScanHash != hash || hdr.Dims != grid.Dims {
		return 0, fmt.Errorf("restore autosave %s: it belongs to another scan (%s)", a.Path, hdr.Scan)
	}
	// The autosave's sidecar says what made its labels; without one (an
	// autosave of an older build) the record starts at the restore.
	earlier, _ := ReadProvenance(a.Path)
	n, err := s.replaceLabels("Restore autosave", &volume.Labels{Grid: grid, Data: data}, true,
		&Provenance{Tool: "restore-autosave", Source: a.Path, Earlier: earlier})
	if err != nil {
		return n, err
	}
	if s.restorePropagationRecords(hdr.Propagation, grid) {
		s.changed(ChangeLabels)
	}
	return n, nil
}

// DiscardAutosave removes the open scan's autosave files, the legacy ones
// included.
func (s *Session) DiscardAutosave() error {
	s.mu.RLock()
	if s.vol == nil {
		s.mu.RUnlock()
		return nil
	}
	paths := s.legacyAutosavePaths()
	hash := s.scanHash
	s.mu.RUnlock()
	if dir, err := s.autosaveDir(); err == nil {
		paths = append(paths, filepath.Join(dir, autosaveName(hash)))
	}
	var errs []error
	for _, p := range paths {
		if readOnlyDir(p) {
			continue
		}
		errs = append(errs, removeAutosaveFile(p))
	}
	return errors.Join(errs...)
}

// readOnlyDir reports whether the folder of path is marked read-only for
// everyone: an archive of scans, where polyseg removes nothing, even run
// by root.
func readOnlyDir(path string) bool {
	st, err := os.Stat(filepath.Dir(path))
	return err == nil && st.Mode().Perm()&0o222 == 0
}

// propagationRecordsLocked returns the propagation records as an autosave
// keeps them, sorted by label. The lock is held.
func (s *Session) propagationRecordsLocked() []autosaveProp {
	var out []autosaveProp
	for label, rec := range s.props.records {
		p := autosaveProp{Label: label, Anchors: slices.Clone(rec.anchors), Confidence: map[int]float64{},
			Notes: map[int]string{}, Reasons: map[int]string{}, Engine: rec.engine, Provider: rec.provider}
		for k, why := range rec.reasons {
			if why != "" {
				p.Reasons[k] = why
			}
		}
		for k, c := range rec.confidence {
			// JSON has no NaN; a slice without a number has no record.
			if !math.IsNaN(c) && !math.IsInf(c, 0) {
				p.Confidence[k] = c
			}
		}
		for k, note := range rec.notes {
			if note != "" {
				p.Notes[k] = note
			}
		}
		for k, on := range rec.unchecked {
			if _, ok := p.Confidence[k]; ok && on {
				p.Unchecked = append(p.Unchecked, k)
			}
		}
		slices.Sort(p.Unchecked)
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b autosaveProp) int { return int(a.Label) - int(b.Label) })
	return out
}

// restorePropagationRecords makes the records of an autosave the
// session's, in place of those of the same labels, and reports whether
// there were any. Slices outside the grid's axial range and confidences
// outside [0, 1] are dropped: the records came from a file.
func (s *Session) restorePropagationRecords(recs []autosaveProp, grid volume.Grid) bool {
	if len(recs) == 0 {
		return false
	}
	slicer, err := section.NewSlicer(grid, section.Axial)
	if err != nil {
		return false
	}
	in := func(k int) bool { return k >= 0 && k < slicer.Slices }
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.props.records == nil {
		s.props.records = map[uint16]*propRecord{}
	}
	for _, p := range recs {
		// SAM's low-resolution answers are not kept: a click on a restored
		// slice starts from its mask.
		rec := newPropRecord()
		rec.engine, rec.provider = p.Engine, p.Provider
		for _, a := range p.Anchors {
			if in(a) && !slices.Contains(rec.anchors, a) {
				rec.anchors = append(rec.anchors, a)
			}
		}
		slices.Sort(rec.anchors)
		for k, c := range p.Confidence {
			if in(k) && c >= 0 && c <= 1 {
				rec.confidence[k] = c
			}
		}
		for k, note := range p.Notes {
			if _, ok := rec.confidence[k]; ok {
				rec.notes[k] = note
			}
		}
		for k, why := range p.Reasons {
			if _, ok := rec.confidence[k]; ok {
				rec.reasons[k] = why
			}
		}
		for _, k := range p.Unchecked {
			if _, ok := rec.confidence[k]; ok {
				rec.unchecked[k] = true
			}
		}
		s.props.records[p.Label] = rec
	}
	return true
}

func writeAutosave(w io.Writer, hdr autosaveHeader, data []uint16) error {
	j, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, autosaveMagic); err != nil {
		return err
	}
	if _, err := w.Write(append(j, '\n')); err != nil {
		return err
	}
	// Label volumes are mostly runs of zeros: the fastest level compresses
	// them well, and autosave must not stall the app.
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<16)
	for _, v := range data {
		buf = binary.LittleEndian.AppendUint16(buf, v)
		if len(buf) == cap(buf) {
			if _, err := zw.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if _, err := zw.Write(buf); err != nil {
		return err
	}
	return zw.Close()
}

func readAutosaveHeader(r *bufio.Reader) (autosaveHeader, error) {
	var hdr autosaveHeader
	magic := make([]byte, len(autosaveMagic))
	if _, err := io.ReadFull(r, magic); err != nil {
		return hdr, errors.New("not a polyseg autosave file")
	}
	limit := maxHeaderLength
	switch string(magic) {
	case autosaveMagic:
	case autosaveMagicV1:
		limit = maxHeaderLengthV1
	default:
		return hdr, errors.New("not a polyseg autosave file")
	}
	line, err := readLine(r, limit)
	if err != nil {
		return hdr, fmt.Errorf("header: %w", err)
	}
	if err := json.Unmarshal(line, &hdr); err != nil {
		return hdr, fmt.Errorf("header: %w", err)
	}
	if err := volume.CheckDims(hdr.Dims); err != nil {
		return hdr, fmt.Errorf("header: %w", err)
	}
	return hdr, nil
}

// readLine reads up to and including the next newline, refusing a line
// longer than limit bytes.
func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > limit {
			return nil, fmt.Errorf("longer than %d bytes", limit)
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

func readAutosaveHeaderFile(path string) (autosaveHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return autosaveHeader{}, err
	}
	defer f.Close()
	return readAutosaveHeader(bufio.NewReaderSize(f, 1<<16))
}

// readAutosave reads a whole autosave whose grid must have want voxels.
func readAutosave(r io.Reader, want int) (autosaveHeader, []uint16, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	hdr, err := readAutosaveHeader(br)
	if err != nil {
		return hdr, nil, err
	}
	n := hdr.Dims[0] * hdr.Dims[1] * hdr.Dims[2]
	if n != want {
		return hdr, nil, fmt.Errorf("%d voxels, the scan has %d", n, want)
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return hdr, nil, fmt.Errorf("voxels: %w", err)
	}
	data := make([]uint16, n)
	buf := make([]byte, 1<<16)
	for i := 0; i < n; {
		chunk := min(len(buf)/2, n-i)
		if _, err := io.ReadFull(zr, buf[:2*chunk]); err != nil {
			return hdr, nil, fmt.Errorf("voxels: %w", err)
		}
		for k := 0; k < chunk; k++ {
			data[i+k] = binary.LittleEndian.Uint16(buf[2*k:])
		}
		i += chunk
	}
	// Reading on to the end checks gzip's CRC and length: a file cut short
	// after the voxels, or with more of them, is damaged.
	if n, err := io.Copy(io.Discard, zr); err != nil || n != 0 {
		return hdr, nil, fmt.Errorf("voxels: damaged stream (%d extra bytes, %v)", n, err)
	}
	return hdr, data, nil
}
