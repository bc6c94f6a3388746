package volume

// NRRD writing, laid out as 3D Slicer (through Teem) writes it: NRRD0004,
// the left-posterior-superior space, gzip data, and for label volumes the
// segment fields of Slicer's segmentation storage node.

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/klauspost/pgzip"

	"github.com/polyseg/polyseg/internal/atomicfile"
)

// IsNRRDName reports whether path is named as a NRRD file (.nrrd, or a
// detached header .nhdr; Slicer's .seg.nrrd and .seg.nhdr included), which
// the readers and writers here go by.
func IsNRRDName(path string) bool {
	l := strings.ToLower(path)
	return strings.HasSuffix(l, ".nrrd") || strings.HasSuffix(l, ".nhdr")
}

// IsSegmentationName reports whether path is named as a 3D Slicer
// segmentation: .seg.nrrd or .seg.nhdr.
func IsSegmentationName(path string) bool {
	l := strings.ToLower(path)
	return strings.HasSuffix(l, ".seg.nrrd") || strings.HasSuffix(l, ".seg.nhdr")
}

// nrrdOut describes a NRRD file to write.
type nrrdOut struct {
	grid      Grid
	typ       string // the NRRD type name, as Teem writes it
	dt        int    // the same type's NIfTI code
	encoding  string // "gzip" or "raw"
	keyValues map[string]string
	// encode fills dst with the little-endian bytes of the values from
	// index start on.
	encode func(dst []byte, start int)
}

