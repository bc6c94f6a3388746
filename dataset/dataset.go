package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/polyseg/polyseg/internal/lockfile"
	"github.com/polyseg/polyseg/volume"
)

// Layout is how a dataset folder is organised.
type Layout int

// The layouts. The zero value is Plain.
const (
	Plain  Layout = iota // a folder of NIfTI files and DICOM series
	NNUNet               // nnU-Net v2 raw: imagesTr/CASE_0000, labelsTr/CASE
	MSD                  // Medical Segmentation Decathlon: imagesTr/CASE, labelsTr/CASE
)

func (l Layout) String() string {
	switch l {
	case NNUNet:
		return "nnU-Net v2"
	case MSD:
		return "Medical Segmentation Decathlon"
	}
	return "plain folder"
}

// Names of the files and folders of a dataset.
const (
	JSONName   = "dataset.json"
	ImagesDir  = "imagesTr"
	LabelsDir  = "labelsTr"
	StateDir   = "polyseg" // polyseg's own files; see the package documentation
	casesDir   = "cases"
	locksDir   = "locks"
	pendingDir = "pending"
	// DefaultEnding is the file ending of datasets polyseg makes.
	DefaultEnding = ".nii.gz"
)

// dirPerm is the permission of the folders polyseg makes in a dataset,
// before the umask: a folder shared by a group of annotators (umask 002,
// or the share's own rules) must let each of them add cases, locks and
// state files, which are all made by creating or renaming files in these
// folders.
const dirPerm = 0o777

// ErrReadOnly is returned for changes to a plain folder, which must be
// converted to a dataset layout first (Import).
var ErrReadOnly = errors.New("a plain folder of scans is read-only: convert it to the nnU-Net layout first (polyseg dataset init)")

// Holder says who holds a case's lock (internal/lockfile).
type Holder = lockfile.Holder

// LockStatus is what is known of a case's lock.
type LockStatus = lockfile.Status

// LockedError is returned by Acquire and TakeOver when another holder has
// the case; Stale says whether that holder looks gone.
type LockedError = lockfile.LockedError

// ErrLocked is wrapped by a *LockedError; ErrLost by the errors of a
// CaseLock that was taken over.
var (
	ErrLocked = lockfile.ErrLocked
	ErrLost   = lockfile.ErrLost
)

// Options tunes a Dataset. The zero value suits the app.
type Options struct {
	// LockTimeout is how long a case's lock may go without a heartbeat
	// before it counts as stale; lockfile.DefaultTimeout when zero.
	LockTimeout time.Duration
	// As names who works on the dataset instead of this process's OS user,
	// host and process id (zero fields are taken from the OS).
	As Holder
}

func (o Options) lockOptions() lockfile.Options {
	return lockfile.Options{Timeout: o.LockTimeout, Identity: o.As}
}

// Case is one case of a dataset.
type Case struct {
	ID string
	// Images are the case's image files, one per channel in channel
	// order; for a DICOM series of a plain folder, the series' folder.
	Images []string
	// Label is the case's label file: where it is or, in a dataset layout,
	// where it belongs. "" for a plain case without one.
	Label string
	// Labeled reports whether Label existed when the dataset was read.
	Labeled bool
	// Series chooses the DICOM series in Images[0] (plain folders).
	Series volume.DICOMOptions
}

// Dataset is a dataset folder as read by Open. The case list is a snapshot:
// cases others add later appear when the folder is opened again. Its
// methods may be called from several goroutines, except AddCase and
// Import, which change Cases: while they run, nothing else may use the
// Dataset.
type Dataset struct {
	Dir    string
	Layout Layout
	Cases  []Case // sorted by ID

	// desc is what dataset.json declares, nil for a plain folder or a
	// layout without one. A Description is never changed once stored:
	// updates store a new one, so that readers need no lock.
	desc   atomic.Pointer[Description]
	opt    Options
	issues []Problem // what Open found wrong with the folder's structure
}

// Open reads the dataset in folder dir: the layout, dataset.json, and the
// cases. Files are listed, not read; Check reads them. A dataset.json that
// does not parse is an error naming it.
func Open(ctx context.Context, dir string, opt Options) (*Dataset, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("open dataset %s: %w", dir, pathCause(err))
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("open dataset %s: not a folder", dir)
	}
	d := &Dataset{Dir: filepath.Clean(dir), opt: opt}
	desc, err := readDescription(d.path(JSONName))
	switch {
	case err == nil:
		d.desc.Store(desc)
		d.Layout = NNUNet
		if desc.MSD {
			d.Layout = MSD
		}
	case errors.Is(err, fs.ErrNotExist):
		if !isDir(d.path(ImagesDir)) {
			d.Layout = Plain
			if err := d.scanPlain(ctx); err != nil {
				return nil, err
			}
			return d, nil
		}
		d.Layout = NNUNet
		d.issues = append(d.issues, Problem{File: JSONName, What: "missing: nnU-Net needs dataset.json (polyseg dataset init writes one)"})
	default:
		return nil, err
	}
	if d.Layout == MSD {
		d.scanMSD()
	} else {
		d.scanNNUNet()
	}
	sortCases(d.Cases)
	return d, nil
}

