package volume

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/pgzip"
)

// ReadNRRDHeader reads and checks the header of a NRRD file: an attached
// .nrrd, or a detached .nhdr header whose data file it checks for size
// without reading the voxels.
func ReadNRRDHeader(path string) (*NRRDHeader, error) {
	h, err := readNRRDHeader(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	d, err := openNRRDData(h, false)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	d.close()
	return h, nil
}

// readNRRDHeader reads the header's text from path and parses it.
func readNRRDHeader(path string) (*NRRDHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, dropPath(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, errors.New("a folder, not a NRRD file")
	}
	// Read in growing pieces until the blank line: a header is usually
	// well under 4 KiB, but a segmentation's can take hundreds.
	buf := make([]byte, 0, 16<<10)
	for {
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if text, off, ok := splitNRRDHeader(buf); ok {
			h, perr := parseNRRDHeader(text)
			if perr != nil {
				return nil, perr
			}
			h.Path = path
			if h.DataPath == "" {
				h.DataPath, h.DataOffset = path, off
			} else {
				h.DataPath = dataFilePath(path, h.DataPath)
			}
			return h, nil
		}
		if err == io.EOF {
			// No blank line: a detached header may end with the file.
			if len(buf) == 0 {
				return nil, fmt.Errorf("empty file: %w", io.ErrUnexpectedEOF)
			}
			text := bytes.TrimRight(buf, "\r\n")
			h, perr := parseNRRDHeader(text)
			if perr != nil {
				return nil, perr
			}
			if h.DataPath == "" {
				return nil, nrrdErr("the file ends inside the header (no blank line before the data, and no \"data file\" field): %w", io.ErrUnexpectedEOF)
			}
			h.Path = path
			h.DataPath = dataFilePath(path, h.DataPath)
			return h, nil
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			if len(buf) >= maxNRRDHeader {
				if !bytes.HasPrefix(buf, []byte("NRRD")) {
					return nil, nrrdErr("no NRRD magic (the file starts %q)", truncate(string(buf[:min(8, len(buf))]), 16))
				}
				return nil, nrrdErr("no blank line ends the header within its first %d bytes", maxNRRDHeader)
			}
			nb := make([]byte, len(buf), min(2*cap(buf), maxNRRDHeader))
			copy(nb, buf)
			buf = nb
		}
		// Refuse other files early, before reading megabytes of them.
		if len(buf) >= 4 && !bytes.HasPrefix(buf, []byte("NRRD")) {
			return nil, nrrdErr("no NRRD magic (the file starts %q)", truncate(string(buf[:min(8, len(buf))]), 16))
		}
	}
}

// dataFilePath resolves a detached header's data file: relative to the
// header's folder unless absolute.
func dataFilePath(header, name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(filepath.Dir(header), name)
}

// dropPath removes the path an *fs.PathError repeats, so that messages
// name each file once.
func dropPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// nrrdData is an open data section: r yields the values' bytes (text for
// ascii) from the first value on, decompressed.
type nrrdData struct {
	r     io.Reader
	f     *os.File
	pgz   *pgzip.Reader
	close func()
}

// openNRRDData opens h's data file, skips to the first value and checks
// that the file can hold as many values as the header says. full says that
// the values will be read (a large gzip stream then gets a parallel
// inflater). The caller calls close.
func openNRRDData(h *NRRDHeader, full bool) (*nrrdData, error) {
	f, err := os.Open(h.DataPath)
	if err != nil {
		if h.DataPath != h.Path {
			return nil, fmt.Errorf("data file %s: %w", h.DataPath, dropPath(err))
		}
		return nil, dropPath(err)
	}
	d := &nrrdData{f: f}
	d.close = func() {
		if d.pgz != nil {
			d.pgz.Close()
		}
		f.Close()
	}
	fail := func(err error) (*nrrdData, error) {
		d.close()
		if h.DataPath != h.Path {
			return nil, fmt.Errorf("data file %s: %w", h.DataPath, err)
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	if !fi.Mode().IsRegular() {
		return fail(errors.New("not a regular file"))
	}
	size := fi.Size()
	if h.DataOffset > size {
		return fail(io.ErrUnexpectedEOF)
	}
	if _, err := f.Seek(h.DataOffset, io.SeekStart); err != nil {
		return fail(err)
	}
	br := bufio.NewReaderSize(f, 64<<10)
	pos := h.DataOffset
	for n := int64(0); n < h.LineSkip; n++ {
		line, err := br.ReadSlice('\n')
		pos += int64(len(line))
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = br.ReadSlice('\n')
			pos += int64(len(line))
		}
		if err != nil {
			return fail(fmt.Errorf("%w: the file ends within the %d lines \"line skip\" skips", io.ErrUnexpectedEOF, h.LineSkip))
		}
	}
	need := h.elements() * int64(h.bytesPerValue())
	left := size - pos
	dims := fmt.Sprintf("%s %s", sizesString(h.Sizes), h.Type)
	switch h.Encoding {
	case "raw":
		switch {
		case h.ByteSkip == -1:
			if left < need {
				return fail(fmt.Errorf("%w: %d bytes of data after the header, but %s needs %d", io.ErrUnexpectedEOF, left, dims, need))
			}
			// The values are the file's last bytes.
			if _, err := f.Seek(size-need, io.SeekStart); err != nil {
				return fail(err)
			}
			d.r = bufio.NewReaderSize(f, 64<<10)
			return d, nil
		case left-h.ByteSkip < need:
			return fail(fmt.Errorf("%w: %d bytes of data after the header and byte skip %d, but %s needs %d",
				io.ErrUnexpectedEOF, max(0, left-h.ByteSkip), h.ByteSkip, dims, need))
		}
		if _, err := br.Discard(int(h.ByteSkip)); err != nil {
			return fail(noEOF(err))
		}
		d.r = br
	case "gzip":
		if need/deflateMaxRatio > left {
			return fail(fmt.Errorf("%w: a %d-byte gzip stream cannot hold the %d bytes of %s", io.ErrUnexpectedEOF, left, need, dims))
		}
		var zr io.Reader
		if full && left > parallelGzipMin {
			d.pgz, err = pgzip.NewReader(br)
			zr = d.pgz
		} else {
			zr, err = kgzip.NewReader(br)
		}
		if err != nil {
			return fail(fmt.Errorf("gzip: %w", noEOF(err)))
		}
		if h.ByteSkip > 0 {
			if _, err := io.CopyN(io.Discard, zr, h.ByteSkip); err != nil {
				return fail(fmt.Errorf("gzip stream ends within its byte skip: %w", noEOF(err)))
			}
		}
		d.r = zr
	case "ascii":
		// Each value takes at least one character and one separator.
		if left < h.elements() {
			return fail(fmt.Errorf("%w: %d bytes of text cannot hold the %d values of %s", io.ErrUnexpectedEOF, left, h.elements(), dims))
		}
		if h.ByteSkip > 0 {
			if _, err := io.CopyN(io.Discard, br, h.ByteSkip); err != nil {
				return fail(noEOF(err))
			}
		}
		d.r = br
	}
	return d, nil
}

func sizesString(s []int64) string {
	var b []byte
	for n, x := range s {
		if n > 0 {
			b = append(b, 'x')
		}
		b = strconv.AppendInt(b, x, 10)
	}
	return string(b)
}

// ReadNRRD reads a NRRD scan (.nrrd, or a detached .nhdr and its data
// file) into a volume of float32 values in RAS+ world coordinates. Every
// scalar type is read, raw, gzip or ascii, in either byte order. Of a 4D
// file (a sequence, a segmentation's layers) only the first component is
// read, with a warning.
func ReadNRRD(path string) (*Volume, error) {
	return ReadNRRDContext(context.Background(), path)
}

// ReadNRRDContext is ReadNRRD stopping early, with ctx's error, when ctx is
// done.
func ReadNRRDContext(ctx context.Context, path string) (*Volume, error) {
	h, err := readNRRDHeader(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	d, err := openNRRDData(h, true)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer d.close()
	data := make([]float32, h.Grid.Len())
	if h.Encoding != "ascii" && h.ListAxis < 0 {
		// The common case, a 3D scan: streamed and converted in parallel
		// as NIfTI is, described to that code by an equivalent header.
		nh := &NIfTIHeader{Grid: h.Grid, Datatype: h.Datatype, ByteOrder: h.ByteOrder, Frames: 1}
		err = streamVoxels(ctx, d.r, nh, func(start int, b []byte) error {
			decodeLE(data[start:], b, h.Datatype, 1, 0)
			return nil
		})
		if err == nil && h.Encoding == "gzip" {
			err = checkEnd(d.r, &NIfTIHeader{Compressed: true, Frames: 1})
		}
	} else {
		n := int64(h.Grid.Len())
		comps := int64(h.Components)
		count := n * comps
		if h.ListAxis == 3 {
			count = n // the first component is the first n values
		}
		err = forEachValue(ctx, d.r, h, count, func(start int64, vals []float64) error {
			if h.ListAxis != 0 {
				for i, v := range vals {
					data[start+int64(i)] = float32(v)
				}
				return nil
			}
			for i, v := range vals {
				if e := start + int64(i); e%comps == 0 {
					data[e/comps] = float32(v)
				}
			}
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", pathOf(h), err)
	}
	if h.ListAxis >= 0 {
		h.Warnings = append(h.Warnings, fmt.Sprintf("the file holds %d components on axis %d (sizes %s); only the first was read",
			h.Components, h.ListAxis, sizesString(h.Sizes)))
	}
	if w := nonFiniteWarning(data); w != "" {
		h.Warnings = append(h.Warnings, w)
	}
	return &Volume{Grid: h.Grid, Data: data, Source: path, Meta: nrrdMeta(h.Grid), Warnings: h.Warnings}, nil
}

// pathOf names the file an error about the data is in.
func pathOf(h *NRRDHeader) string {
	if h.DataPath != h.Path {
		return h.Path + " (data file " + h.DataPath + ")"
	}
	return h.Path
}

// nrrdMeta describes a NRRD's grid as NIfTI header fields, so that the
// volume can be written as NIfTI with its geometry (scanner codes, as the
// DICOM reader gives).
func nrrdMeta(g Grid) NIfTIMeta {
	sp := g.Affine.Spacing()
	m := NIfTIMeta{QformCode: xformScanner, SformCode: xformScanner, Sform: g.Affine, XYZTUnits: unitsMM}
	b, c, d, qfac, zoom, off, ok := affineToQuatern(g.Affine)
	if ok {
		m.QuaternB, m.QuaternC, m.QuaternD, m.Qfac, m.QOffset = b, c, d, qfac, off
		m.Pixdim = [8]float64{qfac, zoom[0], zoom[1], zoom[2], 1}
		m.Qform = quaternToAffine(b, c, d, qfac, zoom, off)
	} else {
		m.QformCode = 0
		m.Pixdim = [8]float64{1, sp[0], sp[1], sp[2], 1}
	}
	return m
}

// valueChunk is how many values forEachValue hands over at a time.
const valueChunk = 1 << 16

// forEachValue reads count values from r (binary in h's type and byte
// order, or ascii text) and hands them to fn in order, converted to
// float64, with the index of the first. It reads in one goroutine: it is
// the path of 4D files, label volumes and text, where order matters more
// than speed.
func forEachValue(ctx context.Context, r io.Reader, h *NRRDHeader, count int64, fn func(start int64, vals []float64) error) error {
	vals := make([]float64, min(count, valueChunk))
	if h.Encoding == "ascii" {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 4096), 1<<16)
		sc.Split(scanNRRDWords)
		for start := int64(0); start < count; {
			if err := ctx.Err(); err != nil {
				return err
			}
			n := int(min(int64(len(vals)), count-start))
			for i := 0; i < n; i++ {
				if !sc.Scan() {
					if err := sc.Err(); err != nil {
						return fmt.Errorf("text data: value %d: %w", start+int64(i), err)
					}
					return fmt.Errorf("text data ends after %d of %d values: %w", start+int64(i), count, io.ErrUnexpectedEOF)
				}
				x, err := strconv.ParseFloat(sc.Text(), 64)
				if err != nil {
					return fmt.Errorf("text data: value %d %q is not a number", start+int64(i), truncate(sc.Text(), 30))
				}
				vals[i] = x
			}
			if err := fn(start, vals[:n]); err != nil {
				return err
			}
			start += int64(n)
		}
		return nil
	}
	bpv := h.bytesPerValue()
	buf := make([]byte, len(vals)*bpv)
	for start := int64(0); start < count; {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := int(min(int64(len(vals)), count-start))
		b := buf[:n*bpv]
		if got, err := io.ReadFull(r, b); err != nil {
			return fmt.Errorf("voxel data ends early, after %d of %d bytes: %w", start*int64(bpv)+int64(got), count*int64(bpv), noEOF(err))
		}
		if h.ByteOrder == binary.BigEndian && bpv > 1 {
			swapBytes(b, bpv)
		}
		decodeLE(vals[:n], b, h.Datatype, 1, 0)
		if err := fn(start, vals[:n]); err != nil {
			return err
		}
		start += int64(n)
	}
	return nil
}

// scanNRRDWords splits text data at white space and commas.
func scanNRRDWords(data []byte, atEOF bool) (int, []byte, error) {
	sep := func(c byte) bool {
		return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == ',' || c == '\f' || c == '\v'
	}
	start := 0
	for start < len(data) && sep(data[start]) {
		start++
	}
	for i := start; i < len(data); i++ {
		if sep(data[i]) {
			return i + 1, data[start:i], nil
		}
	}
	if atEOF && len(data) > start {
		return len(data), data[start:], nil
	}
	return start, nil, nil
}

// nrrdLabelValue checks that v, found at element e, is a label value.
func nrrdLabelValue(v float64, h *NRRDHeader, e int64) (uint16, error) {
	if v >= 0 && v <= math.MaxUint16 && v == math.Trunc(v) {
		return uint16(v), nil
	}
	n := e
	comp := int64(0)
	switch h.ListAxis {
	case 0:
		n, comp = e/int64(h.Components), e%int64(h.Components)
	case 3:
		n, comp = e%int64(h.Grid.Len()), e/int64(h.Grid.Len())
	}
	nx, ny := int64(h.Grid.Dims[0]), int64(h.Grid.Dims[1])
	where := fmt.Sprintf("voxel (%d, %d, %d)", n%nx, n/nx%ny, n/(nx*ny))
	if h.ListAxis >= 0 {
		where += fmt.Sprintf(" of layer %d", comp)
	}
	return 0, fmt.Errorf("label value %g at %s: labels must be whole numbers from 0 to 65535", v, where)
}
