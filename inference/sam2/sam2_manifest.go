package sam2

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/models"
)

// Export names the public SAM 2 ONNX export whose four files the
// "sam2" engine runs: NVIDIA's SAM2-ONNX-TRT exporter, the one DeepStream's
// MaskTracker uses (docs/sam2.md says how to run it).
const Export = "NVIDIA-AI-IOT/deepstream_tools sam2-onnx-tensorrt/export_sam2_onnx.py (SAM 2.1)"

// sam2Part is one of the four files of that export: its manifest kind
// (also the manifest's name in the folder, KIND.json), the ONNX file name
// the exporter writes, and its signature. Dimensions the exporter leaves
// dynamic, or that its tracer may fix to the example's batch, are -1.
type sam2Part struct {
	kind            string
	file            string
	inputs, outputs []models.Tensor
}

func sam2Tensor(name string, shape ...int64) models.Tensor {
	if shape == nil {
		shape = []int64{} // a scalar, not a missing shape
	}
	return models.Tensor{Name: name, Shape: shape, Type: "float32"}
}

// sam2Parts returns the export's four files in the order LoadSAM2 loads
// them. The names, ranks and fixed sizes are those export_sam2_onnx.py
// gives to torch.onnx.export; src/Module.py says what each one holds.
func sam2Parts() []sam2Part {
	return []sam2Part{
		{
			kind: models.KindSAM2ImageEncoder, file: "image_encoder.onnx",
			inputs: []models.Tensor{sam2Tensor("image", 1, 3, sam2Size, sam2Size)},
			outputs: []models.Tensor{
				sam2Tensor("pix_feat", 1, sam2Channels, sam2Grid, sam2Grid),
				sam2Tensor("high_res_feat0", 1, sam2HR0Channels, sam2HR0Grid, sam2HR0Grid),
				sam2Tensor("high_res_feat1", 1, sam2HR1Channels, sam2HR1Grid, sam2HR1Grid),
				sam2Tensor("vision_feats", 1, sam2Channels, sam2Grid, sam2Grid),
				sam2Tensor("vision_pos_embed", sam2Grid*sam2Grid, 1, sam2Channels),
			},
		},
		{
			kind: models.KindSAM2MemoryAttention, file: "memory_attention.onnx",
			inputs: []models.Tensor{
				sam2Tensor("current_vision_feat", 1, sam2Channels, sam2Grid, sam2Grid),
				sam2Tensor("current_vision_pos_embed", sam2Grid*sam2Grid, 1, sam2Channels),
				sam2Tensor("memory_0", -1, -1, sam2Channels),
				sam2Tensor("memory_1", -1, -1, sam2MemDim, sam2Grid, sam2Grid),
				sam2Tensor("memory_pos_embed", -1, -1, sam2MemDim),
				sam2Tensor("cond_frame_id_diff"),
			},
			outputs: []models.Tensor{sam2Tensor("image_embed", -1, sam2Channels, sam2Grid, sam2Grid)},
		},
		{
			kind: models.KindSAM2MemoryEncoder, file: "memory_encoder.onnx",
			inputs: []models.Tensor{
				sam2Tensor("mask_for_mem", -1, 1, sam2Size, sam2Size),
				sam2Tensor("pix_feat", 1, sam2Channels, sam2Grid, sam2Grid),
				sam2Tensor("occ_logit", -1, 1),
			},
			outputs: []models.Tensor{
				sam2Tensor("maskmem_features", -1, sam2MemDim, sam2Grid, sam2Grid),
				sam2Tensor("maskmem_pos_enc", -1, sam2Grid*sam2Grid, sam2MemDim),
				sam2Tensor("temporal_code", -1, 1, 1, sam2MemDim),
			},
		},
		{
			kind: models.KindSAM2MaskDecoder, file: "mask_decoder.onnx",
			inputs: []models.Tensor{
				sam2Tensor("point_coords", -1, -1, 2),
				sam2Tensor("point_labels", -1, -1),
				sam2Tensor("image_embed", -1, sam2Channels, sam2Grid, sam2Grid),
				sam2Tensor("high_res_feats_0", 1, sam2HR0Channels, sam2HR0Grid, sam2HR0Grid),
				sam2Tensor("high_res_feats_1", 1, sam2HR1Channels, sam2HR1Grid, sam2HR1Grid),
			},
			outputs: []models.Tensor{
				sam2Tensor("obj_ptr", -1, sam2Channels),
				sam2Tensor("mask_for_mem", -1, 1, sam2Size, sam2Size),
				sam2Tensor("pred_mask", -1, 1, sam2LowRes, sam2LowRes),
				sam2Tensor("iou", -1, 1),
				sam2Tensor("occ_logit", -1, 1),
			},
		},
	}
}