func sortCases(cs []Case) {
	slices.SortStableFunc(cs, func(a, b Case) int { return strings.Compare(a.ID, b.ID) })
}

// OpenPlain lists the folder dir as a plain folder of scans, whatever its
// layout: the scans beside a dataset's imagesTr and labelsTr, as an
// in-place conversion finds them.
func OpenPlain(ctx context.Context, dir string, opt Options) (*Dataset, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, pathCause(err))
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("open %s: not a folder", dir)
	}
	d := &Dataset{Dir: filepath.Clean(dir), Layout: Plain, opt: opt}
	if err := d.scanPlain(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// readDescription reads and parses a dataset.json.
func readDescription(path string) (*Description, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxJSONSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	d, err := ParseDescription(b)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return d, nil
}

func (d *Dataset) path(rel ...string) string {
	return filepath.Join(append([]string{d.Dir}, rel...)...)
}

// rel returns path relative to the dataset folder, for messages.
func (d *Dataset) rel(path string) string {
	if r, err := filepath.Rel(d.Dir, path); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return path
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// pathCause drops the operation and path of a *fs.PathError, for messages
// that name the path themselves.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Description returns what dataset.json declares; nil for a plain folder
// or a layout without one. The caller must not modify it.
func (d *Dataset) Description() *Description { return d.desc.Load() }

func (d *Dataset) description() *Description { return d.desc.Load() }

// Name returns the dataset's name: dataset.json's, else the folder's.
func (d *Dataset) Name() string {
	if d.description() != nil && d.description().Name != "" {
		return d.description().Name
	}
	return filepath.Base(d.Dir)
}

// Labels returns the declared labels by value, background included; nil
// for a plain folder.
func (d *Dataset) Labels() []Label {
	if d.description() == nil {
		return nil
	}
	return slices.Clone(d.description().Labels)
}

// ReadOnly reports whether the dataset cannot be changed in place (a plain
// folder).
func (d *Dataset) ReadOnly() bool { return d.Layout == Plain }

// Case returns the case with the given ID.
func (d *Dataset) Case(id string) (Case, bool) {
	n, ok := slices.BinarySearchFunc(d.Cases, id, func(c Case, id string) int { return strings.Compare(c.ID, id) })
	if !ok {
		return Case{}, false
	}
	return d.Cases[n], true
}

// fileEnding is the dataset's file ending, the default where dataset.json
// does not say.
func (d *Dataset) fileEnding() string {
	if d.description() != nil && d.description().FileEnding != "" {
		return d.description().FileEnding
	}
	return DefaultEnding
}

// channelFile matches an nnU-Net image file name: CASE_XXXX + ending.
var channelFile = regexp.MustCompile(`^(.+)_(\d{4})$`)

// scanNNUNet lists the cases of an nnU-Net layout, from dataset.json's
// "dataset" member when there is one, else from imagesTr as nnU-Net does
// (get_filenames_of_train_images_and_targets).
func (d *Dataset) scanNNUNet() {
	ending := d.fileEnding()
	if d.description() != nil && d.description().HasFiles {
		for _, f := range d.description().Files {
			c := Case{ID: f.ID, Label: d.resolve(f.Label)}
			for _, im := range f.Images {
				c.Images = append(c.Images, d.resolve(im))
			}
			c.Labeled = f.Label != "" && exists(c.Label)
			d.Cases = append(d.Cases, c)
		}
		return
	}
	byID := map[string][]string{}
	d.listFolder(ImagesDir, func(name string) bool {
		if !strings.HasSuffix(name, ending) {
			return false
		}
		m := channelFile.FindStringSubmatch(strings.TrimSuffix(name, ending))
		if m == nil {
			d.issues = append(d.issues, Problem{File: ImagesDir + "/" + name,
				What: fmt.Sprintf("stray file: image files must be named CASE_XXXX%s, XXXX the channel's four digits", ending)})
			return true
		}
		byID[m[1]] = append(byID[m[1]], name)
		return true
	})
	for id, names := range byID {
		sort.Strings(names)
		c := Case{ID: id, Label: d.path(LabelsDir, id+ending)}
		for _, n := range names {
			c.Images = append(c.Images, d.path(ImagesDir, n))
		}
		c.Labeled = exists(c.Label)
		d.Cases = append(d.Cases, c)
	}
	d.listFolder(LabelsDir, func(name string) bool {
		if !strings.HasSuffix(name, ending) {
			return false
		}
		if _, ok := byID[strings.TrimSuffix(name, ending)]; !ok {
			d.issues = append(d.issues, Problem{File: LabelsDir + "/" + name, What: "stray file: a label file without an image in imagesTr"})
		}
		return true
	})
}

// scanMSD lists the cases of a Decathlon layout from its training list,
// or, without one, from imagesTr.
func (d *Dataset) scanMSD() {
	listed := map[string]bool{}
	if d.description().HasFiles {
		for _, f := range d.description().Files {
			c := Case{ID: f.ID, Images: []string{d.resolve(f.Images[0])}}
			if f.Label != "" {
				c.Label = d.resolve(f.Label)
				c.Labeled = exists(c.Label)
			}
			listed[d.rel(c.Images[0])] = true
			listed[d.rel(c.Label)] = true
			d.Cases = append(d.Cases, c)
		}
	}
	for _, dir := range []string{ImagesDir, LabelsDir} {
		d.listFolder(dir, func(name string) bool {
			lower := strings.ToLower(name)
			if !strings.HasSuffix(lower, ".nii.gz") && !strings.HasSuffix(lower, ".nii") {
				return false
			}
			rel := dir + "/" + name
			switch {
			case listed[rel]:
			case d.description().HasFiles:
				d.issues = append(d.issues, Problem{File: rel, What: `stray file: not in dataset.json's "training" list`})
			case dir == ImagesDir:
				id := trimNIfTI(name)
				c := Case{ID: id, Images: []string{d.path(dir, name)}, Label: d.path(LabelsDir, name)}
				c.Labeled = exists(c.Label)
				d.Cases = append(d.Cases, c)
				listed[LabelsDir+"/"+name] = true
			default:
				d.issues = append(d.issues, Problem{File: rel, What: "stray file: a label file without an image in imagesTr"})
			}
			return true
		})
	}
}

// resolve turns a path from dataset.json into one from here: relative
// paths are relative to the dataset folder.
func (d *Dataset) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return d.path(filepath.FromSlash(p))
}

// listFolder calls take for each entry of the dataset's folder dir; take
// reports whether it accounts for the name. Whatever it does not is
// recorded: hidden files as notes (temporary files of a write under way or
// cut short), anything else as a stray file.
func (d *Dataset) listFolder(dir string, take func(name string) bool) {
	entries, err := os.ReadDir(d.path(dir))
	if errors.Is(err, fs.ErrNotExist) {
		d.issues = append(d.issues, Problem{File: dir, What: "missing folder"})
		return
	}
	if err != nil {
		d.issues = append(d.issues, Problem{File: dir, What: fmt.Sprintf("cannot list: %v", pathCause(err))})
		return
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			d.issues = append(d.issues, Problem{File: dir + "/" + name, What: "hidden file, which nnU-Net ignores (a temporary file of a save under way or interrupted, or a file manager's)", Note: true})
			continue
		}
		if e.IsDir() {
			d.issues = append(d.issues, Problem{File: dir + "/" + name, What: "stray folder"})
			continue
		}
		if !take(name) {
			d.issues = append(d.issues, Problem{File: dir + "/" + name, What: fmt.Sprintf("stray file: not a %s file", d.fileEnding())})
		}
	}
}

// OpenCase reads a case's first image (the scan) and its label volume
// brought onto the scan's grid (volume.LoadLabels). Labels are nil when
// the case has none yet; warnings are the readers'.
func (d *Dataset) OpenCase(ctx context.Context, id string) (*volume.Volume, *volume.Labels, []string, error) {
	c, ok := d.Case(id)
	if !ok {
		return nil, nil, nil, fmt.Errorf("dataset %s: no case %q", d.Dir, id)
	}
	v, err := volume.Open(ctx, c.Images[0], volume.OpenOptions{DICOM: c.Series})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("case %s: %w", id, err)
	}
	warnings := slices.Clone(v.Warnings)
	if c.Label == "" || !exists(c.Label) {
		return v, nil, warnings, nil
	}
	l, w, err := volume.LoadLabels(c.Label, v.Grid)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("case %s: %w", id, err)
	}
	return v, l, append(warnings, w...), nil
}
