package dataset

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/internal/atomicfile"
	"github.com/polyseg/polyseg/internal/lockfile"
	"github.com/polyseg/polyseg/volume"
)

// ErrExists is wrapped by the error of AddCase for a case that is already
// there, and of Init for a folder that already is a dataset.
var ErrExists = errors.New("already exists")

// gridTolerance is how far (mm, per affine entry) a label volume's grid may
// be from its image's to be saved for it, as volume.WriteLabels allows.
const gridTolerance = 1e-4

// Init makes an empty nnU-Net v2 dataset in dir (created if need be):
// imagesTr, labelsTr and a dataset.json with one channel, "CT", the
// background label, numTraining 0 and file ending .nii.gz. name defaults to
// the folder's name. A folder that already has a dataset.json, or files in
// imagesTr, is refused with an error wrapping ErrExists.
func Init(ctx context.Context, dir, name string, opt Options) (*Dataset, error) {
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("init dataset %s: %w", dir, pathCause(err))
	}
	d := &Dataset{Dir: filepath.Clean(dir), Layout: NNUNet, opt: opt}
	if name == "" {
		abs, err := filepath.Abs(d.Dir)
		if err != nil {
			return nil, fmt.Errorf("init dataset %s: %w", dir, err)
		}
		name = filepath.Base(abs)
	}
	if entries, _ := os.ReadDir(d.path(ImagesDir)); len(entries) > 0 {
		return nil, fmt.Errorf("init dataset %s: %s holds files but there is no %s: %w", dir, ImagesDir, JSONName, ErrExists)
	}
	for _, sub := range []string{ImagesDir, LabelsDir} {
		if err := os.MkdirAll(d.path(sub), dirPerm); err != nil {
			return nil, fmt.Errorf("init dataset %s: %w", dir, pathCause(err))
		}
	}
	if err := d.mkdirs(); err != nil {
		return nil, err
	}
	desc := &Description{
		Name:        name,
		Channels:    []Channel{{Index: 0, Name: "CT"}},
		Labels:      []Label{{Value: 0, Name: "background"}},
		NumTraining: 0,
		FileEnding:  DefaultEnding,
	}
	err := d.withJSONLock(ctx, func() error {
		if exists(d.path(JSONName)) {
			return fmt.Errorf("init dataset %s: it has a %s: %w", dir, JSONName, ErrExists)
		}
		return writeDescription(d.path(JSONName), desc)
	})
	if err != nil {
		return nil, err
	}
	d.desc.Store(desc)
	return d, nil
}

// SaveLabels writes the case's label volume into labelsTr, atomically, on
// the grid of the case's image; scan is that image as read (its NIfTI
// header fields are written with the labels). Label values not yet in
// dataset.json are declared there first, named from names (nil: the
// default colour table; see the package documentation). The case's state
// records who saved, and a case still to do becomes in progress. The lock
// is checked before every file is put in place.
func (l *CaseLock) SaveLabels(ctx context.Context, labels *volume.Labels, scan *volume.Volume, names *assets.ColorTable) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	d, c := l.d, l.c
	if err := l.Check(); err != nil {
		return err
	}
	h, err := volume.ReadNIfTIHeader(c.Images[0])
	if err != nil {
		return fmt.Errorf("case %s: %w", c.ID, err)
	}
	if !labels.Grid.Equal(h.Grid, gridTolerance) || !scan.Grid.Equal(h.Grid, gridTolerance) {
		return fmt.Errorf("case %s: labels on grid %s, scan on grid %s, but the case's image %s is on grid %s: labels are saved on their image's grid",
			c.ID, gridString(labels.Grid), gridString(scan.Grid), d.rel(c.Images[0]), gridString(h.Grid))
	}
	if err := d.declare(ctx, presentValues(labels.Data), names); err != nil {
		return fmt.Errorf("case %s: %w", c.ID, err)
	}
	if err := l.writeLabels(labels, scan); err != nil {
		return err
	}
	_, err = l.updateState(func(s *State) {
		if s.Status == ToDo {
			s.Status = InProgress
		}
	})
	return err
}

// writeLabels writes the label file through a hidden staging file beside
// it, which is renamed into place only after a last check of the lock, so
// that a lock taken over while the file was being compressed keeps its
// new holder's work.
func (l *CaseLock) writeLabels(labels *volume.Labels, scan *volume.Volume) error {
	c := l.c
	dir, base := filepath.Split(c.Label)
	l.d.removeLeftovers(dir, c.ID, base)
	staging := filepath.Join(dir, "."+c.ID+".saving-"+rand.Text()+l.d.fileEnding())
	if err := volume.WriteLabels(staging, labels, scan); err != nil {
		return fmt.Errorf("case %s: %w", c.ID, err)
	}
	if err := l.Check(); err != nil {
		os.Remove(staging)
		return err
	}
	if err := os.Rename(staging, c.Label); err != nil {
		os.Remove(staging)
		return fmt.Errorf("case %s: write %s: %w", c.ID, c.Label, err)
	}
	syncDir(dir)
	return nil
}

