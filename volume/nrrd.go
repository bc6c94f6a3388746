package volume

// NRRD header parsing.
//
// Specification: https://teem.sourceforge.net/nrrd/format.html (formats
// NRRD0001 to NRRD0005). No maintained Go NRRD reader was found, let alone
// one that converts the geometry and checks the header before allocating,
// so the format is the project's own code; the voxels go through the same
// streaming and conversion as NIfTI's.
//
// # Security considerations
//
// A header is text of at most maxNRRDHeader bytes. Every field is hostile
// until checked: sizes are multiplied in int64 with overflow checks, the
// spatial voxel count is held to MaxVoxels and the element count to
// maxNRRDElements, and the data's length is checked against the data file's
// size (or, for gzip, against the most that file could inflate to) before
// anything is allocated for the voxels. A detached header's data file is
// one plain file; lists of files and format patterns are refused.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrNRRDFormat is wrapped by every error about a file that is not valid
// NRRD: a missing magic, a malformed or missing field, impossible sizes.
var ErrNRRDFormat = errors.New("invalid NRRD file")

// ErrNRRDUnsupported is wrapped by errors about valid NRRD files this
// package does not read: bzip2 or hex data, a data file per slice, 2D or
// 5D arrays.
var ErrNRRDUnsupported = errors.New("unsupported NRRD file")

func nrrdErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrNRRDFormat}, args...)...)
}

func nrrdUnsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrNRRDUnsupported}, args...)...)
}

const (
	// maxNRRDHeader bounds the header's text. A .seg.nrrd with a thousand
	// segments and Slicer's conversion parameters takes about 500 KB.
	maxNRRDHeader = 4 << 20
	// maxNRRDDimension is NRRD_DIM_MAX, the most axes a NRRD may have.
	maxNRRDDimension = 16
	// maxNRRDComponents bounds the one non-spatial axis: a segmentation's
	// layers or a sequence's frames. Only one component of a scan is
	// kept, and a label volume is merged into one, so memory does not
	// grow with it, but the time to read does.
	maxNRRDComponents = 1 << 12
)

// NRRD spaces, canonical names.
const (
	spaceRAS = "right-anterior-superior"
	spaceLAS = "left-anterior-superior"
	spaceLPS = "left-posterior-superior"
)

// NRRDHeader is the checked header of a NRRD file (.nrrd, or a detached
// .nhdr header and its data file): what ReadNRRD will produce, learnt
// without reading the voxels.
type NRRDHeader struct {
	Path     string // the header's file
	DataPath string // the file holding the voxels: Path itself unless detached
	Version  int    // the N of NRRD000N

	Type      string           // the voxel type, canonical: "uint8", "int16", "float32"...
	Datatype  int              // the NIfTI datatype code of the same type
	Encoding  string           // "raw", "gzip" or "ascii"
	ByteOrder binary.ByteOrder // of raw and gzip data; little-endian for one-byte types and text

	Sizes []int64  // per axis, fastest first
	Kinds []string // per axis, "" where not given

	// Space is the world space the directions and origin are given in, as
	// the file names it ("left-posterior-superior", "scanner-xyz"...), ""
	// when the file gives none.
	Space string
	// Grid has the three spatial axes' sizes and the voxel-to-world affine
	// in RAS+ (the project's world), converted from Space.
	Grid Grid
	// ListAxis is the index of the one non-spatial axis of a 4D file (the
	// layers of a Slicer segmentation, the frames of a sequence), -1 when
	// the file is 3D; Components is its length (1 without one). It is
	// always the first or the last axis.
	ListAxis   int
	Components int

	// DataOffset is where the data section starts in DataPath: after the
	// header's blank line in an attached file, 0 in a detached data file.
	// LineSkip lines, then ByteSkip bytes (after decompression for gzip;
	// -1: the data are the file's last bytes) come before the first value.
	DataOffset int64
	LineSkip   int64
	ByteSkip   int64

	// KeyValues holds the file's key:=value pairs (a Slicer segmentation's
	// Segment0_Name...), unescaped; KeyOrder lists their keys as written.
	KeyValues map[string]string
	KeyOrder  []string

	Warnings []string
}

