package unet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/internal/modeltest"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/volume"
)

// tinyUNet is a U-Net-shaped graph (conv encoder, max-pool, deep conv,
// upsample, skip concatenation, 1x1 head, activation) whose deep path has
// zero weight in the head, so its output is a known function of the input
// pixel: sigmoid(20 (x - 0.5)) for "sigmoid"; for "softmax" the logits
// (0, 20 (x - 0.3), 60 (x - 0.7)), i.e. class 1 for 0.3 < x < 0.9 and class
// 2 above. Exported by PyTorch at test time, never committed.
const tinyUNet = `
import sys, torch
act, path = sys.argv[1], sys.argv[2]
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = torch.nn.Conv2d(1, 2, 3, padding=1)
        self.deep = torch.nn.Conv2d(2, 2, 3, padding=1)
        self.up = torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.head = torch.nn.Conv2d(4, 1 if act == "sigmoid" else 3, 1)
        with torch.no_grad():
            self.enc.weight.zero_(); self.enc.bias.zero_()
            self.enc.weight[0, 0, 1, 1] = 1.0          # channel 0 = x
            self.head.weight.zero_(); self.head.bias.zero_()
            if act == "sigmoid":
                self.head.weight[0, 0] = 20.0; self.head.bias[0] = -10.0
            else:
                self.head.weight[1, 0] = 20.0; self.head.bias[1] = -6.0
                self.head.weight[2, 0] = 60.0; self.head.bias[2] = -42.0
    def forward(self, x):
        s = self.enc(x)
        d = self.up(torch.relu(self.deep(torch.nn.functional.max_pool2d(s, 2))))
        y = self.head(torch.cat([s, d], 1))
        return torch.sigmoid(y) if act == "sigmoid" else torch.softmax(y, 1)
torch.onnx.export(Net().eval(), torch.zeros(1, 1, 32, 32), path, input_names=["image"],
    output_names=["probs"], dynamic_axes={"image": {0: "n"}, "probs": {0: "n"}}, opset_version=13)
`

