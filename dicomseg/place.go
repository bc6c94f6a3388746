package dicomseg

import (
	"context"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/volume"
)

// Imported is a segmentation brought onto its series' grid.
type Imported struct {
	Labels *volume.Labels
	// Segments are in the file's order.
	Segments []ImportedSegment
	// Warnings say what a user should know: overlaps resolved, empty
	// segments.
	Warnings []string
}

// ImportedSegment is one segment as placed.
type ImportedSegment struct {
	// Info is what the file says of the segment.
	Info SegmentInfo
	// Value is the segment's label value, Name its name for a colour
	// table (one word) and Color its colour (the file's, else the
	// table's).
	Value  uint16
	Name   string
	Color  color.NRGBA
	Voxels int // after overlaps were resolved
}

// PlaceOptions tune Place.
type PlaceOptions struct {
	// Table gives known structures their values: a segment named as one
	// of its labels, or coded as the SNOMED CT mapping codes one, gets that
	// label's value; others get new values above the table's. Nil means
	// the default table (TotalSegmentator v2).
	Table *assets.ColorTable
}

// Place brings the segmentation onto the series src, voxel for voxel: each
// frame onto the slice whose SOP Instance UID it names as its source, else
// onto the slice at its plane position. It refuses, naming the cause and
// loading nothing, a segmentation of another series or frame of reference,
// frames of another size, orientation or pixel spacing than the slices,
// and a frame that matches no slice.
//
// Overlapping segments cannot all be kept in one label volume: a voxel in
// several segments gets the smallest of them (fewest voxels), so that a
// lesion inside an organ survives, and a warning counts such voxels.
func (s *SEG) Place(ctx context.Context, src *Source, opt PlaceOptions) (*Imported, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("DICOM SEG %s onto series in %s: "+format, append([]any{s.Name, src.Dir}, a...)...)
	}
	if err := s.checkSeries(src); err != nil {
		return nil, fail("%w", err)
	}
	g := src.Grid
	nx, ny := g.Dims[0], g.Dims[1]
	if s.Cols != nx || s.Rows != ny {
		return nil, fail("%w: its frames are %dx%d pixels, the series' slices %dx%d: segmentations of part of a slice, or resampled ones, are not supported", ErrUnsupported, s.Cols, s.Rows, nx, ny)
	}
	if s.HasOrientation && !near(s.Orientation[:], src.Orientation[:], 1e-3) {
		return nil, fail("%w: its frames are oriented %v, the series' slices %v", errNotSource, s.Orientation, src.Orientation)
	}
	if s.HasSpacing && !near(s.PixelSpacing[:], src.PixelSpacing[:], 1e-3*src.PixelSpacing[0]) {
		return nil, fail("%w: its pixel spacing is %v mm, the series' %v mm", errNotSource, s.PixelSpacing, src.PixelSpacing)
	}

	// Each frame's slice.
	slice := make([]int, len(s.Frames))
	tol := positionTol(src)
	for n, f := range s.Frames {
		k, how := -1, ""
		for _, u := range f.Sources {
			if kk, ok := src.slice(u); ok {
				k, how = kk, "its source image "+u
				break
			}
		}
		if k >= 0 && f.HasPosition {
			if d := dist(f.Position, src.Instances[k].Position); d > tol {
				return nil, fail("%w: frame %d names %s as its source, but lies %.3g mm from that slice (%s)", ErrFormat, n+1, how, d, src.Instances[k].Path)
			}
		}
		if k < 0 && f.HasPosition {
			k = src.sliceAt(f.Position, tol)
		}
		if k < 0 {
			where := "no plane position"
			if f.HasPosition {
				where = fmt.Sprintf("plane position %v (LPS mm)", f.Position)
			}
			refs := "no source image"
			if len(f.Sources) > 0 {
				refs = "source image " + strings.Join(f.Sources, ", ")
			}
			return nil, fail("%w: frame %d (segment %d) matches no slice of the series: %s, %s", errNotSource, n+1, f.Segment, refs, where)
		}
		slice[n] = k
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Values and names.
	table := opt.Table
	if table == nil {
		table = assets.DefaultColorTable()
	}
	out := &Imported{Labels: volume.NewLabels(g)}
	segIndex := map[int]int{}
	used := map[uint16]bool{}
	top := 0
	for _, l := range table.Labels() {
		top = max(top, int(l.Value))
	}
	var pending []int
	for i, si := range s.Segments {
		segIndex[si.Number] = i
		is := ImportedSegment{Info: si, Name: tableName(si.Label, si.Number)}
		if l, ok := lookupName(table, is.Name); ok && !used[l.Value] {
			is.Value, is.Name = l.Value, l.Name
		} else if name, ok := nameForCoding(si.Coding); ok {
			if l, ok := lookupName(table, name); ok && !used[l.Value] {
				is.Value, is.Name = l.Value, l.Name
			}
		}
		if is.Value != 0 {
			used[is.Value] = true
			is.Color = table.Color(is.Value)
		} else {
			pending = append(pending, i)
		}
		if si.HasColor {
			is.Color = si.Color
		}
		out.Segments = append(out.Segments, is)
	}
	// A name this package gives a value without one ("label_200") says
	// which value it was.
	var rest []int
	for _, i := range pending {
		v, err := strconv.Atoi(strings.TrimPrefix(out.Segments[i].Name, "label_"))
		if strings.HasPrefix(out.Segments[i].Name, "label_") && err == nil && v > 0 && v <= math.MaxUint16 && !used[uint16(v)] {
			if _, named := table.Lookup(uint16(v)); !named {
				used[uint16(v)] = true
				out.Segments[i].Value = uint16(v)
				if !out.Segments[i].Info.HasColor {
					out.Segments[i].Color = assets.FallbackColor(uint16(v))
				}
				continue
			}
		}
		rest = append(rest, i)
	}
	next := top + 1
	for _, i := range rest {
		for next <= math.MaxUint16 && used[uint16(next)] {
			next++
		}
		if next > math.MaxUint16 {
			return nil, fail("%w: more segments than label values", ErrUnsupported)
		}
		v := uint16(next)
		used[v] = true
		out.Segments[i].Value = v
		if !out.Segments[i].Info.HasColor {
			out.Segments[i].Color = assets.FallbackColor(v)
		}
	}

	// Paint the largest segments first, so that the smallest wins where
	// they overlap.
	per := nx * ny
	size := make([]int, len(s.Segments))
	for n, f := range s.Frames {
		size[segIndex[f.Segment]] += s.FrameCount(n)
	}
	order := make([]int, len(s.Frames))
	for n := range order {
		order[n] = n
	}
	slices.SortStableFunc(order, func(a, b int) int {
		sa, sb := size[segIndex[s.Frames[a].Segment]], size[segIndex[s.Frames[b].Segment]]
		if sa != sb {
			return sb - sa
		}
		return s.Frames[a].Segment - s.Frames[b].Segment
	})
	type pair struct{ lost, won uint16 }
	overlaps := map[pair]int{}
	data := out.Labels.Data
	for _, n := range order {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v := out.Segments[segIndex[s.Frames[n].Segment]].Value
		base := slice[n] * per
		bit := int64(n) * int64(per)
		for p := 0; p < per; p, bit = p+1, bit+1 {
			if s.bits[bit>>3]&(1<<(bit&7)) == 0 {
				continue
			}
			if old := data[base+p]; old != 0 && old != v {
				overlaps[pair{old, v}]++
			}
			data[base+p] = v
		}
	}
	counts := map[uint16]int{}
	for _, v := range data {
		counts[v]++
	}
	for i := range out.Segments {
		out.Segments[i].Voxels = counts[out.Segments[i].Value]
		if out.Segments[i].Info.Frames == 0 {
			out.Warnings = append(out.Warnings, fmt.Sprintf("segment %d (%s) is empty", out.Segments[i].Info.Number, out.Segments[i].Info.Label))
		}
	}
	if len(overlaps) > 0 {
		name := map[uint16]string{}
		for _, is := range out.Segments {
			name[is.Value] = fmt.Sprintf("%d (%s)", is.Info.Number, is.Info.Label)
		}
		var ps []pair
		for p := range overlaps {
			ps = append(ps, p)
		}
		slices.SortFunc(ps, func(a, b pair) int {
			if a.lost != b.lost {
				return int(a.lost) - int(b.lost)
			}
			return int(a.won) - int(b.won)
		})
		for _, p := range ps {
			out.Warnings = append(out.Warnings, fmt.Sprintf("segments %s and %s overlap in %d voxels: they were given %s, the smaller", name[p.lost], name[p.won], overlaps[p], name[p.won]))
		}
	}
	return out, nil
}