// elements returns the number of values in the file (all axes).
func (h *NRRDHeader) elements() int64 {
	return int64(h.Grid.Len()) * int64(h.Components)
}

// bytesPerValue returns the size of one stored value.
func (h *NRRDHeader) bytesPerValue() int {
	n, _ := datatypeSize(h.Datatype) // checked when parsed
	return n
}

// nrrdTypes maps every type name the specification allows to the
// canonical name and the NIfTI datatype code with the same layout.
var nrrdTypes = func() map[string]struct {
	name string
	dt   int
} {
	m := map[string]struct {
		name string
		dt   int
	}{}
	add := func(name string, dt int, aliases ...string) {
		for _, a := range aliases {
			m[a] = struct {
				name string
				dt   int
			}{name, dt}
		}
	}
	add("int8", dtInt8, "signed char", "int8", "int8_t")
	add("uint8", dtUint8, "uchar", "unsigned char", "uint8", "uint8_t")
	add("int16", dtInt16, "short", "short int", "signed short", "signed short int", "int16", "int16_t")
	add("uint16", dtUint16, "ushort", "unsigned short", "unsigned short int", "uint16", "uint16_t")
	add("int32", dtInt32, "int", "signed int", "int32", "int32_t")
	add("uint32", dtUint32, "uint", "unsigned int", "uint32", "uint32_t")
	add("int64", dtInt64, "longlong", "long long", "long long int", "signed long long", "signed long long int", "int64", "int64_t")
	add("uint64", dtUint64, "ulonglong", "unsigned long long", "unsigned long long int", "uint64", "uint64_t")
	add("float32", dtFloat32, "float")
	add("float64", dtFloat64, "double")
	return m
}()

// nrrdFieldAliases maps the older spellings of field names to the current.
var nrrdFieldAliases = map[string]string{
	"datafile": "data file", "lineskip": "line skip", "byteskip": "byte skip",
	"centers": "centerings", "axismins": "axis mins", "axismaxs": "axis maxs",
	"oldmin": "old min", "oldmax": "old max", "blocksize": "block size",
	"sampleunits": "sample units",
}