// sam2EncoderPreprocess is what the image encoder expects: SAM 2 resizes
// every frame to 1024 x 1024 (without keeping the aspect ratio) and
// normalises with ImageNet's mean and std, which on [0, 255] grey are SAM's
// numbers. The window is SAM's (sam-encoder.json).
func sam2EncoderPreprocess() models.Preprocess {
	return models.Preprocess{
		Plane: "axial", Orientation: "radiological",
		Window:    models.Window{Level: 40, Width: 400},
		Normalize: models.NormSAM, Size: [2]int{sam2Size, sam2Size}, Resize: "bilinear",
		Mean: []float64{123.675, 116.28, 103.53}, Std: []float64{58.395, 57.12, 57.375},
	}
}

// WriteSAM2Manifests writes the four manifests the "sam2" engine loads
// (KIND.json, docs/sam2.md) beside the ONNX files export_sam2_onnx.py
// wrote into dir, recording each file's sha256. Each file is checked first:
// a missing one, or one whose inputs and outputs are not the export's, is
// refused by name and nothing is written. It returns the manifests'
// paths.
func WriteManifests(r *onnxrt.Runtime, dir string) ([]string, error) {
	parts := sam2Parts()
	ms := make([]models.Manifest, len(parts))
	for i, p := range parts {
		path := filepath.Join(dir, p.file)
		sum, err := sam2FileSHA256(path)
		if err != nil {
			return nil, fmt.Errorf("sam2 folder %s: %w", dir, err)
		}
		ins, outs, err := onnxrt.Signature(path)
		if err != nil {
			return nil, fmt.Errorf("sam2 folder %s: read signature of %s: %w", dir, path, err)
		}
		if err := sam2CompareSignature(p, path, "the file", ins, outs); err != nil {
			return nil, fmt.Errorf("sam2 folder %s: %w", dir, err)
		}
		m := models.Manifest{
			Format: models.Format, Name: p.kind, Kind: p.kind, File: p.file, SHA256: sum,
			Inputs: p.inputs, Outputs: p.outputs,
			Licence: "Apache-2.0 (Meta's SAM 2.1 weights; NVIDIA's export script, Apache-2.0)",
			Provenance: json.RawMessage(fmt.Sprintf(`{"export": %q, "written_by": "polyseg sam2-manifests"}`,
				Export)),
		}
		if p.kind == models.KindSAM2ImageEncoder {
			m.Preprocess = sam2EncoderPreprocess()
		}
		ms[i] = m
	}
	var paths []string
	for i := range ms {
		if err := models.Write(&ms[i], filepath.Join(dir, ms[i].Kind+".json")); err != nil {
			return nil, fmt.Errorf("sam2 folder %s: %w", dir, err)
		}
		paths = append(paths, ms[i].Path)
	}
	return paths, nil
}

func sam2FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// loadSAM2Manifest reads the manifest of part p from dir and checks that it
// describes that part of the export, so that a manifest written for
// another export (whose own file matches it) is refused here, by name,
// rather than failing inside a run.
func loadSAM2Manifest(dir string, p sam2Part) (*models.Manifest, error) {
	path := filepath.Join(dir, p.kind+".json")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("sam2 folder %s: no %s.json (after exporting %s into this folder, run polyseg sam2-manifests %s; docs/sam2.md)",
			dir, p.kind, p.file, dir)
	}
	m, err := models.Load(path)
	if err != nil {
		return nil, fmt.Errorf("sam2 folder %s: %w", dir, err)
	}
	if m.Kind != p.kind {
		return nil, fmt.Errorf("sam2 folder %s: %s describes a %s, not a %s", dir, path, m.Kind, p.kind)
	}
	if err := sam2CompareSignature(p, path, "the manifest", m.Inputs, m.Outputs); err != nil {
		return nil, fmt.Errorf("sam2 folder %s: %w", dir, err)
	}
	return m, nil
}

// sam2CompareSignature checks a signature (what: "the file", "the
// manifest") against part p of the export: names, order, types and ranks
// must match, and a dimension fixed on both sides must be equal.
func sam2CompareSignature(p sam2Part, path, what string, ins, outs []models.Tensor) error {
	cmp := func(kind string, want, got []models.Tensor) error {
		if len(want) != len(got) {
			return fmt.Errorf("%s: %s has %d %ss, the %s %s has %d", path, what, len(got), kind, Export, p.file, len(want))
		}
		for i, w := range want {
			g := got[i]
			bad := g.Name != w.Name || g.Type != w.Type || len(g.Shape) != len(w.Shape)
			for d := 0; !bad && d < len(w.Shape); d++ {
				bad = w.Shape[d] >= 0 && g.Shape[d] >= 0 && w.Shape[d] != g.Shape[d]
			}
			if bad {
				return fmt.Errorf("%s: %s %d is %q %s %v in %s; the %s %s has %q %s %v (-1: any size)",
					path, kind, i, g.Name, g.Type, g.Shape, what, Export, p.file, w.Name, w.Type, w.Shape)
			}
		}
		return nil
	}
	if err := cmp("input", p.inputs, ins); err != nil {
		return err
	}
	return cmp("output", p.outputs, outs)
}
