package dataset

// Check verifies what nnU-Net v2's --verify_dataset_integrity verifies
// (nnunetv2/experiment_planning/verify_dataset_integrity.py): dataset.json's
// required members, labels declared consecutively from a background of 0
// (an ignore label above them all), numTraining equal to the cases found,
// every case with all its channels and its label, no NaN in an image, label
// values among those declared, and the same grid for a case's images and
// label. It is stricter in two places, because polyseg overlays labels by
// their grid: a different origin or direction is an error (nnU-Net only
// warns), and files in imagesTr and labelsTr that are not part of a case
// are reported (nnU-Net ignores them).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/polyseg/polyseg/internal/lockfile"
	"github.com/polyseg/polyseg/volume"
)

// Problem is one thing Check found.
type Problem struct {
	// Case is the case concerned; "" for the dataset as a whole.
	Case string
	// File is the file concerned, relative to the dataset folder, if any.
	File string
	What string
	// Note marks what is worth knowing but does not fail the check.
	Note bool
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Case != "" {
		fmt.Fprintf(&b, "case %s: ", p.Case)
	}
	if p.File != "" {
		fmt.Fprintf(&b, "%s: ", p.File)
	}
	b.WriteString(p.What)
	return b.String()
}

// Report is the outcome of Check.
type Report struct {
	Dir      string
	Layout   Layout
	Cases    int
	Problems []Problem // each fails the check
	Notes    []Problem // worth knowing, not failures
}

// OK reports whether the dataset passed.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) add(p Problem) {
	if p.Note {
		r.Notes = append(r.Notes, p)
	} else {
		r.Problems = append(r.Problems, p)
	}
}

// Geometry tolerances, as numpy.allclose(a, b, rtol, atol) with which
// nnU-Net compares spacings and affines; atol is raised from NumPy's 1e-8
// to 1e-5 so that the float32 rounding of a NIfTI header does not count.
const (
	gridRtol = 1e-5
	gridAtol = 1e-5
)

