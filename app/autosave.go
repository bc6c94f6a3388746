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
	"time"

	"github.com/polyseg/polyseg/internal/atomicfile"
	"github.com/polyseg/polyseg/volume"
)

// An autosave file is one line naming the format, one line of JSON
// describing the scan it belongs to, then the label voxels as little-endian
// uint16 in gzip. The JSON keeps the file self-describing and lets
// FindAutosave decide without reading the voxels.
const (
	autosaveMagic   = "polyseg-autosave 1\n"
	AutosaveSuffix  = ".polyseg-autosave"
	maxHeaderLength = 1 << 16
)

type autosaveHeader struct {
	Scan     string        `json:"scan"`
	ScanHash string        `json:"scan_hash"`
	Dims     [3]int        `json:"dims"`
	Affine   volume.Affine `json:"affine"`
	Saved    time.Time     `json:"saved"`
	Labelled int           `json:"labelled_voxels"`
}

// Autosave describes an autosave file found for the open scan.
type Autosave struct {
	Path     string
	Saved    time.Time
	Labelled int // non-zero voxels
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

// autosavePaths returns where the open scan's autosave may be: beside the
// scan (a DICOM folder's goes beside the folder, not into it, where a DICOM
// reader would trip on it), then in the fallback folder under the scan's
// hash. The lock is held.
func (s *Session) autosavePaths() []string {
	var paths []string
	if s.path != "" && !s.autosaveAway {
		paths = append(paths, filepath.Clean(s.path)+AutosaveSuffix)
	}
	dir := s.opts.AutosaveDir
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return paths
		}
		dir = filepath.Join(cache, "polyseg", "autosave")
	}
	return append(paths, filepath.Join(dir, s.scanHash[:32]+AutosaveSuffix))
}

// readOnlyDir reports whether the folder of path is marked read-only for
// everyone. Root could still write there; a shared archive marked so is
// not for autosaves, whoever runs the app.
func readOnlyDir(path string) bool {
	st, err := os.Stat(filepath.Dir(path))
	return err == nil && st.Mode().Perm()&0o222 == 0
}

// Autosave writes the label volume to its autosave file if it changed since
// the last autosave or export, and returns the file written ("" when
// nothing needed saving). It tries beside the scan first and the fallback
// folder when that cannot be written.
func (s *Session) Autosave() (string, error) {
	s.mu.RLock()
	if !s.dirty || s.layer.Labels == nil {
		s.mu.RUnlock()
		return "", nil
	}
	gen := s.edits
	data := append([]uint16(nil), s.layer.Labels.Data...)
	hdr := autosaveHeader{Scan: s.path, ScanHash: s.scanHash, Dims: s.vol.Dims, Affine: s.vol.Affine, Saved: time.Now().UTC()}
	paths := s.autosavePaths()
	entries, pscan := s.prov.snapshot(), s.provenanceScan()
	s.mu.RUnlock()

	for _, v := range data {
		if v != 0 {
			hdr.Labelled++
		}
	}
	var errs []error
	for _, p := range paths {
		if readOnlyDir(p) {
			errs = append(errs, fmt.Errorf("%s: folder is read-only", filepath.Dir(p)))
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		// 0600: an autosave holds a patient's segmentation and is read back
		// only by its owner.
		err := atomicfile.WriteFile(p, 0o600, func(w io.Writer) error { return writeAutosave(w, hdr, data) })
		if err != nil {
			errs = append(errs, fmt.Errorf("write %s: %w", p, err))
			continue
		}
		if err := writeProvenance(p, pscan, entries, 0o600); err != nil {
			errs = append(errs, err)
			continue
		}
		s.mu.Lock()
		if s.edits == gen {
			s.dirty = false
		}
		s.mu.Unlock()
		return p, nil
	}
	return "", fmt.Errorf("autosave: %w", errors.Join(errs...))
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
// content hash and grid), or nil when there is none. Unreadable candidates
// are skipped: an autosave is a convenience, and a broken one must not stop
// the scan from opening.
func (s *Session) FindAutosave() *Autosave {
	s.mu.RLock()
	if s.vol == nil {
		s.mu.RUnlock()
		return nil
	}
	paths := s.autosavePaths()
	hash, grid := s.scanHash, s.vol.Grid
	s.mu.RUnlock()

	var best *Autosave
	for _, p := range paths {
		hdr, err := readAutosaveHeaderFile(p)
		if err != nil || hdr.ScanHash != hash || hdr.Dims != grid.Dims {
			continue
		}
		if best == nil || hdr.Saved.After(best.Saved) {
			best = &Autosave{Path: p, Saved: hdr.Saved, Labelled: hdr.Labelled}
		}
	}
	return best
}

// RestoreAutosave replaces the label volume with an autosave's, as one undo
// step, and returns the number of voxels that changed.
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
	return s.replaceLabels("Restore autosave", &volume.Labels{Grid: grid, Data: data}, true,
		&Provenance{Tool: "restore-autosave", Source: a.Path, Earlier: earlier})
}

// DiscardAutosave removes the open scan's autosave files.
func (s *Session) DiscardAutosave() error {
	s.mu.RLock()
	if s.vol == nil {
		s.mu.RUnlock()
		return nil
	}
	paths := s.autosavePaths()
	s.mu.RUnlock()
	var errs []error
	for _, p := range paths {
		if readOnlyDir(p) {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		if err := removeProvenance(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
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
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != autosaveMagic {
		return hdr, errors.New("not a polyseg autosave file")
	}
	line, err := r.ReadSlice('\n')
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

func readAutosaveHeaderFile(path string) (autosaveHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return autosaveHeader{}, err
	}
	defer f.Close()
	return readAutosaveHeader(bufio.NewReaderSize(f, maxHeaderLength))
}

// readAutosave reads a whole autosave whose grid must have want voxels.
func readAutosave(r io.Reader, want int) (autosaveHeader, []uint16, error) {
	br := bufio.NewReaderSize(r, maxHeaderLength)
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
