package dataset

// dataset.json, in both of its dialects:
//
//   - nnU-Net v2 (documentation/dataset_format.md of MIC-DKFZ/nnUNet):
//     "channel_names" {"0": "CT"}, "labels" {"background": 0, "liver": 1}
//     (a value may be a list of values: a region), "numTraining",
//     "file_ending"; optionally "dataset", which lists each case's files.
//   - the Medical Segmentation Decathlon's: "modality" {"0": "CT"}, "labels"
//     {"0": "background", "1": "liver"}, "numTraining", "training"
//     [{"image": "./imagesTr/x.nii.gz", "label": "./labelsTr/x.nii.gz"}].
//
// The file is kept as an ordered list of its members, so that a rewrite
// changes only the members polyseg maintains and keeps every other one
// (a phantom's record of its seeds, nnU-Net's overwrite_image_reader_writer)
// byte for byte and in place.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// maxJSONSize bounds the dataset.json read: a list of ten thousand cases
// is under two megabytes.
const maxJSONSize = 32 << 20

// ErrJSON is wrapped by every error about the content of a dataset.json.
var ErrJSON = errors.New("invalid dataset.json")

// Label is one declared label: a value of the label files and its name.
type Label struct {
	Value uint16
	Name  string
}

// Region is an nnU-Net region: a name for the union of several label
// values (region-based training). Datasets with regions are read and
// checked; polyseg does not add label values to them.
type Region struct {
	Name   string
	Values []uint16
}

// Channel is one input channel: the _XXXX number of its image files
// (nnU-Net), or the index into a 4D image (MSD), and its name ("CT").
type Channel struct {
	Index int
	Name  string
}

// FileEntry is one case's files as dataset.json lists them: nnU-Net's
// "dataset" member, or an MSD "training" entry (one image).
type FileEntry struct {
	ID     string
	Images []string
	Label  string
}

// member is one name/value pair of a JSON object, kept raw.
type member struct {
	key string
	val json.RawMessage
}

// object is a JSON object with its members in file order. A key given
// twice keeps its last value, as encoding/json and Python's json do.
type object []member

func (o object) get(key string) (json.RawMessage, bool) {
	for i := len(o) - 1; i >= 0; i-- {
		if o[i].key == key {
			return o[i].val, true
		}
	}
	return nil, false
}

// set replaces key's value where it first appears (dropping any repeats),
// or appends it.
func (o *object) set(key string, val json.RawMessage) {
	found := false
	out := (*o)[:0]
	for _, m := range *o {
		if m.key == key {
			if found {
				continue
			}
			m.val, found = val, true
		}
		out = append(out, m)
	}
	if !found {
		out = append(out, member{key, val})
	}
	*o = out
}

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(m.val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

var errDataAfter = errors.New("data after the top-level object")

// parseObject reads a JSON object into its members, refusing anything
// else at the top level and anything after the object.
func parseObject(b []byte) (object, error) {
	o, err := decodeObject(b)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return o, err
}

func decodeObject(b []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	var o object
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := t.(string)
		if !ok {
			return nil, fmt.Errorf("object key %v is not a string", t)
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, fmt.Errorf("member %q: %w", key, err)
		}
		o = append(o, member{key, val})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errDataAfter
	}
	return o, nil
}

// Description is a dataset.json as polyseg understands it.
type Description struct {
	Name string
	// MSD reports the Decathlon dialect: labels value -> name, "modality",
	// "training".
	MSD bool
	// Channels are channel_names (nnU-Net) or modality (MSD), by index.
	Channels []Channel
	// Labels are the declared labels by value, background included;
	// Regions the nnU-Net regions (labels with several values).
	Labels  []Label
	Regions []Region
	// NumTraining is -1 when the member is absent.
	NumTraining int
	FileEnding  string
	// Files lists nnU-Net's "dataset" member or MSD's "training" entries,
	// in file order; nil when the file has neither.
	Files []FileEntry
	// HasFiles reports that "dataset" (nnU-Net) or "training" (MSD) is
	// present, even if empty.
	HasFiles bool

	raw object
}

// has reports whether the file has member key.
func (d *Description) has(key string) bool {
	_, ok := d.raw.get(key)
	return ok
}