// Check reads every file of the dataset and reports what nnU-Net would
// refuse, naming the case and the file. progress, when not nil, hears of
// each case checked. The error is for the check itself failing (ctx
// cancelled); a broken dataset is a Report that is not OK.
func (d *Dataset) Check(ctx context.Context, progress func(done, total int)) (*Report, error) {
	r := &Report{Dir: d.Dir, Layout: d.Layout, Cases: len(d.Cases)}
	if d.Layout == Plain {
		r.add(Problem{What: "not a dataset: no dataset.json and no imagesTr folder (polyseg dataset init turns a folder of scans into an nnU-Net dataset)"})
		return r, nil
	}
	for _, p := range d.issues {
		r.add(p)
	}
	declared, canRead := d.checkDescription(r)
	d.checkPending(r)
	seen := map[string]bool{}
	for i, c := range d.Cases {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if seen[c.ID] {
			r.add(Problem{Case: c.ID, What: "listed more than once"})
		}
		seen[c.ID] = true
		d.checkCase(ctx, r, c, declared, canRead)
		if progress != nil {
			progress(i+1, len(d.Cases))
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// checkDescription checks dataset.json's members. It returns the declared
// label values (nil when they cannot be known) and whether the files are
// in a format polyseg reads.
func (d *Dataset) checkDescription(r *Report) (declared map[uint16]bool, canRead bool) {
	desc := d.description()
	canRead = true
	if desc == nil {
		return nil, canRead
	}
	required := []string{"labels", "channel_names", "numTraining", "file_ending"}
	if desc.MSD {
		required = []string{"labels", "modality", "numTraining", "training"}
	}
	var missing []string
	for _, k := range required {
		if !desc.has(k) && !(k == "modality" && desc.has("channel_names")) {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		r.add(Problem{File: JSONName, What: "missing required members: " + strings.Join(missing, ", ")})
	}
	if e := desc.FileEnding; e != "" && e != ".nii.gz" && e != ".nii" {
		r.add(Problem{File: JSONName, What: fmt.Sprintf("file_ending %q: polyseg reads NIfTI (.nii.gz, .nii), so the files' contents were not verified", e)})
		canRead = false
	}
	if desc.has("channel_names") || desc.has("modality") {
		if len(desc.Channels) == 0 {
			r.add(Problem{File: JSONName, What: "no channels declared"})
		}
		for i, ch := range desc.Channels {
			if ch.Index != i {
				r.add(Problem{File: JSONName, What: fmt.Sprintf("channels must be numbered 0, 1, 2, ...: channel %d is missing", i)})
				break
			}
		}
	}
	if desc.NumTraining >= 0 && desc.NumTraining != len(d.Cases) {
		r.add(Problem{File: JSONName, What: fmt.Sprintf("numTraining is %d but there are %d cases", desc.NumTraining, len(d.Cases))})
	}
	if !desc.has("labels") {
		return nil, canRead
	}
	declared = map[uint16]bool{}
	vals := desc.allValues()
	for _, v := range vals {
		declared[v] = true
	}
	names := desc.names()
	switch {
	case desc.MSD && !declared[0]:
		r.add(Problem{File: JSONName, What: "labels: no background (value 0) declared"})
	case !desc.MSD && !slices.Contains(desc.Labels, Label{Value: 0, Name: "background"}):
		r.add(Problem{File: JSONName, What: `labels: nnU-Net needs "background": 0`})
	}
	for i := 1; i < len(vals); i++ {
		if vals[i] != vals[i-1]+1 {
			p := Problem{File: JSONName, What: fmt.Sprintf("labels must be consecutive (0, 1, 2, ...) as nnU-Net requires: %d (%s) follows %d",
				vals[i], names[vals[i]], vals[i-1])}
			if desc.MSD {
				// The Decathlon's format does not require it; nnU-Net,
				// which such a dataset is converted for, does.
				p.What += " (nnU-Net would refuse this dataset after conversion)"
				p.Note = true
			}
			r.add(p)
			break
		}
	}
	for _, l := range desc.Labels {
		if l.Name == "ignore" && !desc.MSD && l.Value != vals[len(vals)-1] {
			r.add(Problem{File: JSONName, What: fmt.Sprintf("labels: the ignore label %d must be the highest value", l.Value)})
		}
	}
	if len(desc.Regions) > 0 {
		raw, ok := desc.raw.get("regions_class_order")
		var order []json.RawMessage
		if !ok || json.Unmarshal(raw, &order) != nil {
			r.add(Problem{File: JSONName, What: "labels define regions but regions_class_order is missing or not a list"})
		} else if len(order) != len(desc.Regions)+countNonBackground(desc.Labels) {
			r.add(Problem{File: JSONName, What: fmt.Sprintf("regions_class_order has %d entries for %d regions",
				len(order), len(desc.Regions)+countNonBackground(desc.Labels))})
		}
	}
	return declared, canRead
}

func countNonBackground(ls []Label) int {
	n := 0
	for _, l := range ls {
		if l.Value != 0 && l.Name != "ignore" {
			n++
		}
	}
	return n
}

// checkPending reports adds that were interrupted, and notes those under
// way.
func (d *Dataset) checkPending(r *Report) {
	entries, err := os.ReadDir(d.path(StateDir, pendingDir))
	if err != nil {
		return
	}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(id, ".") {
			continue
		}
		st, err := lockfile.Inspect(d.lockPath(id), d.opt.lockOptions())
		if err == nil && st.Held && !st.Stale {
			r.add(Problem{Case: id, What: "being added by " + st.Holder.String(), Note: true})
			continue
		}
		r.add(Problem{Case: id, File: d.rel(d.pendingPath(id)),
			What: "an add of this case was interrupted: add it again (polyseg dataset add --case " + id + ")"})
	}
}

// checkCase checks one case's files.
func (d *Dataset) checkCase(ctx context.Context, r *Report, c Case, declared map[uint16]bool, canRead bool) {
	bad := func(file, format string, args ...any) {
		r.add(Problem{Case: c.ID, File: file, What: fmt.Sprintf(format, args...)})
	}
	if d.Layout == NNUNet && d.description() != nil && !d.description().HasFiles {
		d.checkChannels(r, c)
	}
	var images []*volume.Volume
	for _, p := range c.Images {
		if !exists(p) {
			bad(d.rel(p), "image file missing")
			continue
		}
		if !canRead {
			continue
		}
		v, err := volume.ReadNIfTIContext(ctx, p)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			bad(d.rel(p), "unreadable image: %v", trimPath(err, p))
			continue
		}
		if n, first := nonFinite(v.Data); n > 0 {
			i, j, k := unindex(v.Grid, first)
			bad(d.rel(p), "%d voxels are NaN or infinite (the first at voxel (%d, %d, %d)); nnU-Net needs every voxel a number", n, i, j, k)
		}
		if len(images) > 0 {
			if diff := gridDiff(images[0].Grid, v.Grid); diff != "" {
				bad(d.rel(p), "channel not on the grid of %s: %s", d.rel(c.Images[0]), diff)
			}
		}
		images = append(images, v)
		// The voxels are not needed past this point: only the grid.
		v.Data = nil
	}
	if c.Label == "" || !exists(c.Label) {
		f := c.Label
		if f != "" {
			f = d.rel(f)
		}
		bad(f, "label file missing")
		return
	}
	if !canRead {
		return
	}
	l, err := volume.ReadLabelsNIfTI(c.Label)
	if err != nil {
		bad(d.rel(c.Label), "unreadable label file: %v", trimPath(err, c.Label))
		return
	}
	if len(images) > 0 {
		if diff := gridDiff(images[0].Grid, l.Grid); diff != "" {
			bad(d.rel(c.Label), "label file not on its image's grid: %s", diff)
		}
	}
	var counts [1 << 16]int
	for _, v := range l.Data {
		counts[v]++
	}
	var undeclared []string
	onlyBackground := true
	for v, n := range counts {
		if n == 0 {
			continue
		}
		if v != 0 {
			onlyBackground = false
		}
		if declared != nil && !declared[uint16(v)] {
			undeclared = append(undeclared, fmt.Sprintf("%d (%d voxels)", v, n))
		}
	}
	if len(undeclared) > 0 {
		bad(d.rel(c.Label), "label values not declared in dataset.json: %s", strings.Join(undeclared, ", "))
	}
	if onlyBackground {
		r.add(Problem{Case: c.ID, File: d.rel(c.Label), What: "only background (0): nothing annotated yet", Note: true})
	}
}

// checkChannels checks that an nnU-Net case has exactly the channels
// dataset.json declares, as files CASE_0000, CASE_0001, ...
func (d *Dataset) checkChannels(r *Report, c Case) {
	ending := d.fileEnding()
	have := map[int]bool{}
	for _, p := range c.Images {
		name := strings.TrimSuffix(filepath.Base(p), ending)
		if m := channelFile.FindStringSubmatch(name); m != nil {
			n, _ := strconv.Atoi(m[2])
			have[n] = true
		}
	}
	want := len(d.description().Channels)
	if !d.description().has("channel_names") || want == 0 {
		return
	}
	var missing, extra []string
	for i := range want {
		if !have[i] {
			missing = append(missing, fmt.Sprintf("%s_%04d%s", c.ID, i, ending))
		}
	}
	for n := range have {
		if n >= want {
			extra = append(extra, fmt.Sprintf("%s_%04d%s", c.ID, n, ending))
		}
	}
	slices.Sort(extra)
	if len(missing) > 0 {
		r.add(Problem{Case: c.ID, What: fmt.Sprintf("channel files missing for the %d channels of channel_names: %s", want, strings.Join(missing, ", "))})
	}
	if len(extra) > 0 {
		r.add(Problem{Case: c.ID, What: fmt.Sprintf("channel files beyond the %d channels of channel_names: %s", want, strings.Join(extra, ", "))})
	}
}

// trimPath drops the file's own path from a reader's error, which the
// problem names already.
func trimPath(err error, path string) string {
	s := err.Error()
	for _, prefix := range []string{"read " + path + ": ", "open " + path + ": ", path + ": "} {
		s = strings.TrimPrefix(s, prefix)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		s = pe.Err.Error()
	}
	return s
}

func nonFinite(data []float32) (n, first int) {
	first = -1
	for i, x := range data {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	return n, first
}

func unindex(g volume.Grid, n int) (i, j, k int) {
	nx, ny := g.Dims[0], g.Dims[1]
	return n % nx, n / nx % ny, n / (nx * ny)
}

// gridDiff says how grid b differs from grid a (shape, spacing, origin,
// direction), or "" when they agree.
func gridDiff(a, b volume.Grid) string {
	var out []string
	if a.Dims != b.Dims {
		out = append(out, fmt.Sprintf("shape %dx%dx%d, not %dx%dx%d", b.Dims[0], b.Dims[1], b.Dims[2], a.Dims[0], a.Dims[1], a.Dims[2]))
	}
	sa, sb := a.Spacing(), b.Spacing()
	if !allClose(sb[:], sa[:]) {
		out = append(out, fmt.Sprintf("spacing %.6g x %.6g x %.6g mm, not %.6g x %.6g x %.6g", sb[0], sb[1], sb[2], sa[0], sa[1], sa[2]))
	}
	oa := []float64{a.Affine[0][3], a.Affine[1][3], a.Affine[2][3]}
	ob := []float64{b.Affine[0][3], b.Affine[1][3], b.Affine[2][3]}
	if !allClose(ob, oa) {
		out = append(out, fmt.Sprintf("origin (%.6g, %.6g, %.6g) mm, not (%.6g, %.6g, %.6g)", ob[0], ob[1], ob[2], oa[0], oa[1], oa[2]))
	}
	da, db := direction(a.Affine), direction(b.Affine)
	if !allClose(db, da) {
		out = append(out, fmt.Sprintf("direction %s, not %s (voxel axes %s, not %s)",
			fmtDirection(db), fmtDirection(da), b.Affine.AxisCodes(), a.Affine.AxisCodes()))
	}
	return strings.Join(out, "; ")
}

// direction returns the unit vectors of the voxel axes, column by column.
func direction(a volume.Affine) []float64 {
	sp := a.Spacing()
	out := make([]float64, 0, 9)
	for c := range 3 {
		for r := range 3 {
			v := a[r][c]
			if sp[c] > 0 {
				v /= sp[c]
			}
			out = append(out, v)
		}
	}
	return out
}

func fmtDirection(d []float64) string {
	parts := make([]string, 3)
	for c := range 3 {
		// Adding 0 turns -0 into 0, which reads better.
		parts[c] = fmt.Sprintf("(%.3g, %.3g, %.3g)", d[3*c]+0, d[3*c+1]+0, d[3*c+2]+0)
	}
	return strings.Join(parts, " ")
}

// allClose is numpy.allclose(a, b) with the tolerances above.
func allClose(a, b []float64) bool {
	for i := range a {
		if !(math.Abs(a[i]-b[i]) <= gridAtol+gridRtol*math.Abs(b[i])) {
			return false
		}
	}
	return true
}
