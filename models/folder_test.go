package models

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeFolder writes a model folder models/name as the trainer does:
// name.onnx, name.json with a learning-loop provenance, train.log; its
// manifest dated at.
func writeFolder(t *testing.T, models, name string, at time.Time) string {
	t.Helper()
	dir := filepath.Join(models, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	onnx := []byte("onnx of " + name)
	if err := os.WriteFile(filepath.Join(dir, name+".onnx"), onnx, 0o644); err != nil {
		t.Fatal(err)
	}
	m := unetManifest()
	m.Name, m.File = name, name+".onnx"
	sum := sha256.Sum256(onnx)
	m.SHA256 = hex.EncodeToString(sum[:])
	m.Provenance = json.RawMessage(`{"cases": ["a", "b"], "validation_case": "c", "unlabelled_cases": ["d"],
		"profile": {"name": "cpu30", "size": 128}, "seed": 2, "strategy": "polycl-o+s"}`)
	m.Metrics = json.RawMessage(`{"validation": {"liver": 0.93, "spleen": null}, "validation_note": "..."}`)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, at, at); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestModelFolders: a dataset's models folder lists its model folders
// newest first, with hidden work folders and the trainer's cache passed
// over, a damaged one listed with its error; a folder is found by Find
// as polyseg segment --model DIR/models/NAME gives it, and its training
// is read from the manifest.
func TestModelFolders(t *testing.T) {
	root := filepath.Join(t.TempDir(), "models")
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	old := writeFolder(t, root, "old", t0)
	newer := writeFolder(t, root, "newer", t0.Add(time.Hour))
	writeFolder(t, root, ".newest.partial", t0.Add(2*time.Hour))
	for _, d := range []string{".cache", "notes"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	broken := writeFolder(t, root, "broken", t0.Add(-time.Hour))
	if err := os.Remove(filepath.Join(broken, "broken.onnx")); err != nil {
		t.Fatal(err)
	}

	list, err := ListFolders(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range list {
		names = append(names, m.Name())
	}
	if !slices.Equal(names, []string{"newer", "old", "broken"}) {
		t.Fatalf("listed %v, want newer, old, broken", names)
	}
	if list[0].Err != nil || list[0].Manifest.Name != "newer" || !list[0].Time.Equal(t0.Add(time.Hour)) {
		t.Errorf("newest: %+v", list[0])
	}
	if list[2].Err == nil || !strings.Contains(list[2].Err.Error(), "broken.onnx") {
		t.Errorf("the folder without its ONNX file: %v", list[2].Err)
	}
	if l, err := ListFolders(filepath.Join(root, "none")); err != nil || l != nil {
		t.Errorf("a missing models folder: %v, %v", l, err)
	}

	for _, ref := range []string{newer, newer + string(os.PathSeparator), filepath.Join(newer, "newer.json")} {
		m, err := Find(ref)
		if err != nil || m.Name != "newer" {
			t.Errorf("Find(%q) = %v, %v", ref, m, err)
		}
	}
	if _, err := LoadFolder(filepath.Join(root, "notes")); err == nil || !strings.Contains(err.Error(), "no notes.json") {
		t.Errorf("a folder without a manifest: %v", err)
	}
	// A bare name that is also a folder in the working directory stays a
	// name unless the folder is a model folder.
	t.Chdir(root)
	if _, err := Find("notes", root); err == nil || !strings.Contains(err.Error(), "no notes.json in") {
		t.Errorf("Find(notes) = %v", err)
	}
	if m, err := Find("old"); err != nil || m.Name != "old" {
		t.Errorf("Find(old) in its models folder: %v, %v", m, err)
	}

	m, _ := LoadFolder(old)
	tr := m.Training()
	if !slices.Equal(tr.Cases, []string{"a", "b"}) || tr.ValidationCase != "c" || !slices.Equal(tr.Unlabelled, []string{"d"}) ||
		tr.Profile != "cpu30" || tr.Seed == nil || *tr.Seed != 2 || tr.Pretraining != "polycl-o+s" {
		t.Errorf("training %+v", tr)
	}
	if v := tr.Validation["liver"]; v == nil || *v != 0.93 {
		t.Errorf("validation %v", tr.Validation)
	}
	if v, ok := tr.Validation["spleen"]; !ok || v != nil {
		t.Errorf("a null validation Dice: %v", tr.Validation)
	}
	// The bundled manifests say nothing of a learning loop, and that is
	// no error.
	if tr := unetManifestPtr().Training(); tr.Cases != nil || tr.Validation != nil {
		t.Errorf("training of a manifest without one: %+v", tr)
	}
}

func unetManifestPtr() *Manifest {
	m := unetManifest()
	m.Provenance = json.RawMessage(`{"trainer": "x", "profile": "quick", "cases": "not a list"}`)
	return &m
}