// removeLeftovers deletes the temporary files an interrupted save of case
// id left in dir: its staging files and the atomic writer's. Only the
// case's lock holder calls it, so none of them is a save under way.
func (d *Dataset) removeLeftovers(dir, id, base string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, "."+id+".saving-") || strings.HasPrefix(n, ".."+id+".saving-") ||
			strings.HasPrefix(n, "."+base+".tmp-") {
			os.Remove(filepath.Join(dir, n))
		}
	}
}

// syncDir makes a rename in dir durable, where the file system allows.
func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		f.Sync()
		f.Close()
	}
}

// presentValues returns the distinct values of a label volume, sorted.
func presentValues(data []uint16) []uint16 {
	var seen [1 << 16]bool
	for _, v := range data {
		seen[v] = true
	}
	var out []uint16
	for v, ok := range seen {
		if ok {
			out = append(out, uint16(v))
		}
	}
	return out
}

// declare makes dataset.json declare every value of values, filling the
// values up to the largest so that they stay consecutive.
func (d *Dataset) declare(ctx context.Context, values []uint16, names *assets.ColorTable) error {
	if cur := d.description(); cur != nil {
		if _, changed, err := declareLabels(cloneForCheck(cur), values, names); err == nil && !changed {
			// What this process last read declares them all, and
			// polyseg never removes a declared label.
			return nil
		}
	}
	return d.updateDescription(ctx, func(desc *Description) (bool, error) {
		_, changed, err := declareLabels(desc, values, names)
		return changed, err
	})
}

// cloneForCheck copies what declareLabels changes.
func cloneForCheck(desc *Description) *Description {
	c := *desc
	c.Labels = slices.Clone(desc.Labels)
	return &c
}

// declareLabels adds to desc the labels needed for values: every value
// from 0 to the largest of values and of those declared. It returns the
// values added.
func declareLabels(desc *Description, values []uint16, names *assets.ColorTable) (added []uint16, changed bool, err error) {
	declared := map[uint16]bool{}
	for _, v := range desc.allValues() {
		declared[v] = true
	}
	if len(desc.Regions) > 0 {
		for _, v := range values {
			if !declared[v] {
				return nil, false, fmt.Errorf("label value %d is not declared in %s, whose labels include regions: declare it there first", v, JSONName)
			}
		}
		return nil, false, nil
	}
	ignore, hasIgnore := -1, false
	for _, l := range desc.Labels {
		if l.Name == "ignore" {
			ignore, hasIgnore = int(l.Value), true
		}
	}
	top := 0
	for _, v := range values {
		if hasIgnore && int(v) > ignore {
			return nil, false, fmt.Errorf("label value %d is above the ignore label %d of %s, which nnU-Net requires to be the highest", v, ignore, JSONName)
		}
		top = max(top, int(v))
	}
	for v := range declared {
		if !hasIgnore || int(v) != ignore {
			top = max(top, int(v))
		}
	}
	if hasIgnore {
		// nnU-Net counts the ignore label among the consecutive values.
		top = max(top, ignore-1)
	}
	used := map[string]bool{}
	for _, l := range desc.Labels {
		used[l.Name] = true
	}
	for _, r := range desc.Regions {
		used[r.Name] = true
	}
	def := assets.DefaultColorTable()
	for v := 0; v <= top; v++ {
		if declared[uint16(v)] {
			continue
		}
		name := labelName(uint16(v), names, def)
		if used[name] {
			name = fmt.Sprintf("%s_%d", name, v)
		}
		for used[name] {
			name += "_"
		}
		used[name] = true
		desc.Labels = append(desc.Labels, Label{Value: uint16(v), Name: name})
		added = append(added, uint16(v))
	}
	slices.SortFunc(desc.Labels, func(a, b Label) int { return int(a.Value) - int(b.Value) })
	return added, len(added) > 0, nil
}

// labelName names a label value that dataset.json does not declare yet.
func labelName(v uint16, names, def *assets.ColorTable) string {
	if v == 0 {
		return "background"
	}
	if l, ok := names.Lookup(v); ok {
		return l.Name
	}
	return def.Name(v)
}

// pendingAdd is the marker of a case being added.
type pendingAdd struct {
	Op     string `json:"op"`
	Holder Holder `json:"holder"`
}