// parseNRRDHeader parses and checks a NRRD header's text: the magic line
// and the field lines up to, not including, the blank line that ends the
// header. It does no I/O (a detached header's data file is named, not
// opened), so it is what the fuzz test exercises.
func parseNRRDHeader(text []byte) (*NRRDHeader, error) {
	if len(text) > maxNRRDHeader {
		return nil, nrrdErr("header longer than %d bytes", maxNRRDHeader)
	}
	lines := strings.Split(string(text), "\n")
	magic := strings.TrimRight(lines[0], "\r")
	if !strings.HasPrefix(magic, "NRRD") {
		return nil, nrrdErr("no NRRD magic (the file starts %q)", truncate(magic, 16))
	}
	v, err := strconv.Atoi(strings.TrimPrefix(magic, "NRRD"))
	if err != nil || v < 1 || len(magic) != 8 {
		return nil, nrrdErr("magic %q is not NRRD0001 to NRRD0005", truncate(magic, 16))
	}
	if v > 5 {
		return nil, nrrdUnsupported("format %s is newer than NRRD0005, the newest this reader knows", magic)
	}
	h := &NRRDHeader{Version: v, KeyValues: map[string]string{}, ListAxis: -1, Components: 1}

	fields := map[string]string{}
	for n, line := range lines[1:] {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			return nil, nrrdErr("line %d: a blank line inside the header", n+2)
		}
		if line[0] == '#' {
			continue
		}
		// key:=value pairs come before fields: a value may hold ": ".
		if kv := strings.Index(line, ":="); kv >= 0 && (strings.Index(line, ": ") < 0 || kv < strings.Index(line, ": ")) {
			key := line[:kv]
			if key == "" {
				return nil, nrrdErr("line %d: a key:=value pair without a key", n+2)
			}
			if _, dup := h.KeyValues[key]; !dup {
				h.KeyOrder = append(h.KeyOrder, key)
			}
			h.KeyValues[key] = unescapeNRRD(line[kv+2:])
			continue
		}
		colon := strings.Index(line, ": ")
		if colon < 0 {
			return nil, nrrdErr("line %d: %q is neither a field (\"name: value\") nor a key:=value pair", n+2, truncate(line, 40))
		}
		name := strings.ToLower(strings.Join(strings.Fields(line[:colon]), " "))
		if a, ok := nrrdFieldAliases[name]; ok {
			name = a
		}
		if _, dup := fields[name]; dup {
			return nil, nrrdErr("field %q given twice", name)
		}
		fields[name] = strings.TrimSpace(line[colon+2:])
	}

	// Type and encoding.
	tv, ok := fields["type"]
	if !ok {
		return nil, nrrdErr("no \"type\" field")
	}
	t, ok := nrrdTypes[strings.ToLower(strings.Join(strings.Fields(tv), " "))]
	if !ok {
		if strings.EqualFold(tv, "block") {
			return nil, nrrdUnsupported("type block (opaque blocks of bytes) is not a voxel type")
		}
		return nil, nrrdErr("field \"type\": unknown type %q", truncate(tv, 40))
	}
	h.Type, h.Datatype = t.name, t.dt
	bpv, _ := datatypeSize(t.dt)

	enc, ok := fields["encoding"]
	if !ok {
		return nil, nrrdErr("no \"encoding\" field")
	}
	switch strings.ToLower(enc) {
	case "raw":
		h.Encoding = "raw"
	case "gzip", "gz":
		h.Encoding = "gzip"
	case "ascii", "text", "txt":
		h.Encoding = "ascii"
	case "bzip2", "bz2":
		return nil, nrrdUnsupported("encoding bzip2; convert the file to gzip or raw (for example with Teem's unu save -e gzip)")
	case "hex":
		return nil, nrrdUnsupported("encoding hex; convert the file to gzip or raw (for example with Teem's unu save -e gzip)")
	case "zrl":
		return nil, nrrdUnsupported("encoding zrl; convert the file to gzip or raw")
	default:
		return nil, nrrdErr("field \"encoding\": unknown encoding %q", truncate(enc, 40))
	}

	h.ByteOrder = binary.LittleEndian
	switch e, ok := fields["endian"]; {
	case !ok:
		if bpv > 1 && h.Encoding != "ascii" {
			return nil, nrrdErr("no \"endian\" field, which %s voxels stored as %s need", h.Type, h.Encoding)
		}
	case strings.EqualFold(e, "little"):
	case strings.EqualFold(e, "big"):
		h.ByteOrder = binary.BigEndian
	default:
		return nil, nrrdErr("field \"endian\" is %q, want little or big", truncate(e, 40))
	}

	// Dimension and sizes.
	dv, ok := fields["dimension"]
	if !ok {
		return nil, nrrdErr("no \"dimension\" field")
	}
	dim, err := strconv.Atoi(dv)
	if err != nil || dim < 1 || dim > maxNRRDDimension {
		return nil, nrrdErr("field \"dimension\" is %q, want 1 to %d", truncate(dv, 40), maxNRRDDimension)
	}
	sv, ok := fields["sizes"]
	if !ok {
		return nil, nrrdErr("no \"sizes\" field")
	}
	sf := strings.Fields(sv)
	if len(sf) != dim {
		return nil, nrrdErr("field \"sizes\" has %d values for dimension %d", len(sf), dim)
	}
	total := int64(1)
	for n, s := range sf {
		x, err := strconv.ParseInt(s, 10, 64)
		if err != nil || x < 1 {
			return nil, nrrdErr("field \"sizes\": axis %d size %q is not a whole number of at least 1", n, truncate(s, 40))
		}
		if x > MaxVoxels || total > math.MaxInt64/x {
			return nil, nrrdErr("field \"sizes\" (%s) describes more values than any file can hold", truncate(sv, 80))
		}
		total *= x
		h.Sizes = append(h.Sizes, x)
	}
	if dim < 3 || dim > 4 {
		return nil, nrrdUnsupported("a %dD array (sizes %s): polyseg reads 3D volumes, and 4D ones with one non-spatial axis", dim, sv)
	}

	h.Kinds = make([]string, dim)
	if kv, ok := fields["kinds"]; ok {
		kf := strings.Fields(kv)
		if len(kf) != dim {
			return nil, nrrdErr("field \"kinds\" has %d values for dimension %d", len(kf), dim)
		}
		for n, k := range kf {
			if k == "???" || strings.EqualFold(k, "none") {
				k = ""
			}
			h.Kinds[n] = k
		}
	}

	// Geometry: which axes are spatial, and where they lie.
	if err := h.parseGeometry(fields, dim); err != nil {
		return nil, err
	}
	if h.Grid.Len() > 0 && int64(h.Components) > maxNRRDComponents {
		return nil, nrrdUnsupported("%d components on axis %d (more than %d)", h.Components, h.ListAxis, maxNRRDComponents)
	}
	if h.elements() > math.MaxInt64/int64(bpv) {
		return nil, nrrdErr("field \"sizes\" (%s) describes more data than any file can hold", truncate(sv, 80))
	}

	// Where the data are.
	if s, ok := fields["line skip"]; ok {
		h.LineSkip, err = strconv.ParseInt(s, 10, 64)
		if err != nil || h.LineSkip < 0 || h.LineSkip > 1<<30 {
			return nil, nrrdErr("field \"line skip\" is %q, want a whole number from 0", truncate(s, 40))
		}
	}
	if s, ok := fields["byte skip"]; ok {
		h.ByteSkip, err = strconv.ParseInt(s, 10, 64)
		if err != nil || h.ByteSkip < -1 || h.ByteSkip > 1<<40 {
			return nil, nrrdErr("field \"byte skip\" is %q, want -1 or a whole number from 0", truncate(s, 40))
		}
		if h.ByteSkip == -1 && h.Encoding != "raw" {
			return nil, nrrdErr("field \"byte skip\" is -1 (data at the end of the file), which only raw data may use, not %s", h.Encoding)
		}
	}
	if df, ok := fields["data file"]; ok {
		f := strings.Fields(df)
		switch {
		case len(f) == 0:
			return nil, nrrdErr("field \"data file\" is empty")
		case f[0] == "LIST":
			return nil, nrrdUnsupported("\"data file: LIST\" (a list of data files); join them into one file")
		case len(f) >= 4 && strings.Contains(f[0], "%"):
			return nil, nrrdUnsupported("\"data file: %s\" (a data file per slice); join them into one file", truncate(df, 60))
		}
		h.DataPath = df
	}
	return h, nil
}

