package unet

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/polyseg/polyseg/internal/modeltest"
	"github.com/polyseg/polyseg/internal/tinymodel"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/volume"
)

// trainerEvaluation runs the trainer's own evaluation of an exported model
// (polycl.evaluate.predict_volume, labels_from_probs: PyTorch's resize,
// the ONNX graph run by the trainer) on a scan, writes its label volume
// with the manifest's values, and measures Confidence's definition with
// NumPy at the model's input size.
const trainerEvaluation = `
import json, sys
from pathlib import Path
import nibabel as nib, numpy as np
sys.path.insert(0, sys.argv[1])
from polycl.data import Case, Preprocess, load_case, resize_images, to_radiological, window01
from polycl.evaluate import labels_from_probs, predict_volume
from polycl.export import onnx_model
man_path, image, out = Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
man = json.loads(man_path.read_text())
pre = man["preprocess"]
pp = Preprocess(window_level=pre["window"]["level"], window_width=pre["window"]["width"], size=pre["size"][0])
model = onnx_model(man_path.parent / man["file"])
case = load_case(Case(name="x", image=image))
probs = predict_volume(model, case, pp, activation=man["activation"])
idx = labels_from_probs(probs, man["activation"])
value = np.zeros(probs.shape[0], np.uint16)
for l in man["labels"]:
    value[l["channel"]] = l["value"]
nib.save(nib.Nifti1Image(value[idx], case.affine), str(out / "trainer.nii.gz"))
x = resize_images(window01(to_radiological(case.image), pp.window_level, pp.window_width), pp.size)
p = np.asarray(model(x[:, None]), np.float64)
organ, decided = 1 - p[:, 0], p.max(axis=1)
sel = organ >= 0.1
json.dump({"mean": float(decided[sel].mean()) if sel.any() else 1.0, "pixels": int(sel.sum())}, open(out / "confidence.json", "w"))
`

// TestTrainedModelMatchesTrainer loads a model exactly as the learning
// loop exports it (a softmax over background and every label of
// dataset.json: 65 channels for the phantoms' TotalSegmentator numbering)
// and segments a case it was not trained on: Go's labels agree with the
// trainer's own evaluation of the same ONNX file on all but the voxels
// where two classes tie within rounding, the model finds organs (it is no
// all-background stand-in), and Confidence equals its definition computed
// by NumPy.
func TestTrainedModelMatchesTrainer(t *testing.T) {
	dir := tinymodel.Dataset(t)
	rt := modeltest.Runtime(t)
	man, err := models.Find(filepath.Join(dir, "models", tinymodel.Name))
	if err != nil {
		t.Fatal(err)
	}
	if man.Activation != "softmax" || len(man.Labels) < 2 || man.Labels[0].Channel != 1 {
		t.Fatalf("manifest: %s, labels %v", man.Activation, man.Labels)
	}
	u, err := Load(rt, man)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	image := filepath.Join(dir, "imagesTr", tinymodel.ToDo+"_0000.nii.gz")
	v, err := volume.Open(context.Background(), image, volume.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := u.Segment(context.Background(), v, SegmentOptions{})
	if err != nil {
		t.Fatal(err)
	}

	out := t.TempDir()
	script := filepath.Join(out, "reference.py")
	if err := os.WriteFile(script, []byte(trainerEvaluation), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", script, "../../training", man.Path, image, out)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the trainer's evaluation: %v\n%s", err, b)
	}
	want, _, err := volume.LoadLabels(filepath.Join(out, "trainer.nii.gz"), v.Grid)
	if err != nil {
		t.Fatal(err)
	}
	differ := 0
	present := map[uint16]int{}
	for i := range got.Data {
		if got.Data[i] != want.Data[i] {
			differ++
		}
		present[got.Data[i]]++
	}
	if frac := float64(differ) / float64(len(got.Data)); frac > 1e-3 {
		t.Errorf("%d of %d voxels (%.3f%%) differ from the trainer's labels", differ, len(got.Data), 100*frac)
	}
	if len(present) < 2 {
		t.Errorf("the trained model segments nothing: values %v", present)
	}
	t.Logf("values found %v; %d voxels differ from the trainer's", present, differ)

	conf, err := u.Confidence(context.Background(), v, ConfidenceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Mean   float64
		Pixels int
	}
	b, err := os.ReadFile(filepath.Join(out, "confidence.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if math.Abs(conf.Mean-ref.Mean) > 1e-4 || math.Abs(float64(conf.Pixels-ref.Pixels)) > 0.001*float64(ref.Pixels)+1 {
		t.Errorf("confidence %+v, NumPy's %+v", conf, ref)
	}
	if conf.Pixels == 0 || conf.Slices != v.Dims[2] {
		t.Errorf("confidence over %d pixels of %d slices", conf.Pixels, conf.Slices)
	}
	// Fewer slices: the ends and evenly between.
	part, err := u.Confidence(context.Background(), v, ConfidenceOptions{MaxSlices: 4})
	if err != nil || part.Slices != 4 {
		t.Errorf("4 slices: %+v, %v", part, err)
	}
}

func TestSpread(t *testing.T) {
	for _, tc := range []struct {
		n, limit int
		want     []int
	}{
		{5, 0, []int{0, 1, 2, 3, 4}},
		{5, 9, []int{0, 1, 2, 3, 4}},
		{10, 4, []int{0, 3, 6, 9}},
		{10, 1, []int{5}},
		{10, 2, []int{0, 9}},
	} {
		got := spread(tc.n, tc.limit)
		if len(got) != len(tc.want) {
			t.Errorf("spread(%d, %d) = %v, want %v", tc.n, tc.limit, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("spread(%d, %d) = %v, want %v", tc.n, tc.limit, got, tc.want)
				break
			}
		}
	}
}