func (d *Dataset) pendingPath(id string) string { return d.path(StateDir, pendingDir, id+".json") }

// AddCase adds a case to an nnU-Net or Decathlon dataset: scan is written
// as its image (imagesTr/ID_0000 or imagesTr/ID, NIfTI), labels (which must
// be on the scan's grid; nil for an empty label volume, a case still to
// annotate) into labelsTr, and dataset.json declares the labels and counts
// the case. The case is locked meanwhile. A case that exists is refused
// with an error wrapping ErrExists, unless an earlier add of it was
// interrupted, which this one then finishes.
func (d *Dataset) AddCase(ctx context.Context, id string, scan *volume.Volume, labels *volume.Labels, names *assets.ColorTable) (Case, error) {
	if d.Layout == Plain {
		return Case{}, fmt.Errorf("add case %s: %w", id, ErrReadOnly)
	}
	desc := d.description()
	if desc == nil {
		return Case{}, fmt.Errorf("add case %s: %s has no %s (polyseg dataset init writes one)", id, d.Dir, JSONName)
	}
	if err := ValidID(id); err != nil {
		return Case{}, fmt.Errorf("add case: %w", err)
	}
	ending := d.fileEnding()
	if ending != ".nii.gz" && ending != ".nii" {
		return Case{}, fmt.Errorf("add case %s: the dataset's file_ending is %q; polyseg writes NIfTI (.nii.gz, .nii)", id, ending)
	}
	c := Case{ID: id, Label: d.path(LabelsDir, id+ending), Images: []string{d.path(ImagesDir, id+"_0000"+ending)}}
	switch {
	case d.Layout == MSD:
		c.Images = []string{d.path(ImagesDir, id+ending)}
	case desc.HasFiles:
		return Case{}, fmt.Errorf("add case %s: %s lists its cases' files under \"dataset\"; polyseg adds cases to imagesTr and labelsTr layouts only", id, JSONName)
	case len(desc.Channels) > 1:
		return Case{}, fmt.Errorf("add case %s: the dataset has %d channels; polyseg adds single-channel cases", id, len(desc.Channels))
	}
	if labels == nil {
		labels = volume.NewLabels(scan.Grid)
	}
	if !labels.Grid.Equal(scan.Grid, gridTolerance) {
		return Case{}, fmt.Errorf("add case %s: labels on grid %s, scan on grid %s: resample the labels onto the scan first", id, gridString(labels.Grid), gridString(scan.Grid))
	}
	if err := d.mkdirs(); err != nil {
		return Case{}, err
	}
	lock, err := d.lockForAdd(id, c)
	if err != nil {
		return Case{}, fmt.Errorf("add case %s: %w", id, err)
	}
	defer lock.Release()
	cl := &CaseLock{d: d, c: c, lock: lock}

	pending := d.pendingPath(id)
	_, inList := d.Case(id)
	if !exists(pending) && (inList || exists(c.Images[0]) || exists(c.Label)) {
		return Case{}, fmt.Errorf("add case %s: %w in %s", id, ErrExists, d.Dir)
	}
	marker, err := json.Marshal(pendingAdd{Op: "add", Holder: lock.Holder()})
	if err != nil {
		return Case{}, err
	}
	if err := atomicfile.WriteFile(pending, 0o644, func(w io.Writer) error {
		_, err := w.Write(marker)
		return err
	}); err != nil {
		return Case{}, fmt.Errorf("add case %s: write %s: %w", id, pending, err)
	}

	// Labels, then image, then the count: each step leaves files that
	// the next add of this case completes.
	if err := d.declare(ctx, presentValues(labels.Data), names); err != nil {
		return Case{}, fmt.Errorf("add case %s: %w", id, err)
	}
	if err := cl.writeLabels(labels, scan); err != nil {
		return Case{}, err
	}
	if err := cl.Check(); err != nil {
		return Case{}, err
	}
	if err := volume.WriteNIfTI(c.Images[0], scan); err != nil {
		return Case{}, fmt.Errorf("add case %s: %w", id, err)
	}
	err = d.updateDescription(ctx, func(desc *Description) (bool, error) {
		if desc.MSD {
			if !slices.ContainsFunc(desc.Files, func(f FileEntry) bool { return f.ID == id }) {
				desc.Files = append(desc.Files, FileEntry{ID: id, Images: []string{"./" + ImagesDir + "/" + id + ending}, Label: "./" + LabelsDir + "/" + id + ending})
				desc.HasFiles = true
			}
			desc.NumTraining = len(desc.Files)
			if len(desc.Channels) == 0 {
				desc.Channels = []Channel{{Index: 0, Name: "CT"}}
			}
			return true, nil
		}
		n, err := d.countImages(ending)
		if err != nil {
			return false, err
		}
		desc.NumTraining = n
		if len(desc.Channels) == 0 {
			desc.Channels = []Channel{{Index: 0, Name: "CT"}}
		}
		if desc.FileEnding == "" {
			desc.FileEnding = ending
		}
		return true, nil
	})
	if err != nil {
		return Case{}, fmt.Errorf("add case %s: %w", id, err)
	}
	if err := os.Remove(pending); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Case{}, fmt.Errorf("add case %s: %w", id, err)
	}
	c.Labeled = true
	if !inList {
		d.Cases = append(d.Cases, c)
		sortCases(d.Cases)
	}
	return c, nil
}