// checkSeries refuses a segmentation that says it is of another series or
// frame of reference than src.
func (s *SEG) checkSeries(src *Source) error {
	if len(s.Referenced) > 0 {
		ok := false
		var named []string
		for _, r := range s.Referenced {
			named = append(named, r.SeriesUID)
			if r.SeriesUID == src.SeriesUID {
				ok = true
			}
		}
		if !ok && src.DerivedSeries {
			// The scan's UIDs were blanked: another tool may have
			// written the reference some other way. The instances
			// decide.
			for _, r := range s.Referenced {
				for _, u := range r.Instances {
					if _, in := src.slice(u); in {
						ok = true
					}
				}
			}
		}
		if !ok {
			have := src.SeriesUID
			if src.DerivedSeries {
				have = "one without a SeriesInstanceUID, none of whose slices it names"
			}
			return fmt.Errorf("%w: it is of series %s, the scan is %s", errNotSource, strings.Join(named, ", "), have)
		}
	}
	if s.FrameOfReferenceUID != "" && !src.DerivedFrame && s.FrameOfReferenceUID != src.FrameOfReferenceUID {
		return fmt.Errorf("%w: its frame of reference is %s, the series' %s", errNotSource, s.FrameOfReferenceUID, src.FrameOfReferenceUID)
	}
	return nil
}

// positionTol is how far, in mm, a frame may lie from a slice and be on
// it: positions are decimal strings of limited precision, and writers
// round them differently; a tenth of the slice spacing, at least 0.05 mm,
// tells slices apart with room to spare.
func positionTol(src *Source) float64 {
	return math.Max(0.05, 0.1*src.Grid.Spacing()[2])
}

// sliceAt returns the slice whose position is within tol mm of p, or -1.
func (s *Source) sliceAt(p [3]float64, tol float64) int {
	best, bestD := -1, tol
	for k, in := range s.Instances {
		if d := dist(p, in.Position); d <= bestD {
			best, bestD = k, d
		}
	}
	return best
}

func dist(a, b [3]float64) float64 {
	return math.Sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2]))
}

// tableName makes a segment label a colour-table name: one word.
func tableName(label string, number int) string {
	n := strings.Join(strings.Fields(label), "_")
	if n == "" {
		return fmt.Sprintf("segment_%d", number)
	}
	return n
}

func lookupName(t *assets.ColorTable, name string) (assets.Label, bool) {
	for _, l := range t.Labels() {
		if l.Value != 0 && strings.EqualFold(l.Name, name) {
			return l, true
		}
	}
	return assets.Label{}, false
}
