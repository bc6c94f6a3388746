package models

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func unetManifest() Manifest {
	return Manifest{
		Format: Format, Name: "m", Kind: KindUNet, File: "m.onnx",
		SHA256:  strings.Repeat("0", 64),
		Inputs:  []Tensor{{Name: "image", Shape: []int64{-1, 1, 256, 256}, Type: "float32"}},
		Outputs: []Tensor{{Name: "probs", Shape: []int64{-1, 1, 256, 256}, Type: "float32"}},
		Preprocess: Preprocess{Plane: "axial", Orientation: "radiological", Window: Window{Level: 40, Width: 400},
			Normalize: NormWindow01, Size: [2]int{256, 256}, Resize: "bilinear"},
		Activation: "sigmoid", Threshold: 0.5,
		Labels: []Label{{Channel: 0, Value: 5, Name: "liver"}},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(m *Manifest)
		errHas string // "" means valid
	}{
		{"valid", func(m *Manifest) {}, ""},
		{"wrong format", func(m *Manifest) { m.Format = "polyseg-model/2" }, "format"},
		{"unknown kind", func(m *Manifest) { m.Kind = "gan" }, "unknown kind"},
		{"file with a directory", func(m *Manifest) { m.File = "../m.onnx" }, "plain file name"},
		{"short sha256", func(m *Manifest) { m.SHA256 = "abc" }, "sha256"},
		{"uppercase sha256", func(m *Manifest) { m.SHA256 = strings.Repeat("A", 64) }, "sha256"},
		{"no labels", func(m *Manifest) { m.Labels = nil }, "no labels"},
		{"background label", func(m *Manifest) { m.Labels[0].Value = 0 }, "background"},
		{"channel out of range", func(m *Manifest) { m.Labels[0].Channel = 1 }, "channel"},
		{"softmax label on channel 0", func(m *Manifest) { m.Activation = "softmax" }, "channel 0"},
		{"bad activation", func(m *Manifest) { m.Activation = "relu" }, "activation"},
		{"threshold 1", func(m *Manifest) { m.Threshold = 1 }, "threshold"},
		{"coronal", func(m *Manifest) { m.Preprocess.Plane = "coronal" }, "plane"},
		{"zero window", func(m *Manifest) { m.Preprocess.Window.Width = 0 }, "width"},
		{"nearest resize", func(m *Manifest) { m.Preprocess.Resize = "nearest" }, "resize"},
		{"3D input", func(m *Manifest) { m.Inputs[0].Shape = []int64{1, 1, 8, 8, 8} }, "N x C x H x W"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := unetManifest()
			m.Labels = append([]Label(nil), m.Labels...)
			m.Inputs = append([]Tensor(nil), m.Inputs...)
			tc.edit(&m)
			err := m.Validate()
			switch {
			case tc.errHas == "" && err != nil:
				t.Fatalf("valid manifest refused: %v", err)
			case tc.errHas != "" && err == nil:
				t.Fatalf("invalid manifest accepted")
			case tc.errHas != "" && !strings.Contains(err.Error(), tc.errHas):
				t.Fatalf("error %q does not mention %q", err, tc.errHas)
			}
			if err != nil && !strings.Contains(err.Error(), `"m"`) {
				t.Errorf("error %q does not name the model", err)
			}
		})
	}
}

// writeModel writes a fake model file and its manifest into dir.
func writeModel(t *testing.T, dir string, content []byte) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "m.onnx"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	m := unetManifest()
	sum := sha256.Sum256(content)
	m.SHA256 = hex.EncodeToString(sum[:])
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "m.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	content := []byte("not really onnx, but the checksum does not care")
	m, err := Load(writeModel(t, dir, content))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(); err != nil {
		t.Fatalf("intact model refused: %v", err)
	}
	content[3] ^= 0x01
	if err := os.WriteFile(filepath.Join(dir, "m.onnx"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	err = m.Verify()
	if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), `"m"`) {
		t.Fatalf("flipped byte: got %v, want a checksum error naming the model", err)
	}
	os.Remove(filepath.Join(dir, "m.onnx"))
	if err := m.Verify(); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), `"m"`) {
		t.Fatalf("missing file: got %v, want a not-exist error naming the model", err)
	}
}