// loadTinyUNet exports the tiny U-Net and loads it on rt, closing it when
// the test ends.
func loadTinyUNet(t *testing.T, rt *onnxrt.Runtime, act string, labels []models.Label) *Model {
	t.Helper()
	m, err := models.Load(exportTinyUNet(t, t.TempDir(), act, labels))
	if err != nil {
		t.Fatal(err)
	}
	u, err := Load(rt, m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u
}

// exportTinyUNet writes the model and its manifest into dir and returns
// the manifest path; it skips the test when PyTorch is not installed.
func exportTinyUNet(t *testing.T, dir, act string, labels []models.Label) string {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		t.Skipf("PyTorch for %s unavailable: %v", py, err)
	}
	script := filepath.Join(dir, "export.py")
	if err := os.WriteFile(script, []byte(tinyUNet), 0o644); err != nil {
		t.Fatal(err)
	}
	onnx := filepath.Join(dir, "tiny-"+act+".onnx")
	if out, err := exec.Command(py, script, act, onnx).CombinedOutput(); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	b, err := os.ReadFile(onnx)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	ch := int64(1)
	if act == "softmax" {
		ch = 3
	}
	m := models.Manifest{
		Format: models.Format, Name: "tiny-" + act, Kind: models.KindUNet,
		File: filepath.Base(onnx), SHA256: hex.EncodeToString(sum[:]),
		Inputs:  []models.Tensor{{Name: "image", Shape: []int64{-1, 1, 32, 32}, Type: "float32"}},
		Outputs: []models.Tensor{{Name: "probs", Shape: []int64{-1, ch, 32, 32}, Type: "float32"}},
		Preprocess: models.Preprocess{Plane: "axial", Orientation: "radiological",
			Window: models.Window{Level: 40, Width: 400}, Normalize: "window01", Size: [2]int{32, 32}, Resize: "bilinear"},
		Activation: act, Threshold: 0.5, Labels: labels,
	}
	j, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, m.Name+".json")
	if err := os.WriteFile(path, j, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// phantom returns a 48 x 40 x 5 LAS volume: background -1000 HU, a block
// at 60 HU (window01 0.55), a block at 200 HU (0.9) inside it... see hu.
func phantom() *volume.Volume {
	g := volume.Grid{Dims: [3]int{48, 40, 5}, Affine: volume.Affine{{-0.8, 0, 0, 20}, {0, 0.8, 0, -10}, {0, 0, 2.5, 0}, {0, 0, 0, 1}}}
	v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	for k := 0; k < 5; k++ {
		for j := 0; j < 40; j++ {
			for i := 0; i < 48; i++ {
				v.Data[g.Index(i, j, k)] = hu(i, j, k)
			}
		}
	}
	return v
}

// hu: a big block of 60 HU (i 4..27, j 4..35, slices 1..3), a bright block
// of 260 HU (i 34..45, j 10..25, all slices), -1000 elsewhere.
func hu(i, j, k int) float32 {
	switch {
	case i >= 4 && i <= 27 && j >= 4 && j <= 35 && k >= 1 && k <= 3:
		return 60
	case i >= 34 && i <= 45 && j >= 10 && j <= 25:
		return 260
	}
	return -1000
}

// nearEdge reports whether voxel (i, j) is within 2 voxels of a block edge
// in its slice, where resizing to the model's 32x32 and back blurs.
func nearEdge(i, j, k int) bool {
	for dj := -2; dj <= 2; dj++ {
		for di := -2; di <= 2; di++ {
			ii, jj := min(max(i+di, 0), 47), min(max(j+dj, 0), 39)
			if hu(ii, jj, k) != hu(i, j, k) {
				return true
			}
		}
	}
	return false
}

func TestUNetSegment(t *testing.T) {
	rt := modeltest.Runtime(t)
	v := phantom()
	tests := []struct {
		act     string
		labels  []models.Label
		largest bool
		want    func(h float32, i int) uint16
	}{
		// window01 of 60 HU is 0.55 and of 260 HU is 1.0: both above 0.5.
		{"sigmoid", []models.Label{{Channel: 0, Value: 5, Name: "liver"}}, false,
			func(h float32, _ int) uint16 {
				if h > 40 {
					return 5
				}
				return 0
			}},
		// The bright block is smaller than the 60 HU block: largest
		// component keeps only the latter.
		{"sigmoid", []models.Label{{Channel: 0, Value: 5, Name: "liver"}}, true,
			func(h float32, i int) uint16 {
				if h > 40 && i <= 27 {
					return 5
				}
				return 0
			}},
		{"softmax", []models.Label{{Channel: 1, Value: 5, Name: "liver"}, {Channel: 2, Value: 1, Name: "spleen"}}, false,
			func(h float32, _ int) uint16 {
				switch {
				case h > 200:
					return 1
				case h > 0:
					return 5
				}
				return 0
			}},
	}
	for _, tc := range tests {
		name := tc.act
		if tc.largest {
			name += "+largest"
		}
		t.Run(name, func(t *testing.T) {
			u := loadTinyUNet(t, rt, tc.act, tc.labels)
			var calls int
			got, err := u.Segment(context.Background(), v, SegmentOptions{Batch: 2, LargestComponent: tc.largest,
				Progress: onnxrt.ProgressFunc(func(done, total int, _ string) { calls++ })})
			if err != nil {
				t.Fatal(err)
			}
			if calls < 3 {
				t.Errorf("%d progress reports for 3 batches", calls)
			}
			bad := 0
			for k := 0; k < 5; k++ {
				for j := 0; j < 40; j++ {
					for i := 0; i < 48; i++ {
						if nearEdge(i, j, k) {
							continue
						}
						if w := tc.want(hu(i, j, k), i); got.At(i, j, k) != w {
							bad++
							if bad < 5 {
								t.Errorf("voxel (%d,%d,%d) at %v HU: label %d, want %d", i, j, k, hu(i, j, k), got.At(i, j, k), w)
							}
						}
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d voxels wrong", bad)
			}
		})
	}
}

func TestUNetCancelled(t *testing.T) {
	rt := modeltest.Runtime(t)
	u := loadTinyUNet(t, rt, "sigmoid", []models.Label{{Channel: 0, Value: 5, Name: "liver"}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := u.Segment(ctx, phantom(), SegmentOptions{}); err != context.Canceled {
		t.Fatalf("cancelled segmentation returned %v", err)
	}
}
