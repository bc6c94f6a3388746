package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/internal/modeltest"
	"github.com/polyseg/polyseg/internal/realdata"
	"github.com/polyseg/polyseg/metrics"
	"github.com/polyseg/polyseg/volume"
)

const realData = "../../../shared/data/real/totalsegmentator"

func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestSegmentRefineUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
	}{
		{"segment without arguments", []string{"segment"}},
		{"segment with one argument", []string{"segment", "in.nii.gz"}},
		{"segment to a non-NIfTI file", []string{"segment", "in.nii.gz", filepath.Join(dir, "out.png")}},
		{"refine without --coarse", []string{"refine", "in.nii.gz", filepath.Join(dir, "out.nii.gz")}},
		{"refine with a bad window", []string{"refine", "--coarse", "c.nii.gz", "--window", "400", "in.nii.gz", filepath.Join(dir, "out.nii.gz")}},
		{"refine with a label too large", []string{"refine", "--coarse", "c.nii.gz", "--label", "70000", "in.nii.gz", filepath.Join(dir, "out.nii.gz")}},
		{"segment with batch 0", []string{"segment", "--batch", "0", "in.nii.gz", filepath.Join(dir, "out.nii.gz")}},
		{"segment with a negative batch", []string{"segment", "--batch", "-1", "in.nii.gz", filepath.Join(dir, "out.nii.gz")}},
		{"segment with negative threads", []string{"segment", "--threads", "-1", "in.nii.gz", filepath.Join(dir, "out.nii.gz")}},
		{"segment with 100000 threads", []string{"segment", "--threads", "100000", "in.nii.gz", filepath.Join(dir, "out.nii.gz")}},
		{"refine with --min-iou 2", []string{"refine", "--coarse", "c.nii.gz", "--min-iou", "2", "in.nii.gz", filepath.Join(dir, "out.nii.gz")}},
		{"refine with --min-iou NaN", []string{"refine", "--coarse", "c.nii.gz", "--min-iou", "NaN", "in.nii.gz", filepath.Join(dir, "out.nii.gz")}},
		{"refine with --max-area-change -1", []string{"refine", "--coarse", "c.nii.gz", "--max-area-change", "-1", "in.nii.gz", filepath.Join(dir, "out.nii.gz")}},
		{"refine with --max-hu-shift -2", []string{"refine", "--coarse", "c.nii.gz", "--max-hu-shift", "-2", "in.nii.gz", filepath.Join(dir, "out.nii.gz")}},
		{"refine with --margin-mm -5", []string{"refine", "--coarse", "c.nii.gz", "--margin-mm", "-5", "in.nii.gz", filepath.Join(dir, "out.nii.gz")}},
		{"refine with --margin-mm Inf", []string{"refine", "--coarse", "c.nii.gz", "--margin-mm", "Inf", "in.nii.gz", filepath.Join(dir, "out.nii.gz")}},
		{"refine with --trim-std NaN", []string{"refine", "--coarse", "c.nii.gz", "--trim-std", "NaN", "in.nii.gz", filepath.Join(dir, "out.nii.gz")}},
		{"refine with 100000 threads", []string{"refine", "--coarse", "c.nii.gz", "--threads", "100000", "in.nii.gz", filepath.Join(dir, "out.nii.gz")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCmd(tc.args...)
			if code != 2 || !strings.Contains(stderr, "usage: polyseg "+tc.args[0]) {
				t.Errorf("exit %d, stderr %q; want 2 and the usage", code, stderr)
			}
		})
	}
}

// skipWithoutRuntime skips when scripts/setup.sh never fetched the
// runtime, and fails when it is there and does not load.
func skipWithoutRuntime(t *testing.T) {
	t.Helper()
	modeltest.Runtime(t)
}

func TestSegmentUnknownModel(t *testing.T) {
	skipWithoutRuntime(t)
	dir := t.TempDir()
	code, _, stderr := runCmd("segment", "--model", "no-such-model", "in.nii.gz", filepath.Join(dir, "out.nii.gz"))
	if code != 1 || !strings.Contains(stderr, `model "no-such-model"`) {
		t.Errorf("exit %d, stderr %q; want 1 and an error naming the model", code, stderr)
	}
}

// thresholdModel is a one-layer graph, sigmoid(20 (x - 0.5)) on the
// window01 input: with window 40/400 it labels every voxel above 40 HU.
const thresholdModel = `
import sys, torch
conv = torch.nn.Conv2d(1, 1, 1)
with torch.no_grad():
    conv.weight.fill_(20.0); conv.bias.fill_(-10.0)
net = torch.nn.Sequential(conv, torch.nn.Sigmoid()).eval()
torch.onnx.export(net, torch.zeros(1, 1, 64, 64), sys.argv[1], input_names=["image"],
    output_names=["probs"], dynamic_axes={"image": {0: "n"}, "probs": {0: "n"}}, opset_version=13)
`

