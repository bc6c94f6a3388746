package volume

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom"
)

// nativeCopy turns one of patient B's JPEG 2000 files into an uncompressed
// (explicit VR little endian) one of cols x rows pixels holding stored: the
// transfer syntax UID shrinks from 22 to 20 bytes, so the file meta group
// length shrinks by 2, and the encapsulated pixel data, the file's last
// element, is replaced by a native OW element.
func nativeCopy(t testing.TB, b []byte, cols, rows int, stored []uint16) []byte {
	t.Helper()
	b = bytes.Replace(b, []byte("\x10\x00UI\x16\x001.2.840.10008.1.2.4.90"), []byte("\x10\x00UI\x14\x001.2.840.10008.1.2.1\x00"), 1)
	gl := bytes.Index(b, []byte("\x02\x00\x00\x00UL\x04\x00"))
	if gl != 132 {
		t.Fatalf("file meta group length not at 132 but %d", gl)
	}
	binary.LittleEndian.PutUint32(b[gl+8:], binary.LittleEndian.Uint32(b[gl+8:])-2)
	b = setElement(t, b, 0x0028, 0x0010, "US", binary.LittleEndian.AppendUint16(nil, uint16(rows)))
	b = setElement(t, b, 0x0028, 0x0011, "US", binary.LittleEndian.AppendUint16(nil, uint16(cols)))
	px := bytes.LastIndex(b, []byte("\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff"))
	if px < 0 {
		t.Fatal("no encapsulated pixel data")
	}
	b = append(b[:px:px], "\xe0\x7f\x10\x00OW\x00\x00"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(2*len(stored)))
	for _, v := range stored {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	return b
}

// TestReadDICOMNative checks the uncompressed path on real headers: patient
// B rewritten without compression reads as the same volume.
func TestReadDICOMNative(t *testing.T) {
	needPatientB(t)
	want, err := ReadDICOM(context.Background(), patientB, DICOMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := copySeries(t, patientB, func(_ int, b []byte) []byte { return b })
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		f, err := readDICOMFile(p, true)
		if err != nil {
			t.Fatal(err)
		}
		hu := make([]float32, f.rows*f.cols)
		if err := decodeFrame(f, hu); err != nil {
			t.Fatal(err)
		}
		stored := make([]uint16, len(hu))
		for i, h := range hu {
			stored[i] = uint16(h - float32(f.intercept)) // RescaleIntercept -1024, slope 1
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nativeCopy(t, b, f.cols, f.rows, stored), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadDICOM(context.Background(), dir, DICOMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Grid.Equal(want.Grid, 0) {
		t.Fatalf("grid %v, want %v", got.Grid, want.Grid)
	}
	for i := range got.Data {
		if got.Data[i] != want.Data[i] {
			t.Fatalf("voxel %d = %v, want %v", i, got.Data[i], want.Data[i])
		}
	}
}

// fuzzMaxDICOM caps fuzz inputs: a DICOM header is a few kilobytes, and
// larger inputs only slow the fuzzer down.
const fuzzMaxDICOM = 64 << 10

// FuzzDICOMSeries feeds one file to the per-file parser, the series
// assembly (with a second slice 2 mm further on) and the pixel decoder. None
// may panic or hang, whatever the bytes; errors are expected. Seeds: patient
// B's first file cut at several places (header only, into the JPEG 2000
// codestream), an 8x8 uncompressed version of it, and the small real files
// of validDICOMFiles.
func FuzzDICOMSeries(f *testing.F) {
	if entries, err := os.ReadDir(patientB); err == nil && len(entries) > 0 {
		b, err := os.ReadFile(filepath.Join(patientB, entries[0].Name()))
		if err != nil {
			f.Fatal(err)
		}
		px := bytes.LastIndex(b, []byte("\xe0\x7f\x10\x00"))
		for _, n := range []int{132, 600, px, px + 12, px + 40, px + 2000} {
			if n > 0 && n <= len(b) {
				f.Add(b[:n])
			}
		}
		stored := make([]uint16, 64)
		for i := range stored {
			stored[i] = uint16(i * 40)
		}
		native := nativeCopy(f, b, 8, 8, stored)
		f.Add(native)
		f.Add(native[:len(native)-7])
	}
	for _, p := range validDICOMFiles(f) {
		if b, err := os.ReadFile(p); err == nil && len(b) <= fuzzMaxDICOM {
			f.Add(b)
		}
	}
	f.Add([]byte("not DICOM at all"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > fuzzMaxDICOM {
			return
		}
		checkOneFile(data)
	})
}

// checkOneFile runs the whole per-file path on data, ignoring errors.
func checkOneFile(data []byte) {
	df, err := parseDICOM("fuzz.dcm", data, true)
	if err != nil {
		return
	}
	files := []*dicomFile{df}
	if len(df.ipp) == 3 {
		next := *df
		next.path = "fuzz2.dcm"
		next.ipp = []float64{df.ipp[0], df.ipp[1], df.ipp[2] + 2}
		files = append(files, &next)
	}
	g, err := assembleSeries(files)
	if err != nil || checkDecodable(df) != nil {
		return
	}
	// The reader allocates what the header asks for, within MaxVoxels; the
	// fuzzer would spend its time allocating.
	if g.grid.Dims[0]*g.grid.Dims[1] > 1<<20 {
		return
	}
	_ = decodeFrame(df, make([]float32, df.rows*df.cols))
}

// dicomBytes builds a minimal DICOM Part 10 file: preamble, magic, a file
// meta group with the transfer syntax, then the dataset bytes as given.
func dicomBytes(ts string, dataset []byte) []byte {
	if len(ts)%2 == 1 {
		ts += "\x00"
	}
	meta := []byte("\x02\x00\x10\x00UI")
	meta = binary.LittleEndian.AppendUint16(meta, uint16(len(ts)))
	meta = append(meta, ts...)
	b := make([]byte, 128, 128+4+12+len(meta)+len(dataset))
	b = append(b, "DICM\x02\x00\x00\x00UL\x04\x00"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(meta)))
	b = append(b, meta...)
	return append(b, dataset...)
}

// TestDICOMMalformedRegressions holds what the fuzzer found, and the
// hostile shapes it pointed to. Each must fail with an error, without
// reserving memory for what the header claims.
func TestDICOMMalformedRegressions(t *testing.T) {
	explicit := func(parts ...string) []byte { return []byte(strings.Join(parts, "")) }
	tests := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{
			// Fuzz input cc3ec5154d02fcfd: no preamble; in the library's
			// guessing mode a garbled element declared ~1.1 GiB, which it
			// allocated before reading (seconds per file once memory is reused).
			name:    "no preamble (fuzz cc3ec515)",
			data:    []byte("\x00\x00\b\x00\x18\x00UI\x00\x00\b\x00 \x00D\x01\b\x0020221208\b\x00!\x00DA\b\x0020221208"),
			wantErr: "not a DICOM file",
		},
		{
			name:    "1 GiB OB element in 30 bytes",
			data:    dicomBytes(tsExplicitLE, explicit("\x08\x00\x16\x00OB\x00\x00\x00\x00\x00\x40", "abcd")),
			wantErr: "declares 1073741824 bytes, 4 are left",
		},
		{
			name:    "1 GiB implicit element",
			data:    dicomBytes(tsImplicitLE, explicit("\x08\x00\x16\x00\x00\x00\x00\x40", "abcd")),
			wantErr: "declares 1073741824 bytes",
		},
		{
			name:    "1 GiB item inside a sequence",
			data:    dicomBytes(tsExplicitLE, explicit("\x08\x00\x15\x11SQ\x00\x00\xff\xff\xff\xff", "\xfe\xff\x00\xe0\x00\x00\x00\x40", "xx")),
			wantErr: "item at byte",
		},
		{
			name:    "1 GiB pixel data fragment",
			data:    dicomBytes(tsJ2KLossless, explicit("\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff", "\xfe\xff\x00\xe0\x00\x00\x00\x00", "\xfe\xff\x00\xe0\x00\x00\x00\x40", "xx")),
			wantErr: "pixel data fragment",
		},
		{
			name:    "1 GiB file meta element",
			data:    append([]byte(strings.Repeat("\x00", 128)+"DICM"), explicit("\x02\x00\x00\x00UL\x04\x00\x08\x00\x00\x00", "\x02\x00\x10\x00UI\xff\xff", "1.2")...),
			wantErr: "file meta element",
		},
		{
			name:    "sequences nested without end",
			data:    dicomBytes(tsExplicitLE, []byte(strings.Repeat("\x08\x00\x15\x11SQ\x00\x00\xff\xff\xff\xff\xfe\xff\x00\xe0\xff\xff\xff\xff", 100))),
			wantErr: "nested deeper",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := parseDICOM("bad.dcm", tc.data, true)
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "bad.dcm") {
				t.Errorf("error %v, want one naming bad.dcm and saying %q", err, tc.wantErr)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Errorf("allocated %d bytes for a %d-byte file", n, len(tc.data))
			}
			checkOneFile(tc.data) // and the whole path copes
		})
	}
}

// validDICOMFiles lists real DICOM files from other projects that a Debian
// machine set up by scripts/setup.sh has (nibabel's test data: Siemens MR
// with CSA headers, implicit and explicit VR), and patient B.
func validDICOMFiles(t testing.TB) []string {
	var files []string
	for _, g := range []string{
		"/usr/lib/python3/dist-packages/nibabel/tests/data/*.dcm",
		"/usr/lib/python3/dist-packages/nibabel/nicom/tests/data/*.dcm",
		"/usr/share/doc/libgdcm3.0/examples/*.dcm",
		patientB + "/*",
	} {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	return files
}

// TestCheckElementLengthsAcceptsValidFiles guards against the length walk
// refusing real files: every file the library itself parses must pass it.
func TestCheckElementLengthsAcceptsValidFiles(t *testing.T) {
	files := validDICOMFiles(t)
	if len(files) == 0 {
		t.Skip("no DICOM files on this machine")
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dicom.Parse(bytes.NewReader(b), int64(len(b)), nil, dicom.SkipPixelData()); err != nil {
			t.Logf("%s: the library refuses it too: %v", p, err)
			continue
		}
		if err := checkElementLengths(b); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}
