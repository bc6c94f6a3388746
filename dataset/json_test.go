package dataset

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const nnunetJSON = `{
    "channel_names": {"0": "CT"},
    "labels": {"background": 0, "spleen": 1, "liver": 2},
    "numTraining": 3,
    "file_ending": ".nii.gz",
    "overwrite_image_reader_writer": "SimpleITKIO"
}`

const msdJSON = `{
  "name": "Task03_Liver",
  "modality": {"0": "CT"},
  "labels": {"0": "background", "1": "liver", "2": "cancer"},
  "numTraining": 2,
  "numTest": 0,
  "training": [
    {"image": "./imagesTr/liver_0.nii.gz", "label": "./labelsTr/liver_0.nii.gz", "seed": 7},
    {"image": "./imagesTr/liver_1.nii.gz", "label": "./labelsTr/liver_1.nii.gz"}
  ],
  "test": []
}`

const regionsJSON = `{
    "channel_names": {"0": "T2", "1": "ADC"},
    "labels": {"background": 0, "whole": [1, 2, 3], "core": [2, 3], "enhancing": 3, "ignore": 4},
    "regions_class_order": [1, 2, 3],
    "numTraining": 1,
    "file_ending": ".nii.gz"
}`

const filesJSON = `{
    "channel_names": {"0": "CT"},
    "labels": {"background": 0, "liver": 1},
    "numTraining": 1,
    "file_ending": ".nii.gz",
    "dataset": {"a": {"images": ["/data/a_ct.nii.gz"], "label": "labels/a.nii.gz"}}
}`

func TestParseDescription(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		msd    bool
		labels []Label
		ch     []Channel
		n      int
		ending string
		files  []FileEntry
	}{
		{"nnU-Net", nnunetJSON, false, []Label{{0, "background"}, {1, "spleen"}, {2, "liver"}}, []Channel{{0, "CT"}}, 3, ".nii.gz", nil},
		{"MSD", msdJSON, true, []Label{{0, "background"}, {1, "liver"}, {2, "cancer"}}, []Channel{{0, "CT"}}, 2, "", []FileEntry{
			{ID: "liver_0", Images: []string{"./imagesTr/liver_0.nii.gz"}, Label: "./labelsTr/liver_0.nii.gz"},
			{ID: "liver_1", Images: []string{"./imagesTr/liver_1.nii.gz"}, Label: "./labelsTr/liver_1.nii.gz"}}},
		{"regions", regionsJSON, false, []Label{{0, "background"}, {3, "enhancing"}, {4, "ignore"}}, []Channel{{0, "T2"}, {1, "ADC"}}, 1, ".nii.gz", nil},
		{"dataset member", filesJSON, false, []Label{{0, "background"}, {1, "liver"}}, []Channel{{0, "CT"}}, 1, ".nii.gz",
			[]FileEntry{{ID: "a", Images: []string{"/data/a_ct.nii.gz"}, Label: "labels/a.nii.gz"}}},
		{"empty", `{}`, false, nil, nil, -1, "", nil},
		{"MSD without labels", `{"modality": {"0": "CT"}, "labels": {}}`, true, nil, []Channel{{0, "CT"}}, -1, "", nil},
		{"whole-number floats", `{"labels": {"background": 0.0, "a": 1e0}, "numTraining": 2.0}`, false, []Label{{0, "background"}, {1, "a"}}, nil, 2, "", nil},
		{"repeated key: last wins", `{"labels": {"background": 0, "a": 1, "a": 2}}`, false, []Label{{0, "background"}, {2, "a"}}, nil, -1, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseDescription([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if d.MSD != tc.msd || !reflect.DeepEqual(d.Labels, tc.labels) || !reflect.DeepEqual(d.Channels, tc.ch) ||
				d.NumTraining != tc.n || d.FileEnding != tc.ending || !reflect.DeepEqual(d.Files, tc.files) {
				t.Errorf("got msd %v labels %v channels %v n %d ending %q files %v", d.MSD, d.Labels, d.Channels, d.NumTraining, d.FileEnding, d.Files)
			}
		})
	}
	d, _ := ParseDescription([]byte(regionsJSON))
	if want := []Region{{"whole", []uint16{1, 2, 3}}, {"core", []uint16{2, 3}}}; !reflect.DeepEqual(d.Regions, want) {
		t.Errorf("regions %v, want %v", d.Regions, want)
	}
	if got := d.allValues(); !reflect.DeepEqual(got, []uint16{0, 1, 2, 3, 4}) {
		t.Errorf("all values %v", got)
	}
}

func TestParseDescriptionErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"not JSON", `{"labels": `, "unexpected EOF"},
		{"not an object", `[1, 2]`, "not a JSON object"},
		{"trailing data", `{} {}`, "after the top-level object"},
		{"label value text", `{"labels": {"background": "zero"}}`, `"background": want a number`},
		{"label value negative", `{"labels": {"background": 0, "a": -1}}`, "whole number from 0 to 65535"},
		{"label value too large", `{"labels": {"background": 0, "a": 70000}}`, "whole number from 0 to 65535"},
		{"label value fraction", `{"labels": {"background": 0, "a": 1.5}}`, "whole number"},
		{"value declared twice", `{"labels": {"background": 0, "a": 1, "b": 1}}`, "value 1 is declared twice"},
		{"MSD value twice", `{"labels": {"0": "background", "1": "a", "01": "b"}}`, "value 1 is declared twice"},
		{"empty region", `{"labels": {"background": 0, "r": []}}`, "non-empty list"},
		{"empty name", `{"labels": {"0": ""}}`, "empty name"},
		{"channels not numbered", `{"channel_names": {"CT": "0"}}`, "want a channel number"},
		{"numTraining text", `{"numTraining": "3"}`, `"numTraining": want a number`},
		{"file_ending without dot", `{"file_ending": "nii.gz"}`, `"file_ending"`},
		{"file_ending with slash", `{"file_ending": ".x/y"}`, `"file_ending"`},
		{"training not a list", `{"modality": {"0": "CT"}, "training": {}}`, `"training"`},
		{"training entry without image", `{"modality": {"0": "CT"}, "training": [{"label": "x"}]}`, `entry 1: "image"`},
		{"dataset entry without images", `{"channel_names": {"0": "CT"}, "dataset": {"a": {"label": "x"}}}`, `case "a"`},
		{"name not text", `{"name": 3}`, `"name"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDescription([]byte(tc.in))
			if err == nil || !errors.Is(err, ErrJSON) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want ErrJSON mentioning %q", err, tc.want)
			}
		})
	}
}

// TestEncodeKeepsOtherMembers rewrites the members polyseg maintains and
// checks that every other one stays, in its place.
func TestEncodeKeepsOtherMembers(t *testing.T) {
	d, err := ParseDescription([]byte(msdJSON))
	if err != nil {
		t.Fatal(err)
	}
	d.Labels = append(d.Labels, Label{3, "vessel"})
	d.Files = append(d.Files, FileEntry{ID: "liver_2", Images: []string{"./imagesTr/liver_2.nii.gz"}, Label: "./labelsTr/liver_2.nii.gz"})
	d.NumTraining = 3
	b, err := d.Encode()
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"numTest": 0`, `"seed": 7`, `"3": "vessel"`, `"numTraining": 3`, `"./imagesTr/liver_2.nii.gz"`, `"test": []`} {
		if !strings.Contains(s, want) {
			t.Errorf("encoded dataset.json lacks %s:\n%s", want, s)
		}
	}
	if strings.Index(s, `"name"`) > strings.Index(s, `"modality"`) || strings.Index(s, `"training"`) > strings.Index(s, `"test"`) {
		t.Errorf("members moved:\n%s", s)
	}
	d2, err := ParseDescription(b)
	if err != nil {
		t.Fatal(err)
	}
	if !d2.MSD || len(d2.Files) != 3 || len(d2.Labels) != 4 || d2.NumTraining != 3 {
		t.Errorf("read back: %+v", d2)
	}

	n, _ := ParseDescription([]byte(nnunetJSON))
	b, _ = n.Encode()
	if !strings.Contains(string(b), `"overwrite_image_reader_writer": "SimpleITKIO"`) || !strings.Contains(string(b), "\n    \"labels\"") {
		t.Errorf("nnU-Net dataset.json re-encoded:\n%s", b)
	}
}

// FuzzParseDescription feeds arbitrary bytes to the parser: it must never
// panic, and whatever it accepts must encode to a file that parses to the
// same description.
func FuzzParseDescription(f *testing.F) {
	for _, s := range []string{nnunetJSON, msdJSON, regionsJSON, filesJSON, `{}`, `{"labels": {"0": "background"}}`,
		`{"labels": {"background": [0]}, "numTraining": 0}`, `{"modality": {"0": "CT", "1": "PET"}, "training": []}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		d, err := ParseDescription(b)
		if err != nil {
			if !errors.Is(err, ErrJSON) {
				t.Fatalf("error %v does not wrap ErrJSON", err)
			}
			return
		}
		out, err := d.Encode()
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		d2, err := ParseDescription(out)
		if err != nil {
			t.Fatalf("re-parse of\n%s\nfrom %q: %v", out, b, err)
		}
		same := d.MSD == d2.MSD && reflect.DeepEqual(d.Labels, d2.Labels) && reflect.DeepEqual(d.Regions, d2.Regions) &&
			reflect.DeepEqual(d.Channels, d2.Channels) && d.NumTraining == d2.NumTraining && d.FileEnding == d2.FileEnding &&
			d.Name == d2.Name && len(d.Files) == len(d2.Files)
		if !same {
			t.Fatalf("round trip changed the description:\n%+v\n%+v\nencoded:\n%s", d, d2, out)
		}
	})
}

// FuzzReadState reads arbitrary bytes as a case's state file: no panic,
// and a state it accepts is written and read back the same.
func FuzzReadState(f *testing.F) {
	for _, s := range []string{
		`{"status": "todo", "edit_seconds": 0}`,
		`{"status": "needs_review", "user": "ann", "host": "ws1", "edit_seconds": 95.5, "note": "left lobe", "updated": "2024-05-01T10:00:00Z"}`,
		`{"status": "done", "edit_seconds": -1}`, `{"status": "later"}`, `[]`, `{"edit_seconds": 1e300}`,
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		p := filepath.Join(dir, "s.json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := readState(p)
		if err != nil {
			return
		}
		if err := writeState(p, s); err != nil {
			t.Fatal(err)
		}
		s2, err := readState(p)
		if err != nil {
			t.Fatalf("state %+v written, then: %v", s, err)
		}
		if s2.Status != s.Status || s2.Note != s.Note || s2.User != s.User || !s2.Updated.Equal(s.Updated) ||
			(s2.EditTime-s.EditTime).Abs() > time.Millisecond {
			t.Fatalf("state %+v read back as %+v", s, s2)
		}
	})
}
