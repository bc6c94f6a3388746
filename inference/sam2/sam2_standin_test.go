package sam2

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// sam2StandIn writes four tiny ONNX graphs with exactly the signatures of
// the SAM 2 export the "sam2" engine runs (sam2Parts: names, ranks, types,
// the fixed 1024/256/64 sizes, the dynamic dimensions as symbols), made by
// the onnx package's helpers at test time and never committed. They
// compute cheap, known functions, so that a test can tell whether the
// engine wired them together as SAM 2 is (ch0 is the image's first
// channel, about +1.8 for 200 HU and -2.1 for air in the 40/400 window):
//
//   - image encoder: every output is the image pooled to its grid (ch0 at
//     64², 128², 256²); the positional embedding is a constant.
//   - memory encoder: its feature is the mask's pooled sigmoid, zero when
//     the object score is not positive; the temporal code's slot i holds
//     i+1 everywhere.
//   - memory attention: channel 0 of its output is the frame's ch0 times
//     the union of the bank's masks grown by two cells (so a slice is
//     segmented only where the memory says the structure was); channel 1
//     is cond_frame_id_diff. Everything else it is given enters with
//     weight 0, so every input is used.
//   - mask decoder: mask logits 20 (e - 0.5) of channel 0, upsampled;
//     object score 20 (max e - 0.5); predicted IoU sigmoid(3 - 0.1 x
//     channel 1), which falls with the distance to the conditioning frame;
//     the pointer is the mean of channel 0.
//
// variant "no-occ" leaves the decoder's occ_logit output out, as another
// export's decoder would. The test skips when Python's onnx is missing
// (scripts/setup.sh installs python3-onnx).
const sam2StandIn = `
import sys, numpy as np, onnx
from onnx import helper as h, TensorProto as T
out, variant = sys.argv[1], sys.argv[2]
F = T.FLOAT

def const(name, arr):
    arr = np.asarray(arr)
    dt = T.INT64 if arr.dtype.kind == "i" else F
    return h.make_tensor(name, dt, arr.shape, arr.flatten().tolist())

def save(name, nodes, inputs, outputs, inits):
    g = h.make_graph(nodes, name, inputs, outputs, inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)], producer_name="polyseg-test")
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, out + "/" + name + ".onnx")

vi = h.make_tensor_value_info
N = h.make_node

def touch(x, tag):
    # One element of x, as a [1, 1] tensor: uses input x at no cost.
    return [N("Flatten", [x], [x + "_flat"], axis=0),
            N("Slice", [x + "_flat", "t0", "t1", "t_ax"], [tag])]

TOUCH = [const("t0", np.array([0])), const("t1", np.array([1])), const("t_ax", np.array([1]))]

# image encoder
save("image_encoder", [
    N("Slice", ["image", "c0", "c1", "ax1"], ["ch0"]),
    N("AveragePool", ["ch0"], ["g64"], kernel_shape=[16, 16], strides=[16, 16]),
    N("AveragePool", ["ch0"], ["g128"], kernel_shape=[8, 8], strides=[8, 8]),
    N("AveragePool", ["ch0"], ["g256"], kernel_shape=[4, 4], strides=[4, 4]),
    N("Expand", ["g64", "s_feat"], ["pix_feat"]),
    N("Expand", ["g64", "s_feat"], ["vision_feats"]),
    N("Expand", ["g256", "s_hr0"], ["high_res_feat0"]),
    N("Expand", ["g128", "s_hr1"], ["high_res_feat1"]),
    N("ConstantOfShape", ["s_pos"], ["vision_pos_embed"], value=const("v", np.array([0.01], np.float32))),
], [vi("image", F, [1, 3, 1024, 1024])], [
    vi("pix_feat", F, [1, 256, 64, 64]), vi("high_res_feat0", F, [1, 32, 256, 256]),
    vi("high_res_feat1", F, [1, 64, 128, 128]), vi("vision_feats", F, [1, 256, 64, 64]),
    vi("vision_pos_embed", F, [4096, 1, 256]),
], [const("c0", np.array([0])), const("c1", np.array([1])), const("ax1", np.array([1])),
    const("s_feat", np.array([1, 256, 64, 64])), const("s_hr0", np.array([1, 32, 256, 256])),
    const("s_hr1", np.array([1, 64, 128, 128])), const("s_pos", np.array([4096, 1, 256]))])

# memory encoder
save("memory_encoder", [
    N("Sigmoid", ["mask_for_mem"], ["sig"]),
    N("AveragePool", ["sig"], ["m64"], kernel_shape=[16, 16], strides=[16, 16]),
    N("Greater", ["occ_logit", "zero"], ["present_b"]),
    N("Cast", ["present_b"], ["present"], to=F),
    N("Unsqueeze", ["present", "ax23"], ["present4"]),
    N("Mul", ["m64", "present4"], ["m"]),
    *touch("pix_feat", "pix_one"),
    N("Mul", ["pix_one", "zero"], ["pix_zero"]),
    N("Add", ["m", "pix_zero"], ["m2"]),
    N("Expand", ["m2", "s_mem"], ["maskmem_features"]),
    N("ConstantOfShape", ["s_mpos"], ["maskmem_pos_enc"], value=const("v", np.array([0.0], np.float32))),
    N("Identity", ["tcode"], ["temporal_code"]),
], [vi("mask_for_mem", F, ["batch_size", 1, 1024, 1024]), vi("pix_feat", F, [1, 256, 64, 64]),
    vi("occ_logit", F, ["batch_size", 1])], [
    vi("maskmem_features", F, ["batch_size", 64, 64, 64]), vi("maskmem_pos_enc", F, [1, 4096, 64]),
    vi("temporal_code", F, [7, 1, 1, 64]),
], [const("zero", np.array(0.0, np.float32)), const("ax23", np.array([2, 3])),
    const("s_mem", np.array([1, 64, 64, 64])), const("s_mpos", np.array([1, 4096, 64])),
    const("tcode", np.repeat(np.arange(1, 8, dtype=np.float32), 64).reshape(7, 1, 1, 64))] + TOUCH)

# memory attention
save("memory_attention", [
    N("Slice", ["memory_1", "c0", "c1", "ax2"], ["mem_ch0"]),
    N("ReduceMax", ["mem_ch0"], ["union"], axes=[1], keepdims=0),
    N("MaxPool", ["union"], ["grown"], kernel_shape=[5, 5], strides=[1, 1], pads=[2, 2, 2, 2]),
    N("Slice", ["current_vision_feat", "c0", "c1", "ax1"], ["v0"]),
    N("Mul", ["v0", "grown"], ["e0"]),
    *touch("memory_0", "s0"), *touch("memory_pos_embed", "s1"), *touch("current_vision_pos_embed", "s2"),
    N("Sum", ["s0", "s1", "s2"], ["s012"]),
    N("Mul", ["s012", "zero"], ["unused"]),
    N("Add", ["e0", "unused"], ["e0z"]),
    N("Reshape", ["cond_frame_id_diff", "s1111"], ["diff4"]),
    N("Expand", ["diff4", "s_ch"], ["e1"]),
    N("Slice", ["current_vision_feat", "c2", "c256", "ax1"], ["rest"]),
    N("Concat", ["e0z", "e1", "rest"], ["image_embed"], axis=1),
], [vi("current_vision_feat", F, [1, 256, 64, 64]), vi("current_vision_pos_embed", F, [4096, 1, 256]),
    vi("memory_0", F, ["batch_size", "num"]+[256]), vi("memory_1", F, ["batch_size", "buff_size", 64, 64, 64]),
    vi("memory_pos_embed", F, ["batch_size", "buff_size_embed", 64]), vi("cond_frame_id_diff", F, [])],
    [vi("image_embed", F, [1, 256, 64, 64])],
    [const("c0", np.array([0])), const("c1", np.array([1])), const("c2", np.array([2])),
     const("c256", np.array([256])), const("ax1", np.array([1])), const("ax2", np.array([2])),
     const("zero", np.array(0.0, np.float32)), const("s1111", np.array([1, 1, 1, 1])),
     const("s_ch", np.array([1, 1, 64, 64]))] + TOUCH)

# mask decoder
dec_outputs = [vi("obj_ptr", F, ["batch_size", 256]), vi("mask_for_mem", F, ["batch_size", 1, 1024, 1024]),
    vi("pred_mask", F, ["batch_size", 1, 256, 256]), vi("iou", F, ["batch_size", 1])]
if variant != "no-occ":
    dec_outputs.append(vi("occ_logit", F, ["batch_size", 1]))
save("mask_decoder", [
    N("Slice", ["image_embed", "c0", "c1", "ax1"], ["e0"]),
    N("Slice", ["image_embed", "c1", "c2", "ax1"], ["e1"]),
    N("Sub", ["e0", "half"], ["e0h"]),
    N("Mul", ["e0h", "twenty"], ["logit"]),
    *touch("point_coords", "p0"), *touch("point_labels", "p1"),
    *touch("high_res_feats_0", "p2"), *touch("high_res_feats_1", "p3"),
    N("Sum", ["p0", "p1", "p2", "p3"], ["psum"]),
    N("Mul", ["psum", "zero"], ["unused"]),
    N("Add", ["logit", "unused"], ["logitz"]),
    N("Resize", ["logitz", "roi", "x4"], ["pred_mask"], mode="nearest",
      coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
    N("Resize", ["logitz", "roi", "x16"], ["big"], mode="nearest",
      coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
    N("Sigmoid", ["big"], ["bigs"]),
    N("Mul", ["bigs", "twenty"], ["big20"]),
    N("Sub", ["big20", "ten"], ["mask_for_mem"]),
    N("ReduceMax", ["e0"], ["emax"], axes=[1, 2, 3], keepdims=0),
    N("Sub", ["emax", "half"], ["emaxh"]),
    N("Mul", ["emaxh", "twenty"], ["occ1"]),
    N("Unsqueeze", ["occ1", "ax1"], ["occ_logit"]),
    N("ReduceMean", ["e1"], ["dmean"], axes=[1, 2, 3], keepdims=0),
    N("Mul", ["dmean", "tenth"], ["dscaled"]),
    N("Sub", ["three", "dscaled"], ["iou_logit"]),
    N("Sigmoid", ["iou_logit"], ["iou1"]),
    N("Unsqueeze", ["iou1", "ax1"], ["iou"]),
    N("ReduceMean", ["e0"], ["e0mean"], axes=[2, 3], keepdims=0),
    N("Expand", ["e0mean", "s_ptr"], ["obj_ptr"]),
], [vi("point_coords", F, ["batch_size", "num_points", 2]), vi("point_labels", F, ["batch_size", "num_points"]),
    vi("image_embed", F, ["batch_size", 256, 64, 64]), vi("high_res_feats_0", F, [1, 32, 256, 256]),
    vi("high_res_feats_1", F, [1, 64, 128, 128])], dec_outputs,
    [const("c0", np.array([0])), const("c1", np.array([1])), const("c2", np.array([2])),
     const("ax1", np.array([1])), const("half", np.array(0.5, np.float32)),
     const("twenty", np.array(20.0, np.float32)), const("ten", np.array(10.0, np.float32)),
     const("three", np.array(3.0, np.float32)), const("tenth", np.array(0.1, np.float32)),
     const("zero", np.array(0.0, np.float32)), const("roi", np.zeros(0, np.float32)),
     const("x4", np.array([1, 1, 4, 4], np.float32)), const("x16", np.array([1, 1, 16, 16], np.float32)),
     const("s_ptr", np.array([1, 256]))] + TOUCH)
`