// lockForAdd locks a case to be added. A stale lock is taken over without
// asking when it is that of an add that died (the marker it left names
// it), or when the case has no files yet: no one's work is in files that
// this add writes anew.
func (d *Dataset) lockForAdd(id string, c Case) (*lockfile.Lock, error) {
	opt := d.opt.lockOptions()
	lock, err := lockfile.Acquire(d.lockPath(id), opt)
	var le *LockedError
	if !errors.As(err, &le) || !le.Stale {
		return lock, err
	}
	b, rerr := os.ReadFile(d.pendingPath(id))
	var p pendingAdd
	died := rerr == nil && json.Unmarshal(b, &p) == nil && p.Holder.Token == le.Holder.Token
	_, listed := d.Case(id)
	if !died && (listed || exists(c.Images[0]) || exists(c.Label)) {
		return nil, err
	}
	return lockfile.TakeOver(d.lockPath(id), le.Holder, opt)
}

// countImages counts the cases in imagesTr as nnU-Net does: the distinct
// CASE of the files named CASE_XXXX + ending.
func (d *Dataset) countImages(ending string) (int, error) {
	entries, err := os.ReadDir(d.path(ImagesDir))
	if err != nil {
		return 0, fmt.Errorf("list %s: %w", d.path(ImagesDir), pathCause(err))
	}
	ids := map[string]bool{}
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ending) {
			continue
		}
		if m := channelFile.FindStringSubmatch(strings.TrimSuffix(n, ending)); m != nil {
			ids[m[1]] = true
		}
	}
	return len(ids), nil
}

// ImportResult is the outcome of one case of Import.
type ImportResult struct {
	Source   Case
	ID       string // the case's ID in the dataset
	Warnings []string
	// Err is why the case was not added; it wraps ErrExists for a case
	// that was there already (a conversion run again).
	Err error
}

// Import adds every case of src (any layout: a plain folder of scans, or
// a Decathlon dataset to convert) to d, as AddCase does: its first image as
// the scan, its labels resampled onto the scan's grid, its ID made valid
// (MakeID; two source cases that give the same ID get _2, _3, ... in
// source order, so that a second run names them alike). each, when not
// nil, hears of every case as it is done. Cases that fail are reported and
// skipped; the error then counts them. ctx stops the work between cases.
func (d *Dataset) Import(ctx context.Context, src *Dataset, names *assets.ColorTable, each func(ImportResult)) error {
	failed := 0
	used := map[string]bool{}
	for _, c := range src.Cases {
		if err := ctx.Err(); err != nil {
			return err
		}
		id := MakeID(c.ID)
		for n := 2; used[id]; n++ {
			id = fmt.Sprintf("%s_%d", MakeID(c.ID), n)
		}
		used[id] = true
		r := ImportResult{Source: c, ID: id}
		var scan *volume.Volume
		var labels *volume.Labels
		scan, labels, r.Warnings, r.Err = src.OpenCase(ctx, c.ID)
		if r.Err == nil {
			_, r.Err = d.AddCase(ctx, r.ID, scan, labels, names)
		}
		if r.Err != nil && !errors.Is(r.Err, ErrExists) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed++
		}
		if each != nil {
			each(r)
		}
	}
	if failed > 0 {
		return fmt.Errorf("import %s into %s: %d of %d cases could not be added", src.Dir, d.Dir, failed, len(src.Cases))
	}
	return nil
}

// gridString describes a grid for messages.
func gridString(g volume.Grid) string {
	sp := g.Spacing()
	return fmt.Sprintf("%dx%dx%d %s, %.4gx%.4gx%.4g mm, origin (%.4g, %.4g, %.4g)",
		g.Dims[0], g.Dims[1], g.Dims[2], g.Affine.AxisCodes(), sp[0], sp[1], sp[2], g.Affine[0][3], g.Affine[1][3], g.Affine[2][3])
}
