package volume

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/polyseg/polyseg/assets"
)

// Segment names and colours one label value as a segmentation file does:
// a 3D Slicer segmentation's segment (.seg.nrrd), or an entry of the colour
// table written beside a NIfTI label volume.
type Segment struct {
	Value uint16
	Name  string
	// Color is the segment's colour, opaque; a zero alpha means the file
	// gave none.
	Color color.NRGBA
	// ID and Tags are a Slicer segment's ID ("Segment_1") and tags
	// ("Segmentation.Status:inprogress|..."), kept so that a segmentation
	// read and written again keeps them; empty from other sources.
	ID   string
	Tags string
}

// slicerSegment is a segment as a .seg.nrrd header describes it: the
// label value it has in its layer, which layer, and the extent (in the
// file's voxels, inclusive; empty when i0 > i1) outside which 3D Slicer
// ignores its voxels.
type slicerSegment struct {
	Segment
	index     int
	layer     int
	extent    [6]int
	hasExtent bool
}

// maxSegments bounds how many SegmentN_ fields are looked for.
const maxSegments = 1 << 16

// parseSlicerSegments reads the segment fields 3D Slicer's segmentation
// storage node (vtkMRMLSegmentationStorageNode) writes: for N = 0, 1, ...
// SegmentN_ID, _Name, _Color, _LabelValue, _Layer, _Extent, _Tags. A segment
// without a label value has value 1, and one without a layer has layer N in
// a layered file (Slicer's older one-layer-per-segment files) and layer 0
// in a 3D one.
func parseSlicerSegments(h *NRRDHeader) ([]slicerSegment, error) {
	var segs []slicerSegment
	for n := 0; n < maxSegments; n++ {
		p := "Segment" + strconv.Itoa(n) + "_"
		kv := func(k string) (string, bool) {
			v, ok := h.KeyValues[p+k]
			return strings.TrimSpace(v), ok
		}
		id, hasID := kv("ID")
		name, hasName := kv("Name")
		lv, hasValue := kv("LabelValue")
		layer, hasLayer := kv("Layer")
		if !hasID && !hasName && !hasValue && !hasLayer {
			break
		}
		s := slicerSegment{index: n}
		if h.Components > 1 {
			s.layer = n
		}
		s.ID, s.Tags = id, h.KeyValues[p+"Tags"]
		s.Name = name
		if s.Name == "" {
			s.Name = id
		}
		s.Value = 1
		if hasValue {
			x, err := strconv.Atoi(lv)
			if err != nil || x < 1 || x > math.MaxUint16 {
				return nil, nrrdErr("%sLabelValue is %q, want a label value from 1 to 65535", p, truncate(lv, 30))
			}
			s.Value = uint16(x)
		}
		if hasLayer {
			x, err := strconv.Atoi(layer)
			if err != nil || x < 0 {
				return nil, nrrdErr("%sLayer is %q, want a layer number from 0", p, truncate(layer, 30))
			}
			s.layer = x
		}
		if s.layer >= h.Components {
			return nil, nrrdErr("%sLayer is %d but the file has %d layer(s)", p, s.layer, h.Components)
		}
		if s.Name == "" {
			s.Name = fmt.Sprintf("Segment_%d", s.Value)
		}
		c, ok := kv("Color")
		if !ok {
			c, ok = kv("DefaultColor") // older files
		}
		if ok {
			if rgb, err := parseFloats(c, 3); err == nil {
				s.Color = color.NRGBA{R: unitByte(rgb[0]), G: unitByte(rgb[1]), B: unitByte(rgb[2]), A: 255}
			} else {
				h.Warnings = append(h.Warnings, fmt.Sprintf("%sColor %q is not three numbers; the segment's colour was not read", p, truncate(c, 40)))
			}
		}
		if e, ok := kv("Extent"); ok {
			x, err := parseFloats(e, 6)
			if err != nil {
				return nil, nrrdErr("%sExtent is %q, want six whole numbers", p, truncate(e, 60))
			}
			for i := range x {
				if x[i] != math.Trunc(x[i]) || math.Abs(x[i]) > MaxVoxels {
					return nil, nrrdErr("%sExtent is %q, want six whole numbers", p, truncate(e, 60))
				}
				s.extent[i] = int(x[i])
			}
			s.hasExtent = true
		}
		segs = append(segs, s)
	}
	return segs, nil
}

// parseFloats parses exactly n white-space separated numbers.
func parseFloats(s string, n int) ([]float64, error) {
	f := strings.Fields(s)
	if len(f) != n {
		return nil, fmt.Errorf("%d numbers, want %d", len(f), n)
	}
	out := make([]float64, n)
	for i, x := range f {
		v, err := strconv.ParseFloat(x, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%q is not a number", x)
		}
		out[i] = v
	}
	return out, nil
}

// unitByte maps a colour component in [0, 1] to a byte.
func unitByte(x float64) uint8 {
	return uint8(math.Round(min(max(x, 0), 1) * 255))
}

// slicerColor formats a colour as Slicer's "r g b" in [0, 1].
func slicerColor(c color.NRGBA) string {
	f := func(b uint8) string { return strconv.FormatFloat(float64(b)/255, 'g', 6, 64) }
	return f(c.R) + " " + f(c.G) + " " + f(c.B)
}

// segmentGrey is the colour of a segment written without one.
var segmentGrey = color.NRGBA{R: 128, G: 128, B: 128, A: 255}