const thresholdManifest = `{
  "format": "polyseg-model/1", "name": "threshold", "kind": "unet", "file": "threshold.onnx",
  "sha256": "%s",
  "inputs": [{"name": "image", "shape": [-1, 1, 64, 64], "type": "float32"}],
  "outputs": [{"name": "probs", "shape": [-1, 1, 64, 64], "type": "float32"}],
  "preprocess": {"plane": "axial", "orientation": "radiological", "window": {"level": 40, "width": 400},
    "normalize": "window01", "size": [64, 64], "resize": "bilinear"},
  "activation": "sigmoid", "threshold": 0.5,
  "labels": [{"channel": 0, "value": 7, "name": "dense"}]
}`

func TestSegmentWritesLabels(t *testing.T) {
	skipWithoutRuntime(t)
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		t.Skipf("PyTorch unavailable: %v", err)
	}
	dir := t.TempDir()
	onnx := filepath.Join(dir, "threshold.onnx")
	if out, err := exec.Command(py, "-c", thresholdModel, onnx).CombinedOutput(); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	b, err := os.ReadFile(onnx)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if err := os.WriteFile(filepath.Join(dir, "threshold.json"), []byte(fmt.Sprintf(thresholdManifest, hex.EncodeToString(sum[:]))), 0o644); err != nil {
		t.Fatal(err)
	}
	// A scan on an LPS grid: a dense block in the patient's right half.
	g := volume.Grid{Dims: [3]int{40, 30, 4}, Affine: volume.Affine{{-1, 0, 0, 0}, {0, -1, 0, 0}, {0, 0, 2, 0}, {0, 0, 0, 1}}}
	v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	for i := range v.Data {
		v.Data[i] = -500
	}
	for k := 0; k < 4; k++ {
		for j := 5; j < 25; j++ {
			for i := 0; i < 15; i++ { // small i = small LPS x = patient's right
				v.Data[g.Index(i, j, k)] = 300
			}
		}
	}
	in := filepath.Join(dir, "scan.nii.gz")
	if err := volume.WriteNIfTI(in, v); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "labels.nii.gz")
	t.Setenv("POLYSEG_MODELS", dir)
	code, stdout, stderr := runCmd("segment", "--model", "threshold", in, out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "dense (7): 2.4 mL") || !strings.Contains(stderr, "on cpu") {
		t.Errorf("stdout %q, stderr %q: want the label volume (1200 voxels of 2 mm³) and the provider", stdout, stderr)
	}
	l, _, err := volume.LoadLabels(out, v.Grid)
	if err != nil {
		t.Fatal(err)
	}
	wrong := 0
	for i, x := range l.Data {
		if (x == 7) != (v.Data[i] > 40) {
			wrong++
		}
	}
	// Resizing 40x30 to 64x64 and back blurs the block's edges by a voxel at most.
	if wrong > 2*(20+15)*4 {
		t.Errorf("%d voxels differ from the threshold", wrong)
	}
}

// Refining patient B's spleen after eroding it by one voxel in-plane, on
// three slices (the encoder costs about a second per slice; the embeddings
// are cached after the first run), must bring it closer to the reference.
func TestRefinePatientBSpleen(t *testing.T) {
	skipWithoutRuntime(t)
	v, ref, ctDir := realdata.PatientB(t, realData)
	const spleen = 1
	coarse := volume.NewLabels(v.Grid)
	nx, ny := v.Dims[0], v.Dims[1]
	const k0, k1 = 8, 10
	for k := k0; k <= k1; k++ {
		for j := 1; j < ny-1; j++ {
			for i := 1; i < nx-1; i++ {
				if ref.At(i, j, k) == spleen && ref.At(i-1, j, k) == spleen && ref.At(i+1, j, k) == spleen &&
					ref.At(i, j-1, k) == spleen && ref.At(i, j+1, k) == spleen {
					coarse.Data[v.Index(i, j, k)] = spleen
				}
			}
		}
	}
	dir := t.TempDir()
	coarsePath, out := filepath.Join(dir, "coarse.nii.gz"), filepath.Join(dir, "refined.nii.gz")
	if err := volume.WriteLabels(coarsePath, coarse, v); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd("refine", "--coarse", coarsePath, "--label", "1", ctDir, out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got, _, err := volume.LoadLabels(out, v.Grid)
	if err != nil {
		t.Fatal(err)
	}
	// Compare on the refined slices only.
	bin := func(l *volume.Labels) []bool {
		b := make([]bool, len(l.Data))
		for i, x := range l.Data {
			k := i / (nx * ny)
			b[i] = x == spleen && k >= k0 && k <= k1
		}
		return b
	}
	before, after := metrics.Dice(bin(coarse), bin(ref)), metrics.Dice(bin(got), bin(ref))
	t.Logf("%s; spleen Dice %.3f -> %.3f", strings.TrimSpace(stdout), before, after)
	if after < 0.95 || after <= before {
		t.Errorf("spleen Dice %.3f -> %.3f; want an improvement to at least 0.95", before, after)
	}
}