// parseGeometry finds the spatial axes and the affine.
func (h *NRRDHeader) parseGeometry(fields map[string]string, dim int) error {
	// The world space.
	spaceDim := 0
	if s, ok := fields["space"]; ok {
		switch strings.ToLower(s) {
		case "right-anterior-superior", "ras":
			h.Space = spaceRAS
		case "left-anterior-superior", "las":
			h.Space = spaceLAS
		case "left-posterior-superior", "lps":
			h.Space = spaceLPS
		case "scanner-xyz", "3d-right-handed", "3d-left-handed":
			h.Space = strings.ToLower(s)
			h.Warnings = append(h.Warnings, fmt.Sprintf("space %q names no patient axes; taken as left-posterior-superior, as ITK and 3D Slicer do", s))
		case "right-anterior-superior-time", "rast", "left-anterior-superior-time", "last",
			"left-posterior-superior-time", "lpst", "scanner-xyz-time", "3d-right-handed-time", "3d-left-handed-time":
			return nrrdUnsupported("space %q has a time axis; polyseg reads 3D volumes", s)
		default:
			return nrrdErr("field \"space\": unknown space %q", truncate(s, 40))
		}
		spaceDim = 3
	}
	if s, ok := fields["space dimension"]; ok {
		d, err := strconv.Atoi(s)
		if err != nil || d < 1 {
			return nrrdErr("field \"space dimension\" is %q", truncate(s, 40))
		}
		if spaceDim != 0 && d != spaceDim {
			return nrrdErr("field \"space dimension\" is %d but space %s is 3D", d, h.Space)
		}
		if d != 3 {
			return nrrdUnsupported("a %dD world space; polyseg places volumes in 3D", d)
		}
		if spaceDim == 0 {
			h.Warnings = append(h.Warnings, "no \"space\" names the patient axes; taken as left-posterior-superior, as ITK and 3D Slicer do")
		}
		spaceDim = 3
	}

	var dirs [][3]float64 // per axis; nil entries (none) mark non-spatial axes
	hasDir := make([]bool, dim)
	if s, ok := fields["space directions"]; ok {
		if spaceDim == 0 {
			return nrrdErr("field \"space directions\" without \"space\" or \"space dimension\"")
		}
		vecs, err := parseNRRDVectors(s)
		if err != nil {
			return nrrdErr("field \"space directions\": %v", err)
		}
		if len(vecs) != dim {
			return nrrdErr("field \"space directions\" has %d entries for dimension %d", len(vecs), dim)
		}
		dirs = make([][3]float64, dim)
		for n, v := range vecs {
			if v != nil {
				dirs[n], hasDir[n] = *v, true
			}
		}
	} else if spaceDim != 0 {
		return nrrdErr("field \"space\" without \"space directions\"")
	}

	// Which axes are spatial: those with a direction; without directions,
	// those whose kind is a domain (all, when no kinds are given).
	var spatial []int
	for n := 0; n < dim; n++ {
		switch {
		case dirs != nil:
			if hasDir[n] {
				spatial = append(spatial, n)
			}
		case h.Kinds[n] == "" || h.Kinds[n] == "domain" || h.Kinds[n] == "space":
			spatial = append(spatial, n)
		}
	}
	if dim == 4 && len(spatial) == 4 {
		return nrrdUnsupported("4D array (sizes %v) whose kinds and directions do not say which axis is not spatial", h.Sizes)
	}
	if len(spatial) != 3 {
		return nrrdErr("%d spatial axes (with space directions or of kind domain) in a %dD array; want 3", len(spatial), dim)
	}
	if dim == 4 {
		for n := 0; n < dim; n++ {
			if n != spatial[0] && n != spatial[1] && n != spatial[2] {
				h.ListAxis = n
			}
		}
		if h.ListAxis != 0 && h.ListAxis != 3 {
			return nrrdUnsupported("the non-spatial axis is axis %d of 4; polyseg reads it first or last", h.ListAxis)
		}
		h.Components = int(h.Sizes[h.ListAxis])
	}
	for n, a := range spatial {
		h.Grid.Dims[n] = int(h.Sizes[a])
	}
	if err := CheckDims(h.Grid.Dims); err != nil {
		return nrrdErr("field \"sizes\": %v", err)
	}

	// The affine, in the file's space first.
	a := Identity()
	if dirs != nil {
		for n, ax := range spatial {
			for r := 0; r < 3; r++ {
				a[r][n] = dirs[ax][r]
			}
		}
		if s, ok := fields["space origin"]; ok {
			vecs, err := parseNRRDVectors(s)
			if err != nil || len(vecs) != 1 || vecs[0] == nil {
				return nrrdErr("field \"space origin\" is %q, want one vector (x,y,z)", truncate(s, 60))
			}
			for r := 0; r < 3; r++ {
				a[r][3] = vecs[0][r]
			}
		} else {
			h.Warnings = append(h.Warnings, "no \"space origin\"; the first voxel was placed at (0, 0, 0)")
		}
	} else {
		// No world space: ITK and 3D Slicer read such a file in their
		// LPS world with axes along the space's; so do we, sized by
		// "spacings" when given.
		sp := [3]float64{1, 1, 1}
		given := false
		if s, ok := fields["spacings"]; ok {
			f := strings.Fields(s)
			if len(f) != dim {
				return nrrdErr("field \"spacings\" has %d values for dimension %d", len(f), dim)
			}
			given = true
			for n, ax := range spatial {
				x, err := strconv.ParseFloat(f[ax], 64)
				if err != nil || !(math.Abs(x) >= 1e-6 && math.Abs(x) <= 1e6) {
					return nrrdErr("field \"spacings\": axis %d spacing %q is not a voxel size", ax, truncate(f[ax], 40))
				}
				sp[n] = math.Abs(x)
			}
		}
		for n := range sp {
			a[n][n] = sp[n]
		}
		h.Space = spaceLPS
		if given {
			h.Warnings = append(h.Warnings, fmt.Sprintf("no space directions: the orientation is unknown; voxel sizes %gx%gx%g mm from \"spacings\", axes taken as left-posterior-superior, as ITK and 3D Slicer do", sp[0], sp[1], sp[2]))
		} else {
			h.Warnings = append(h.Warnings, "no space directions or spacings: the orientation and voxel size are unknown; 1 mm voxels along left-posterior-superior axes were assumed")
		}
	}
	for r := 0; r < 3; r++ {
		for c := 0; c < 4; c++ {
			if math.IsNaN(a[r][c]) || math.IsInf(a[r][c], 0) || math.Abs(a[r][c]) > 1e9 {
				return nrrdErr("field \"space directions\" or \"space origin\" holds %v, not a finite coordinate in mm", a[r][c])
			}
		}
	}
	// To RAS+: LPS negates x and y, LAS x.
	switch h.Space {
	case spaceRAS:
	case spaceLAS:
		a[0] = negRow(a[0])
	default: // LPS and the spaces taken as LPS
		a[0], a[1] = negRow(a[0]), negRow(a[1])
	}
	if !affineUsable(a) {
		return nrrdErr("field \"space directions\" %q is singular: its vectors do not span 3D space", truncate(fields["space directions"], 80))
	}
	h.Grid.Affine = a
	return nil
}