// labelMerger brings the layers of a segmentation into one label volume:
// each (layer, value) pair becomes one output value, the value itself
// where that is still free, and a voxel claimed by two pairs is counted as
// an overlap.
type labelMerger struct {
	out      []uint16
	lut      [][]uint16 // per layer, value → output value (0: not yet assigned)
	taken    []bool     // output values in use
	next     int        // where the search for a free value starts
	overlaps map[[2]uint16]int
}

func newLabelMerger(out []uint16, layers int) *labelMerger {
	return &labelMerger{out: out, lut: make([][]uint16, layers), taken: make([]bool, 1<<16), next: 1,
		overlaps: map[[2]uint16]int{}}
}

// assign returns the output value of value v in layer l, choosing one the
// first time.
func (m *labelMerger) assign(l int, v uint16) (uint16, error) {
	if m.lut[l] == nil {
		m.lut[l] = make([]uint16, 1<<16)
	}
	if o := m.lut[l][v]; o != 0 {
		return o, nil
	}
	o := int(v)
	if m.taken[o] {
		for m.next < len(m.taken) && m.taken[m.next] {
			m.next++
		}
		if m.next >= len(m.taken) {
			return 0, fmt.Errorf("the layers hold more than %d distinct segments", math.MaxUint16)
		}
		o = m.next
	}
	m.taken[o] = true
	m.lut[l][v] = uint16(o)
	return uint16(o), nil
}

// put records value v of layer l at voxel n.
func (m *labelMerger) put(n int64, l int, v uint16) error {
	if v == 0 {
		return nil
	}
	o, err := m.assign(l, v)
	if err != nil {
		return err
	}
	switch cur := m.out[n]; {
	case cur == 0:
		m.out[n] = o
	case cur != o:
		m.overlaps[[2]uint16{cur, o}]++
	}
	return nil
}

// overlapError describes the overlaps found, naming the segments.
func (m *labelMerger) overlapError(name func(uint16) string) error {
	if len(m.overlaps) == 0 {
		return nil
	}
	type pair struct {
		a, b uint16
		n    int
	}
	var ps []pair
	total := 0
	for k, n := range m.overlaps {
		ps = append(ps, pair{k[0], k[1], n})
		total += n
	}
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].n != ps[j].n {
			return ps[i].n > ps[j].n
		}
		return ps[i].a < ps[j].a || (ps[i].a == ps[j].a && ps[i].b < ps[j].b)
	})
	var parts []string
	for i, p := range ps {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more pairs", len(ps)-3))
			break
		}
		parts = append(parts, fmt.Sprintf("%q and %q in %d voxels", name(p.a), name(p.b), p.n))
	}
	return fmt.Errorf("%w: segments overlap (%s): polyseg holds one segment per voxel; "+
		"remove the overlap in 3D Slicer (Segment Editor: Logical operators, Subtract) and save again, "+
		"or export a label map", ErrSegmentsOverlap, strings.Join(parts, ", "))
}

// ErrSegmentsOverlap is wrapped by the error for a segmentation whose
// segments share voxels: a label volume holds one segment per voxel, so
// such a file is refused rather than silently changed.
var ErrSegmentsOverlap = fmt.Errorf("%w: overlapping segments", ErrNRRDUnsupported)

// tableName makes a name fit for a colour table, a file of white-space
// separated fields: white space inside becomes underscores.
func tableName(name string) string { return strings.Join(strings.Fields(name), "_") }

// ColorTablePath returns the colour table that goes with a NIfTI label
// volume: beside it, with .nii or .nii.gz replaced by .ctbl (3D Slicer's
// colour table file, "value name r g b a" per line): labels.nii.gz →
// labels.ctbl.
func ColorTablePath(path string) string {
	base := path
	l := strings.ToLower(base)
	switch {
	case strings.HasSuffix(l, ".nii.gz"):
		base = base[:len(base)-len(".nii.gz")]
	case strings.HasSuffix(l, ".nii"):
		base = base[:len(base)-len(".nii")]
	}
	return base + ".ctbl"
}

// readColorTableSidecar reads the colour table beside a NIfTI label file,
// if there is one, as segments. A table that cannot be read is reported as
// a warning: the labels themselves are fine.
func readColorTableSidecar(path string) ([]Segment, string) {
	ct := ColorTablePath(path)
	if _, err := os.Stat(ct); err != nil {
		return nil, ""
	}
	t, err := assets.ReadColorTableFile(ct)
	if err != nil {
		return nil, fmt.Sprintf("the colour table beside the labels was not used: %v", err)
	}
	var segs []Segment
	for _, l := range t.Labels() {
		if l.Value == 0 {
			continue
		}
		c := l.Color
		c.A = 255
		segs = append(segs, Segment{Value: l.Value, Name: l.Name, Color: c})
	}
	return segs, ""
}

// writeColorTableSidecar writes segs as the colour table beside the NIfTI
// label file path.
func writeColorTableSidecar(path string, segs []Segment) error {
	seen := map[uint16]bool{}
	var labels []assets.Label
	for _, s := range segs {
		if s.Value == 0 || seen[s.Value] {
			continue
		}
		seen[s.Value] = true
		name := tableName(s.Name)
		if name == "" {
			name = "Segment_" + strconv.Itoa(int(s.Value))
		}
		c := s.Color
		if c.A == 0 {
			c = segmentGrey
		}
		labels = append(labels, assets.Label{Value: s.Value, Name: name, Color: c})
	}
	t, err := assets.NewColorTable(labels)
	if err != nil {
		return err
	}
	return assets.WriteColorTableFile(ColorTablePath(path), t)
}