// exportSAM2StandIn writes the stand-in export's four ONNX files into a new
// folder (without manifests) and returns it. Python runs once per variant
// and test binary; later calls copy its files.
func exportSAM2StandIn(t *testing.T, variant string) string {
	t.Helper()
	sam2StandIns.Lock()
	defer sam2StandIns.Unlock()
	files := sam2StandIns.files[variant]
	if files == nil {
		py := "/usr/bin/python3"
		if err := exec.Command(py, "-c", "import onnx, numpy").Run(); err != nil {
			t.Skipf("Python's onnx for %s unavailable (apt-get install python3-onnx): %v", py, err)
		}
		tmp := t.TempDir()
		script := filepath.Join(tmp, "standin.py")
		if err := os.WriteFile(script, []byte(sam2StandIn), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(py, script, tmp, variant).CombinedOutput(); err != nil {
			t.Fatalf("export the SAM 2 stand-in: %v\n%s", err, out)
		}
		files = map[string][]byte{}
		for _, p := range sam2Parts() {
			b, err := os.ReadFile(filepath.Join(tmp, p.file))
			if err != nil {
				t.Fatal(err)
			}
			files[p.file] = b
		}
		if sam2StandIns.files == nil {
			sam2StandIns.files = map[string]map[string][]byte{}
		}
		sam2StandIns.files[variant] = files
	}
	dir := t.TempDir()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// sam2StandIns holds the exported stand-ins' files by variant.
var sam2StandIns struct {
	sync.Mutex
	files map[string]map[string][]byte
}
