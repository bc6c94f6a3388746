package volume

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// synthNRRD builds a NRRD file byte by byte for tests, independently of
// the package's writer: the header lines as given, then the values in the
// type, byte order and encoding named.
type synthNRRD struct {
	lines    []string // header fields after the magic, without the blank line
	typ      string   // a canonical type name: int8 ... float64
	order    binary.ByteOrder
	encoding string // raw, gzip or ascii
	values   []float64
}

func (s synthNRRD) bytes(t testing.TB) []byte {
	t.Helper()
	var hdr bytes.Buffer
	hdr.WriteString("NRRD0004\n")
	for _, l := range s.lines {
		hdr.WriteString(l + "\n")
	}
	hdr.WriteString("\n")
	data := encodeValues(t, s.typ, s.order, s.encoding, s.values)
	return append(hdr.Bytes(), data...)
}

func encodeValues(t testing.TB, typ string, order binary.ByteOrder, encoding string, values []float64) []byte {
	t.Helper()
	if order == nil {
		order = binary.LittleEndian
	}
	var raw bytes.Buffer
	if encoding == "ascii" {
		for i, v := range values {
			if i > 0 {
				raw.WriteString(" ")
				if i%7 == 0 {
					raw.WriteString("\n")
				}
			}
			raw.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
		}
		raw.WriteString("\n")
		return raw.Bytes()
	}
	for _, v := range values {
		var x any
		switch typ {
		case "int8":
			x = int8(v)
		case "uint8":
			x = uint8(v)
		case "int16":
			x = int16(v)
		case "uint16":
			x = uint16(v)
		case "int32":
			x = int32(v)
		case "uint32":
			x = uint32(v)
		case "int64":
			x = int64(v)
		case "uint64":
			x = uint64(v)
		case "float32":
			x = float32(v)
		case "float64":
			x = v
		default:
			t.Fatalf("type %s", typ)
		}
		if err := binary.Write(&raw, order, x); err != nil {
			t.Fatal(err)
		}
	}
	if encoding != "gzip" {
		return raw.Bytes()
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(raw.Bytes())
	zw.Close()
	return z.Bytes()
}

func writeFile(t testing.TB, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// itkImage is what ITK's NrrdImageIO reports for a file (read.mjs):
// geometry in ITK's LPS world.
type itkImage struct {
	Path          string         `json:"path"`
	Error         string         `json:"error"`
	Size          []int          `json:"size"`
	Spacing       []float64      `json:"spacing"`
	Origin        []float64      `json:"origin"`
	Direction     []float64      `json:"direction"`
	ComponentType string         `json:"componentType"`
	Components    int            `json:"components"`
	Metadata      map[string]any `json:"metadata"`
	Values        []float64      `json:"-"` // every component, ITK's order
}

// affineRAS returns ITK's geometry as a voxel-to-RAS+ affine: ITK's world
// is LPS, so x and y are negated.
func (m itkImage) affineRAS() Affine {
	a := Identity()
	sign := [3]float64{-1, -1, 1}
	for r := range 3 {
		for c := range 3 {
			a[r][c] = sign[r] * m.Direction[3*r+c] * m.Spacing[c]
		}
		a[r][3] = sign[r] * m.Origin[r]
	}
	return a
}

// readWithITK reads files with ITK's NRRD reader (3D Slicer's), through
// scripts/nrrdref (itk-wasm under node; scripts/setup.sh installs it). It
// skips the test when node or that package is absent.
func readWithITK(t testing.TB, paths ...string) []itkImage {
	t.Helper()
	script, err := filepath.Abs("../scripts/nrrdref/read.mjs")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(script), "node_modules", "@itk-wasm", "image-io")); err != nil {
		t.Skipf("the independent NRRD reader is not installed (scripts/setup.sh installs it): %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed (scripts/setup.sh installs it)")
	}
	dir := t.TempDir()
	args := []string{script}
	for n, p := range paths {
		args = append(args, p, filepath.Join(dir, fmt.Sprintf("%d.f64", n)))
	}
	out, err := exec.Command(node, args...).Output()
	if err != nil {
		t.Fatalf("node read.mjs: %v\n%s", err, out)
	}
	var imgs []itkImage
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue // itk-wasm's own messages
		}
		var m itkImage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("read.mjs printed %q: %v", line, err)
		}
		if m.Error == "" {
			b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%d.f64", len(imgs))))
			if err != nil {
				t.Fatal(err)
			}
			m.Values = make([]float64, len(b)/8)
			for i := range m.Values {
				m.Values[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
			}
		}
		imgs = append(imgs, m)
	}
	if len(imgs) != len(paths) {
		t.Fatalf("read.mjs answered for %d of %d files:\n%s", len(imgs), len(paths), out)
	}
	return imgs
}