// WriteNRRD writes v to path as NRRD: an attached .nrrd, or a detached
// .nhdr header with its data in "<name>.raw.gz" beside it. Voxels are int16
// when all are integers in int16's range (CT in HU), else float32; the data
// are gzip-compressed; the geometry is written in the
// left-posterior-superior space, as 3D Slicer writes it. The files appear
// only once complete.
func WriteNRRD(path string, v *Volume) error {
	if err := checkWritable(v.Grid, len(v.Data)); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	o := nrrdOut{grid: v.Grid, typ: "short", dt: dtInt16, encoding: "gzip"}
	for _, x := range v.Data {
		if x != float32(math.Trunc(float64(x))) || x < math.MinInt16 || x > math.MaxInt16 {
			o.typ, o.dt = "float", dtFloat32
			break
		}
	}
	data := v.Data
	o.encode = func(dst []byte, start int) {
		src := data[start:]
		if o.dt == dtInt16 {
			for i := range len(dst) / 2 {
				binary.LittleEndian.PutUint16(dst[2*i:], uint16(int16(src[i])))
			}
			return
		}
		for i := range len(dst) / 4 {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(src[i]))
		}
	}
	if err := writeNRRD(path, o); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeLabelsNRRD writes l as a 3D Slicer segmentation (a label map with
// Slicer's segment fields, which any NRRD reader reads as a plain label
// map): uint8 when every value fits, else uint16, one layer, on the whole
// of ref's grid (Segmentation_ReferenceImageExtentOffset 0 0 0). Each
// segment of l.Segments is written with its name, colour, ID and tags, and
// so is every value present without an entry there (named Segment_N,
// grey).
func writeLabelsNRRD(path string, l *Labels, ref *Volume) error {
	if !l.Grid.Equal(ref.Grid, 1e-4) {
		return fmt.Errorf("write %s: labels on grid %s, scan on grid %s: resample the labels onto the scan first",
			path, describeGrid(l.Grid), describeGrid(ref.Grid))
	}
	if err := checkWritable(l.Grid, len(l.Data)); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	o := nrrdOut{grid: ref.Grid, typ: "unsigned char", dt: dtUint8, encoding: "gzip"}
	if l.Max() > math.MaxUint8 {
		o.typ, o.dt = "unsigned short", dtUint16
	}
	o.keyValues = slicerFields(l, ref.Grid)
	data := l.Data
	o.encode = func(dst []byte, start int) {
		src := data[start:]
		if o.dt == dtUint8 {
			for i := range dst {
				dst[i] = uint8(src[i])
			}
			return
		}
		for i := range len(dst) / 2 {
			binary.LittleEndian.PutUint16(dst[2*i:], src[i])
		}
	}
	if err := writeNRRD(path, o); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// slicerFields returns the key:=value fields of a one-layer Slicer
// segmentation holding l on grid g.
func slicerFields(l *Labels, g Grid) map[string]string {
	// Each value's extent, in one pass.
	type box struct{ lo, hi [3]int }
	boxes := map[uint16]*box{}
	p := 0
	for k := 0; k < l.Dims[2]; k++ {
		for j := 0; j < l.Dims[1]; j++ {
			for i := 0; i < l.Dims[0]; i++ {
				if v := l.Data[p]; v != 0 {
					b := boxes[v]
					if b == nil {
						b = &box{lo: [3]int{i, j, k}, hi: [3]int{i, j, k}}
						boxes[v] = b
					}
					c := [3]int{i, j, k}
					for a := range c {
						b.lo[a] = min(b.lo[a], c[a])
						b.hi[a] = max(b.hi[a], c[a])
					}
				}
				p++
			}
		}
	}
	segs := map[uint16]Segment{}
	for _, s := range l.Segments {
		if s.Value != 0 {
			segs[s.Value] = s
		}
	}
	for v := range boxes {
		if _, ok := segs[v]; !ok {
			segs[v] = Segment{Value: v}
		}
	}
	values := make([]int, 0, len(segs))
	for v := range segs {
		values = append(values, int(v))
	}
	sort.Ints(values)

	kv := map[string]string{
		"Segmentation_MasterRepresentation":         "Binary labelmap",
		"Segmentation_ContainedRepresentationNames": "Binary labelmap|",
		"Segmentation_ReferenceImageExtentOffset":   "0 0 0",
		"Segmentation_ConversionParameters": "Reference image geometry|" + referenceGeometry(g) +
			"|The grid of the scan the segmentation was made on (written by polyseg).&",
	}
	ids := map[string]bool{}
	for n, v := range values {
		s := segs[uint16(v)]
		p := "Segment" + strconv.Itoa(n) + "_"
		id := s.ID
		if id == "" || ids[id] {
			id = "Segment_" + strconv.Itoa(v)
			for ids[id] {
				id += "_"
			}
		}
		ids[id] = true
		name := strings.TrimSpace(s.Name)
		if name == "" {
			name = "Segment_" + strconv.Itoa(v)
		}
		c := s.Color
		if c.A == 0 {
			c = segmentGrey
		}
		ext := "0 -1 0 -1 0 -1" // empty, as Slicer writes an empty segment's
		if b := boxes[uint16(v)]; b != nil {
			ext = fmt.Sprintf("%d %d %d %d %d %d", b.lo[0], b.hi[0], b.lo[1], b.hi[1], b.lo[2], b.hi[2])
		}
		kv[p+"ID"] = id
		kv[p+"Name"] = name
		kv[p+"NameAutoGenerated"] = "0"
		kv[p+"Color"] = slicerColor(c)
		kv[p+"ColorAutoGenerated"] = "0"
		kv[p+"LabelValue"] = strconv.Itoa(v)
		kv[p+"Layer"] = "0"
		kv[p+"Extent"] = ext
		kv[p+"Tags"] = s.Tags
	}
	return kv
}

// referenceGeometry formats g as Slicer's "Reference image geometry"
// conversion parameter: the voxel-to-RAS matrix row by row, then the
// extent, each followed by a semicolon.
func referenceGeometry(g Grid) string {
	var b strings.Builder
	for r := 0; r < 4; r++ {
		for c := 0; c < 4; c++ {
			b.WriteString(formatNRRDNumber(g.Affine[r][c]))
			b.WriteByte(';')
		}
	}
	for a := 0; a < 3; a++ {
		fmt.Fprintf(&b, "0;%d;", g.Dims[a]-1)
	}
	return b.String()
}

// formatNRRDNumber writes x exactly and briefly, without a negative zero.
func formatNRRDNumber(x float64) string {
	if x == 0 {
		return "0"
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// nrrdHeaderText returns the header of o, with dataFile named for a
// detached header ("" for an attached one, which then ends with the blank
// line).
func nrrdHeaderText(o nrrdOut, dataFile string) string {
	g := o.grid
	// RAS+ to LPS: negate x and y.
	lps := g.Affine
	lps[0], lps[1] = negRow(lps[0]), negRow(lps[1])
	vec := func(c int) string {
		return "(" + formatNRRDNumber(lps[0][c]) + "," + formatNRRDNumber(lps[1][c]) + "," + formatNRRDNumber(lps[2][c]) + ")"
	}
	var b strings.Builder
	b.WriteString("NRRD0004\n")
	b.WriteString("# Complete NRRD file format specification at:\n")
	b.WriteString("# http://teem.sourceforge.net/nrrd/format.html\n")
	fmt.Fprintf(&b, "type: %s\n", o.typ)
	b.WriteString("dimension: 3\n")
	b.WriteString("space: left-posterior-superior\n")
	fmt.Fprintf(&b, "sizes: %d %d %d\n", g.Dims[0], g.Dims[1], g.Dims[2])
	fmt.Fprintf(&b, "space directions: %s %s %s\n", vec(0), vec(1), vec(2))
	b.WriteString("kinds: domain domain domain\n")
	if n, _ := datatypeSize(o.dt); n > 1 {
		b.WriteString("endian: little\n")
	}
	fmt.Fprintf(&b, "encoding: %s\n", o.encoding)
	fmt.Fprintf(&b, "space origin: %s\n", vec(3))
	if dataFile != "" {
		fmt.Fprintf(&b, "data file: %s\n", dataFile)
	}
	keys := make([]string, 0, len(o.keyValues))
	for k := range o.keyValues {
		keys = append(keys, k)
	}
	// Sorted, as ITK's metadata dictionary (a std::map) gives them to
	// Teem when Slicer writes.
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s:=%s\n", k, escapeNRRD(o.keyValues[k]))
	}
	if dataFile == "" {
		b.WriteString("\n")
	}
	return b.String()
}

// detachedDataName returns the data file a detached header at path names:
// "x.nhdr" → "x.raw.gz" (or "x.raw").
func detachedDataName(path, encoding string) string {
	base := filepath.Base(path)
	base = base[:len(base)-len(filepath.Ext(base))]
	if encoding == "gzip" {
		return base + ".raw.gz"
	}
	return base + ".raw"
}

// writeNRRD writes o to path atomically: an attached file, or for a .nhdr
// path the data file first and then the header that names it.
func writeNRRD(path string, o nrrdOut) error {
	detached := strings.HasSuffix(strings.ToLower(path), ".nhdr")
	if !detached {
		return atomicfile.WriteFile(path, 0o644, func(w io.Writer) error {
			if _, err := io.WriteString(w, nrrdHeaderText(o, "")); err != nil {
				return err
			}
			return writeNRRDData(w, o)
		})
	}
	name := detachedDataName(path, o.encoding)
	dataPath := filepath.Join(filepath.Dir(path), name)
	if err := atomicfile.WriteFile(dataPath, 0o644, func(w io.Writer) error { return writeNRRDData(w, o) }); err != nil {
		return fmt.Errorf("data file %s: %w", dataPath, err)
	}
	return atomicfile.WriteFile(path, 0o644, func(w io.Writer) error {
		_, err := io.WriteString(w, nrrdHeaderText(o, name))
		return err
	})
}

// writeNRRDData writes o's values, compressed for gzip.
func writeNRRDData(w io.Writer, o nrrdOut) error {
	bpv, err := datatypeSize(o.dt)
	if err != nil {
		return err
	}
	out := w
	var zw *pgzip.Writer
	if o.encoding == "gzip" {
		// Level 1, as for .nii.gz: CT compresses barely better at
		// higher levels and several times slower.
		zw, err = pgzip.NewWriterLevel(w, pgzip.BestSpeed)
		if err != nil {
			return err
		}
		out = zw
	}
	buf := make([]byte, streamChunk)
	total := o.grid.Len()
	step := streamChunk / bpv
	for start := 0; start < total; start += step {
		n := min(step, total-start) * bpv
		o.encode(buf[:n], start)
		if _, err := out.Write(buf[:n]); err != nil {
			return err
		}
	}
	if zw != nil {
		return zw.Close()
	}
	return nil
}