func TestCheckSignature(t *testing.T) {
	m := unetManifest()
	in := []Tensor{{Name: "image", Shape: []int64{-1, 1, 256, 256}, Type: "float32"}}
	out := []Tensor{{Name: "probs", Shape: []int64{-1, 1, 256, 256}, Type: "float32"}}
	tests := []struct {
		name    string
		in, out []Tensor
		ok      bool
	}{
		{"same", in, out, true},
		{"fixed batch in the file", []Tensor{{Name: "image", Shape: []int64{4, 1, 256, 256}, Type: "float32"}}, out, true},
		{"other input name", []Tensor{{Name: "input", Shape: []int64{-1, 1, 256, 256}, Type: "float32"}}, out, false},
		{"other size", []Tensor{{Name: "image", Shape: []int64{-1, 1, 512, 512}, Type: "float32"}}, out, false},
		{"float16", []Tensor{{Name: "image", Shape: []int64{-1, 1, 256, 256}, Type: "float16"}}, out, false},
		{"two inputs", append(in, Tensor{Name: "x", Shape: []int64{1}, Type: "float32"}), out, false},
		{"other rank", in, []Tensor{{Name: "probs", Shape: []int64{-1, 256, 256}, Type: "float32"}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := m.CheckSignature(tc.in, tc.out)
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrSignature) {
				t.Fatalf("got %v, want a signature error", err)
			}
		})
	}
}

func TestScanAndFind(t *testing.T) {
	dir := t.TempDir()
	writeModel(t, dir, []byte("x"))
	// A manifest whose model file is missing, and one that is not JSON.
	m := unetManifest()
	m.Name, m.File = "gone", "gone.onnx"
	b, _ := json.Marshal(m)
	os.WriteFile(filepath.Join(dir, "gone.json"), b, 0o644)
	os.WriteFile(filepath.Join(dir, "junk.json"), []byte("{"), 0o644)

	entries, err := Scan(dir, filepath.Join(dir, "does-not-exist"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range entries {
		got[filepath.Base(e.Path)] = e.Err == nil
	}
	want := map[string]bool{"m.json": true, "gone.json": false, "junk.json": false}
	if len(got) != len(want) {
		t.Fatalf("scan found %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s usable = %v, want %v", k, got[k], v)
		}
	}
	if _, err := Find("m", filepath.Join(dir, "nowhere"), dir); err != nil {
		t.Errorf("find by name: %v", err)
	}
	if _, err := Find(filepath.Join(dir, "m.json")); err != nil {
		t.Errorf("find by path: %v", err)
	}
	if _, err := Find("nothing", dir); err == nil {
		t.Errorf("found a model that does not exist")
	}
}

// The committed SAM manifests must load: they are source.
func TestShippedManifests(t *testing.T) {
	for _, n := range []string{"sam-encoder.json", "sam-decoder.json"} {
		m, err := Load(n)
		if err != nil {
			t.Fatal(err)
		}
		if m.Name+".json" != n {
			t.Errorf("%s names itself %q", n, m.Name)
		}
	}
	// One window for every segment, whatever its label value: a window
	// per label value was a special case on TotalSegmentator's numbering.
	m, _ := Load("sam-encoder.json")
	if w := m.Preprocess.Window; w.Width != 400 || w.Level != 40 {
		t.Errorf("window %+v, want 400/40", w)
	}
	raw, _ := os.ReadFile("sam-encoder.json")
	if bytes.Contains(raw, []byte("label_windows")) {
		t.Error("sam-encoder.json still gives label values windows of their own")
	}
}

// A scalar tensor's shape is [] (SAM 2's memory attention takes one); a
// tensor without a shape is still refused.
func TestScalarShape(t *testing.T) {
	for _, tc := range []struct {
		shape string
		ok    bool
	}{{`"shape": [],`, true}, {``, false}} {
		js := `{"format": "polyseg-model/1", "name": "m", "kind": "sam2-memory-attention", "file": "m.onnx",
			"sha256": "` + strings.Repeat("0", 64) + `",
			"inputs": [{"name": "cond_frame_id_diff", ` + tc.shape + ` "type": "float32"}],
			"outputs": [{"name": "image_embed", "shape": [1, 256, 64, 64], "type": "float32"}]}`
		p := filepath.Join(t.TempDir(), "m.json")
		if err := os.WriteFile(p, []byte(js), 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := Load(p)
		switch {
		case tc.ok && err != nil:
			t.Errorf("shape [] refused: %v", err)
		case tc.ok:
			if err := m.CheckSignature([]Tensor{{Name: "cond_frame_id_diff", Type: "float32"}},
				[]Tensor{{Name: "image_embed", Shape: []int64{1, 256, 64, 64}, Type: "float32"}}); err != nil {
				t.Errorf("a scalar in the file does not match shape []: %v", err)
			}
			if err := m.CheckSignature([]Tensor{{Name: "cond_frame_id_diff", Shape: []int64{1}, Type: "float32"}},
				[]Tensor{{Name: "image_embed", Shape: []int64{1, 256, 64, 64}, Type: "float32"}}); err == nil {
				t.Errorf("a rank-1 tensor in the file matched shape []")
			}
		case err == nil || !strings.Contains(err.Error(), "shape"):
			t.Errorf("missing shape: got %v, want an error about the shape", err)
		}
	}
}