// ParseDescription parses the bytes of a dataset.json. It refuses, with an
// error wrapping ErrJSON that names the member, malformed JSON and members
// of the wrong kind; members that are absent are not errors here (Check
// reports those nnU-Net requires).
func ParseDescription(b []byte) (*Description, error) {
	if len(b) > maxJSONSize {
		return nil, fmt.Errorf("%w: %d bytes, more than the %d a dataset.json may have", ErrJSON, len(b), maxJSONSize)
	}
	o, err := parseObject(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJSON, err)
	}
	d := &Description{raw: o, NumTraining: -1}
	if err := d.parse(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJSON, err)
	}
	return d, nil
}

func (d *Description) parse() error {
	if v, ok := d.raw.get("name"); ok {
		if err := json.Unmarshal(v, &d.Name); err != nil {
			return fmt.Errorf(`"name": want a string`)
		}
	}
	labels, hasLabels := d.raw.get("labels")
	_, hasChannels := d.raw.get("channel_names")
	_, hasModality := d.raw.get("modality")
	_, hasTraining := d.raw.get("training")
	// The labels tell the dialect; without any, the other members do.
	d.MSD = !hasChannels && (hasModality || hasTraining)
	if hasLabels {
		dialect, err := d.parseLabels(labels)
		if err != nil {
			return err
		}
		if dialect != unknownDialect {
			d.MSD = dialect == msdDialect
		}
	}
	chKey := "channel_names"
	if !hasChannels && hasModality {
		chKey = "modality"
	}
	if v, ok := d.raw.get(chKey); ok {
		ch, err := parseChannels(v)
		if err != nil {
			return fmt.Errorf("%q: %v", chKey, err)
		}
		d.Channels = ch
	}
	if v, ok := d.raw.get("numTraining"); ok {
		n, err := wholeNumber(v, math.MaxInt32)
		if err != nil {
			return fmt.Errorf(`"numTraining": %v`, err)
		}
		d.NumTraining = int(n)
	}
	if v, ok := d.raw.get("file_ending"); ok {
		if err := json.Unmarshal(v, &d.FileEnding); err != nil || !validEnding(d.FileEnding) {
			return fmt.Errorf(`"file_ending": want a string such as ".nii.gz"`)
		}
	}
	if v, ok := d.raw.get("training"); ok && d.MSD {
		files, err := parseTraining(v)
		if err != nil {
			return fmt.Errorf(`"training": %v`, err)
		}
		d.Files, d.HasFiles = files, true
	}
	if v, ok := d.raw.get("dataset"); ok && !d.MSD {
		files, err := parseFiles(v)
		if err != nil {
			return fmt.Errorf(`"dataset": %v`, err)
		}
		d.Files, d.HasFiles = files, true
	}
	return nil
}

