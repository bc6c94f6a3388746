package volume

import (
	"context"
	"fmt"
	"strconv"
)

// ReadLabelsNRRD reads a label volume from a NRRD file on its own grid: a
// plain label map (.nrrd, .nhdr) or a 3D Slicer segmentation (.seg.nrrd),
// whose segment names, colours, IDs and tags come back in the labels'
// Segments. Every value must be a whole number from 0 to 65535.
//
// A segmentation whose segments lie in several layers (a 4D file: Slicer
// stores overlapping segments in layers of their own) is merged into one
// label volume: each segment keeps its label value where no segment of an
// earlier layer has it, and gets the next free value otherwise. Segments
// that share voxels cannot be held one per voxel, and such a file is
// refused (ErrSegmentsOverlap) naming them, rather than changed silently.
// Voxels outside a segment's SegmentN_Extent are dropped, as Slicer does.
// Slicer's Segmentation_ReferenceImageExtentOffset needs nothing more: it
// records where a cropped file lies in the reference image's voxels, and
// Slicer writes the space origin of the cropped file already shifted by
// it, so that the file's own geometry places it in the world.
func ReadLabelsNRRD(path string) (*Labels, error) {
	l, _, err := readLabelsNRRD(context.Background(), path)
	return l, err
}

// readLabelsNRRD is ReadLabelsNRRD that also returns the warnings.
func readLabelsNRRD(ctx context.Context, path string) (*Labels, []string, error) {
	h, err := readNRRDHeader(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	segs, err := parseSlicerSegments(h)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	d, err := openNRRDData(h, true)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer d.close()

	l := NewLabels(h.Grid)
	n := int64(h.Grid.Len())
	layers := h.Components
	// out maps a segment's (layer, value) to its value in l.
	out := func(s slicerSegment) uint16 { return s.Value }
	var merge *labelMerger
	if layers == 1 {
		err = forEachValue(ctx, d.r, h, n, func(start int64, vals []float64) error {
			dst := l.Data[start:]
			for i, v := range vals {
				x, err := nrrdLabelValue(v, h, start+int64(i))
				if err != nil {
					return err
				}
				dst[i] = x
			}
			return nil
		})
	} else {
		merge = newLabelMerger(l.Data, layers)
		// The segments first, in their order, so that their values
		// are kept where they can be.
		for _, s := range segs {
			if _, err := merge.assign(s.layer, s.Value); err != nil {
				return nil, nil, fmt.Errorf("read %s: %w", path, err)
			}
		}
		out = func(s slicerSegment) uint16 { return merge.lut[s.layer][s.Value] }
		comps := int64(layers)
		err = forEachValue(ctx, d.r, h, n*comps, func(start int64, vals []float64) error {
			for i, v := range vals {
				e := start + int64(i)
				x, err := nrrdLabelValue(v, h, e)
				if err != nil {
					return err
				}
				vox, layer := e/comps, e%comps
				if h.ListAxis == 3 {
					vox, layer = e%n, e/n
				}
				if err := merge.put(vox, int(layer), x); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err == nil && h.Encoding == "gzip" {
		err = checkEnd(d.r, &NIfTIHeader{Compressed: true, Frames: 1})
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", pathOf(h), err)
	}

	for _, s := range segs {
		seg := s.Segment
		seg.Value = out(s)
		l.Segments = append(l.Segments, seg)
	}
	if merge != nil {
		name := func(v uint16) string {
			for _, s := range l.Segments {
				if s.Value == v {
					return s.Name
				}
			}
			for layer, lut := range merge.lut {
				for fv, o := range lut {
					if o == v && lut != nil {
						return fmt.Sprintf("label %d of layer %d", fv, layer)
					}
				}
			}
			return "label " + strconv.Itoa(int(v))
		}
		if err := merge.overlapError(name); err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", path, err)
		}
		if len(segs) > 0 {
			h.Warnings = append(h.Warnings, fmt.Sprintf("the segmentation's %d layers were merged into one label volume (no segments overlap)", layers))
		}
	}
	if dropped := clipToExtents(l, segs, out); dropped > 0 {
		h.Warnings = append(h.Warnings, fmt.Sprintf("%d voxels outside their segment's extent (SegmentN_Extent) were dropped, as 3D Slicer drops them", dropped))
	}
	return l, h.Warnings, nil
}

// clipToExtents clears the voxels of each segment that lie outside its
// extent, and returns how many.
func clipToExtents(l *Labels, segs []slicerSegment, out func(slicerSegment) uint16) int {
	var ext [][6]int
	var idx []int32 // output value → index in ext + 1
	d := l.Dims
	for _, s := range segs {
		e := s.extent
		if !s.hasExtent || (e[0] <= 0 && e[2] <= 0 && e[4] <= 0 && e[1] >= d[0]-1 && e[3] >= d[1]-1 && e[5] >= d[2]-1) {
			continue
		}
		if idx == nil {
			idx = make([]int32, 1<<16)
		}
		ext = append(ext, e)
		idx[out(s)] = int32(len(ext))
	}
	if idx == nil {
		return 0
	}
	dropped := 0
	p := 0
	for k := 0; k < d[2]; k++ {
		for j := 0; j < d[1]; j++ {
			for i := 0; i < d[0]; i++ {
				if v := l.Data[p]; v != 0 && idx[v] != 0 {
					e := ext[idx[v]-1]
					if i < e[0] || i > e[1] || j < e[2] || j > e[3] || k < e[4] || k > e[5] {
						l.Data[p] = 0
						dropped++
					}
				}
				p++
			}
		}
	}
	return dropped
}