func negRow(r [4]float64) [4]float64 { return [4]float64{-r[0], -r[1], -r[2], -r[3]} }

// affineUsable reports whether a is finite and invertible with an inverse
// that is not absurdly large (a determinant that barely escapes zero).
func affineUsable(a Affine) bool {
	inv, err := a.Inverse()
	if err != nil {
		return false
	}
	for r := 0; r < 3; r++ {
		for c := 0; c < 4; c++ {
			if math.IsNaN(a[r][c]) || math.IsInf(a[r][c], 0) ||
				math.IsNaN(inv[r][c]) || math.IsInf(inv[r][c], 0) || math.Abs(inv[r][c]) > 1e12 {
				return false
			}
		}
	}
	return true
}

// parseNRRDVectors parses a list of "(x,y,z)" vectors and "none" entries
// (nil in the result). Only 3D vectors are accepted.
func parseNRRDVectors(s string) ([]*[3]float64, error) {
	var out []*[3]float64
	s = strings.TrimSpace(s)
	for s != "" {
		if len(out) > maxNRRDDimension {
			return nil, errors.New("more entries than a NRRD has axes")
		}
		if strings.HasPrefix(strings.ToLower(s), "none") {
			out = append(out, nil)
			s = strings.TrimSpace(s[4:])
			continue
		}
		if s[0] != '(' {
			return nil, fmt.Errorf("%q is neither a vector (x,y,z) nor none", truncate(s, 40))
		}
		end := strings.IndexByte(s, ')')
		if end < 0 {
			return nil, fmt.Errorf("%q: a vector without its closing parenthesis", truncate(s, 40))
		}
		parts := strings.Split(s[1:end], ",")
		if len(parts) != 3 {
			return nil, fmt.Errorf("vector %q has %d components, want 3", truncate(s[:end+1], 60), len(parts))
		}
		var v [3]float64
		for i, p := range parts {
			x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("vector %q: component %q is not a finite number", truncate(s[:end+1], 60), truncate(p, 30))
			}
			v[i] = x
		}
		out = append(out, &v)
		s = strings.TrimSpace(s[end+1:])
	}
	return out, nil
}

// unescapeNRRD undoes the escapes of a key:=value value: \n and \\.
func unescapeNRRD(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case '\\':
				b.WriteByte('\\')
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// escapeNRRD escapes a key:=value value for writing.
func escapeNRRD(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", "").Replace(s)
}

// truncate shortens s for messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// splitNRRDHeader finds the end of the header in b, the start of a file:
// the blank line after the fields. It returns the header's text (without
// the blank line) and the offset of the data after it, or ok false when b
// holds no blank line yet.
func splitNRRDHeader(b []byte) (text []byte, data int64, ok bool) {
	pos := 0
	for {
		i := bytes.IndexByte(b[pos:], '\n')
		if i < 0 {
			return nil, 0, false
		}
		line := bytes.TrimRight(b[pos:pos+i], "\r")
		if len(line) == 0 && pos > 0 {
			end := pos - 1 // the newline ending the last field
			if end > 0 && b[end-1] == '\r' {
				end--
			}
			return b[:end], int64(pos + i + 1), true
		}
		pos += i + 1
	}
}