// validEnding accepts a file ending that can name files: a dot, then no
// path separators.
func validEnding(s string) bool {
	return len(s) > 1 && len(s) < 64 && s[0] == '.' && !strings.ContainsAny(s, `/\`+"\x00")
}

// wholeNumber reads a JSON number that must be a whole number from 0 to
// limit; 3.0 counts, as Python's int() takes it.
func wholeNumber(v json.RawMessage, limit float64) (int64, error) {
	var n json.Number
	// json.Number also takes a quoted number, which nnU-Net's Python would
	// not: only a bare number counts.
	if len(v) == 0 || v[0] == '"' || json.Unmarshal(v, &n) != nil {
		return 0, fmt.Errorf("want a number, got %s", short(v))
	}
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) || f < 0 || f > limit {
		return 0, fmt.Errorf("want a whole number from 0 to %.0f, got %s", limit, n)
	}
	return int64(f), nil
}

// short quotes the start of a raw value for an error message.
func short(v json.RawMessage) string {
	s := string(v)
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}

type dialect int

const (
	unknownDialect dialect = iota // no labels to tell
	nnunetDialect
	msdDialect
)

// parseLabels reads "labels" in either dialect and reports which: keys
// that are all whole numbers with string values are the Decathlon's.
func (d *Description) parseLabels(v json.RawMessage) (dialect, error) {
	o, err := parseObject(v)
	if err != nil {
		return 0, fmt.Errorf(`"labels": %v`, err)
	}
	if len(o) == 0 {
		return unknownDialect, nil
	}
	msd := true
	for _, m := range o {
		if _, err := strconv.ParseUint(m.key, 10, 16); err != nil || len(m.val) == 0 || m.val[0] != '"' {
			msd = false
			break
		}
	}
	seen := map[uint16]string{}
	add := func(v uint16, name string) error {
		if name == "" {
			return fmt.Errorf(`"labels": label %d has an empty name`, v)
		}
		if prev, ok := seen[v]; ok {
			return fmt.Errorf(`"labels": value %d is declared twice (%q and %q)`, v, prev, name)
		}
		seen[v] = name
		d.Labels = append(d.Labels, Label{Value: v, Name: name})
		return nil
	}
	// Later duplicates of a key win, as in any JSON reader.
	last := map[string]int{}
	for i, m := range o {
		last[m.key] = i
	}
	for i, m := range o {
		if last[m.key] != i {
			continue
		}
		if msd {
			v, _ := strconv.ParseUint(m.key, 10, 16)
			var name string
			if err := json.Unmarshal(m.val, &name); err != nil {
				return 0, fmt.Errorf(`"labels": %q: want a name`, m.key)
			}
			if err := add(uint16(v), name); err != nil {
				return 0, err
			}
			continue
		}
		if len(m.val) > 0 && m.val[0] == '[' {
			var list []json.RawMessage
			if err := json.Unmarshal(m.val, &list); err != nil || len(list) == 0 {
				return 0, fmt.Errorf(`"labels": %q: want a label value or a non-empty list of them`, m.key)
			}
			var vals []uint16
			for _, x := range list {
				n, err := wholeNumber(x, math.MaxUint16)
				if err != nil {
					return 0, fmt.Errorf(`"labels": %q: %v`, m.key, err)
				}
				if !slices.Contains(vals, uint16(n)) {
					vals = append(vals, uint16(n))
				}
			}
			if len(vals) == 1 {
				if err := add(vals[0], m.key); err != nil {
					return 0, err
				}
				continue
			}
			if m.key == "" {
				return 0, fmt.Errorf(`"labels": a region has an empty name`)
			}
			d.Regions = append(d.Regions, Region{Name: m.key, Values: vals})
			continue
		}
		n, err := wholeNumber(m.val, math.MaxUint16)
		if err != nil {
			return 0, fmt.Errorf(`"labels": %q: %v`, m.key, err)
		}
		if err := add(uint16(n), m.key); err != nil {
			return 0, err
		}
	}
	sort.Slice(d.Labels, func(a, b int) bool { return d.Labels[a].Value < d.Labels[b].Value })
	if msd {
		return msdDialect, nil
	}
	return nnunetDialect, nil
}

// parseChannels reads channel_names or modality: {"0": "CT", ...}.
func parseChannels(v json.RawMessage) ([]Channel, error) {
	o, err := parseObject(v)
	if err != nil {
		return nil, err
	}
	byIndex := map[int]string{}
	for _, m := range o {
		n, err := strconv.ParseUint(m.key, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("key %q: want a channel number", m.key)
		}
		var name string
		if err := json.Unmarshal(m.val, &name); err != nil {
			return nil, fmt.Errorf("channel %q: want a name", m.key)
		}
		byIndex[int(n)] = name
	}
	var ch []Channel
	for i, name := range byIndex {
		ch = append(ch, Channel{Index: i, Name: name})
	}
	sort.Slice(ch, func(a, b int) bool { return ch[a].Index < ch[b].Index })
	return ch, nil
}

// parseTraining reads MSD's "training" list.
func parseTraining(v json.RawMessage) ([]FileEntry, error) {
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(v, &list); err != nil {
		return nil, errors.New("want a list of {\"image\": ..., \"label\": ...} objects")
	}
	out := make([]FileEntry, 0, len(list))
	for i, e := range list {
		var img, lab string
		if err := json.Unmarshal(e["image"], &img); err != nil || img == "" {
			return nil, fmt.Errorf("entry %d: \"image\": want a file name", i+1)
		}
		if raw, ok := e["label"]; ok {
			if err := json.Unmarshal(raw, &lab); err != nil {
				return nil, fmt.Errorf("entry %d: \"label\": want a file name", i+1)
			}
		}
		out = append(out, FileEntry{ID: msdID(img), Images: []string{img}, Label: lab})
	}
	return out, nil
}

// msdID is the case name of an MSD image path: its base name without the
// NIfTI ending.
func msdID(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		p = p[i+1:]
	}
	return trimNIfTI(p)
}

func trimNIfTI(name string) string {
	for _, e := range []string{".nii.gz", ".nii"} {
		if strings.HasSuffix(strings.ToLower(name), e) {
			return name[:len(name)-len(e)]
		}
	}
	return name
}

// parseFiles reads nnU-Net's "dataset": {"ID": {"images": [...], "label": "..."}}.
func parseFiles(v json.RawMessage) ([]FileEntry, error) {
	o, err := parseObject(v)
	if err != nil {
		return nil, err
	}
	var out []FileEntry
	seen := map[string]bool{}
	for i := len(o) - 1; i >= 0; i-- {
		m := o[i]
		if seen[m.key] {
			continue
		}
		seen[m.key] = true
		var e struct {
			Images []string `json:"images"`
			Label  string   `json:"label"`
		}
		if err := json.Unmarshal(m.val, &e); err != nil || len(e.Images) == 0 || slices.Contains(e.Images, "") {
			return nil, fmt.Errorf("case %q: want {\"images\": [file names], \"label\": file name}", m.key)
		}
		out = append(out, FileEntry{ID: m.key, Images: e.Images, Label: e.Label})
	}
	slices.Reverse(out)
	return out, nil
}

// Encode returns the dataset.json text of d: the members it was read with,
// in their order, those polyseg maintains rewritten from d's fields, four
// spaces of indentation as nnU-Net writes it.
func (d *Description) Encode() ([]byte, error) {
	o := slices.Clone(d.raw)
	enc := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err) // strings, numbers and lists of them always marshal
		}
		return b
	}
	if d.Name != "" || d.has("name") {
		o.set("name", enc(d.Name))
	}
	chKey := "channel_names"
	if d.MSD {
		chKey = "modality"
	}
	var ch object
	for _, c := range d.Channels {
		ch = append(ch, member{strconv.Itoa(c.Index), enc(c.Name)})
	}
	if len(ch) > 0 || d.has(chKey) {
		o.set(chKey, mustMarshal(ch))
	}
	var labels object
	for _, l := range d.Labels {
		if d.MSD {
			labels = append(labels, member{strconv.Itoa(int(l.Value)), enc(l.Name)})
		} else {
			labels = append(labels, member{l.Name, enc(l.Value)})
		}
	}
	for _, r := range d.Regions {
		labels = append(labels, member{r.Name, enc(r.Values)})
	}
	if len(labels) > 0 || d.has("labels") {
		o.set("labels", mustMarshal(labels))
	}
	if d.NumTraining >= 0 {
		o.set("numTraining", enc(d.NumTraining))
	}
	if d.FileEnding != "" {
		o.set("file_ending", enc(d.FileEnding))
	}
	if d.HasFiles {
		if d.MSD {
			o.set("training", d.encodeTraining())
		} else {
			files := object{}
			for _, f := range d.Files {
				files = append(files, member{f.ID, enc(struct {
					Images []string `json:"images"`
					Label  string   `json:"label"`
				}{f.Images, f.Label})})
			}
			o.set("dataset", mustMarshal(files))
		}
	}
	b, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "    "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// encodeTraining writes MSD's training list, keeping the other members of
// the entries it was read with (matched by image path).
func (d *Description) encodeTraining() json.RawMessage {
	old := map[string]object{}
	if v, ok := d.raw.get("training"); ok {
		var list []json.RawMessage
		if json.Unmarshal(v, &list) == nil {
			for _, e := range list {
				o, err := parseObject(e)
				if err != nil {
					continue
				}
				var img string
				if raw, ok := o.get("image"); ok && json.Unmarshal(raw, &img) == nil {
					old[img] = o
				}
			}
		}
	}
	list := make([]json.RawMessage, 0, len(d.Files))
	for _, f := range d.Files {
		o := slices.Clone(old[f.Images[0]])
		o.set("image", mustMarshal(f.Images[0]))
		o.set("label", mustMarshal(f.Label))
		list = append(list, mustMarshal(o))
	}
	return mustMarshal(list)
}

func mustMarshal(v any) json.RawMessage {
	if o, ok := v.(object); ok && o == nil {
		return json.RawMessage("{}")
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only values built above, which always marshal
	}
	return b
}

// names maps declared values to names.
func (d *Description) names() map[uint16]string {
	m := make(map[uint16]string, len(d.Labels))
	for _, l := range d.Labels {
		m[l.Value] = l.Name
	}
	return m
}

// allValues returns every value the labels and regions declare, sorted:
// nnU-Net's LabelManager.all_labels (with the ignore label).
func (d *Description) allValues() []uint16 {
	var vals []uint16
	for _, l := range d.Labels {
		vals = append(vals, l.Value)
	}
	for _, r := range d.Regions {
		vals = append(vals, r.Values...)
	}
	slices.Sort(vals)
	return slices.Compact(vals)
}
