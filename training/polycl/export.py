"""ONNX export of a fine-tuned U-Net and its manifest (docs/model-manifest.md).

The exported graph is checked twice: by onnx.checker, and by running it against PyTorch on
sample slices. The run uses ONNX Runtime when its Python package is importable; otherwise
(as on the Debian build machine, which has onnx 1.12 without a reference evaluator) a small
interpreter below executes the graph node by node from the ONNX file's own initializers and
attributes with torch.nn.functional. That proves the file's graph and weights, not ONNX
Runtime's kernels: the Go app's test runs the exported model in ONNX Runtime and compares it
with probabilities saved here (sample.npz written beside the model when asked).
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

from .common import atomic_write_bytes, atomic_write_text
from .model import ProbsModel, UNet, probabilities

if TYPE_CHECKING:
    from .data import Preprocess

OPSET = 17
LABEL_NAMES = {1: "spleen", 2: "kidney_right", 3: "kidney_left", 4: "gallbladder", 5: "liver", 6: "stomach", 7: "pancreas"}


def export_onnx(unet: UNet, path: Path, size: int, activation: str = "sigmoid") -> None:
    """Write the model as image (N,1,S,S) float32 in [0,1] -> probs (N,channels,S,S), the graph
    ending in its activation."""
    model = ProbsModel(unet.cpu().eval(), activation)
    tmp = Path(path).with_suffix(".onnx.tmp")
    with warnings.catch_warnings():
        # InstanceNorm without running stats always normalises per instance, which is what the
        # exporter's "train=True" and tracer warnings describe; the graph is verified below
        warnings.simplefilter("ignore")
        extra = {}
        if "dynamo" in inspect.signature(torch.onnx.export).parameters:
            # PyTorch >= 2.9 defaults to the dynamo exporter, which needs opset >= 18
            extra["dynamo"] = False
        torch.onnx.export(model, torch.rand(1, 1, size, size), str(tmp), input_names=["image"], output_names=["probs"],
                          dynamic_axes={"image": {0: "N"}, "probs": {0: "N"}}, opset_version=OPSET, do_constant_folding=True, **extra)
    m = onnx.load(str(tmp))
    onnx.checker.check_model(m, full_check=True)
    os.chmod(tmp, 0o644)
    tmp.replace(path)


def _attrs(node: onnx.NodeProto) -> dict:
    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


def run_onnx_with_torch(model: onnx.ModelProto, image: np.ndarray) -> np.ndarray:
    """Execute the graph with torch ops (the subset this U-Net exports to); unknown ops raise."""
    env: dict[str, torch.Tensor] = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in model.graph.initializer}
    env[model.graph.input[0].name] = torch.from_numpy(image)
    for n in model.graph.node:
        a = _attrs(n)
        x = [env[i] if i else None for i in n.input]
        op = n.op_type
        if op == "Identity":
            y = x[0]
        elif op == "Constant":
            y = torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
        elif op == "Conv":
            if a.get("group", 1) != 1 or any(d != 1 for d in a.get("dilations", [1, 1])):
                raise NotImplementedError("Conv with groups/dilation")
            pads = a.get("pads", [0, 0, 0, 0])
            if pads[:2] != pads[2:]:
                raise NotImplementedError("asymmetric Conv padding")
            y = F.conv2d(x[0], x[1], x[2] if len(x) > 2 else None, stride=a.get("strides", [1, 1]), padding=pads[:2])
        elif op == "InstanceNormalization":
            y = F.instance_norm(x[0], weight=x[1], bias=x[2], eps=a.get("epsilon", 1e-5))
        elif op == "LeakyRelu":
            y = F.leaky_relu(x[0], a.get("alpha", 0.01))
        elif op == "Relu":
            y = F.relu(x[0])
        elif op == "MaxPool":
            if any(a.get("pads", [0])) or a.get("ceil_mode", 0):
                raise NotImplementedError("MaxPool with padding/ceil_mode")
            y = F.max_pool2d(x[0], a["kernel_shape"], a.get("strides", a["kernel_shape"]))
        elif op == "Resize":
            if a.get("mode") != "linear" or a.get("coordinate_transformation_mode") not in ("half_pixel", "pytorch_half_pixel"):
                raise NotImplementedError(f"Resize {a}")
            if len(x) > 3 and x[3] is not None and x[3].numel():
                y = F.interpolate(x[0], size=[int(v) for v in x[3][2:]], mode="bilinear", align_corners=False)
            else:
                y = F.interpolate(x[0], scale_factor=[float(v) for v in x[2][2:]], mode="bilinear", align_corners=False)
        elif op == "Concat":
            y = torch.cat(x, dim=a["axis"])
        elif op == "Sigmoid":
            y = torch.sigmoid(x[0])
        elif op == "Softmax":
            y = torch.softmax(x[0], dim=a.get("axis", -1))
        elif op in ("Add", "Mul", "Sub", "Div"):
            y = {"Add": torch.add, "Mul": torch.mul, "Sub": torch.sub, "Div": torch.div}[op](x[0], x[1])
        else:
            raise NotImplementedError(f"ONNX op {op} not supported by the checking interpreter")
        env[n.output[0]] = y
    return env[model.graph.output[0].name].numpy()


def run_onnx(path: Path, image: np.ndarray) -> tuple[np.ndarray, str]:
    """Outputs of the ONNX file for image, and which engine produced them."""
    try:
        import onnxruntime as ort  # type: ignore
    except ImportError:
        return run_onnx_with_torch(onnx.load(str(path)), image), "torch-interpreter"
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(["probs"], {"image": image})[0], f"onnxruntime {ort.__version__}"


def verify_export(unet: UNet, path: Path, samples: np.ndarray, activation: str = "sigmoid") -> dict:
    """Max |ONNX - PyTorch| over sample slices (N,1,S,S) and the engine used."""
    with torch.no_grad():
        ref = probabilities(unet.cpu().eval()(torch.from_numpy(samples)), activation).numpy()
    got, engine = run_onnx(path, samples)
    if got.shape != ref.shape:
        raise ValueError(f"{path}: ONNX output shape {got.shape} != PyTorch {ref.shape}")
    return {"engine": engine, "max_abs_diff": float(np.abs(got - ref).max()), "samples": int(len(samples))}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_manifest(onnx_path: Path, name: str, unet: UNet, preprocess: dict, labels: list[int], provenance: dict,
                   metrics: dict, licence: str, threshold: float = 0.5, activation: str = "sigmoid",
                   names: list[str] | None = None) -> Path:
    """NAME.json beside the ONNX file. Label k (value labels[k], name names[k], default the
    TotalSegmentator name of the value) is output channel k for a sigmoid model and k + 1 for a
    softmax model, whose channel 0 is background."""
    s = preprocess["size"]
    c = unet.cfg.out_channels
    names = names or [LABEL_NAMES.get(v, f"label_{v}") for v in labels]
    first = 1 if activation == "softmax" else 0
    if len(names) != len(labels) or c != len(labels) + first:
        raise ValueError(f"{onnx_path}: {c} output channels for {len(labels)} labels ({len(names)} names) under {activation}")
    manifest = {
        "format": "polyseg-model/1",
        "name": name,
        "kind": "unet",
        "file": Path(onnx_path).name,
        "sha256": sha256_file(onnx_path),
        "inputs": [{"name": "image", "shape": [-1, 1, s[0], s[1]], "type": "float32"}],
        "outputs": [{"name": "probs", "shape": [-1, c, s[0], s[1]], "type": "float32"}],
        "preprocess": preprocess,
        "activation": activation,
        "threshold": threshold,
        "labels": [{"channel": i + first, "value": v, "name": n} for i, (v, n) in enumerate(zip(labels, names))],
        "licence": licence,
        "provenance": provenance,
        "metrics": metrics,
    }
    path = Path(onnx_path).with_suffix(".json")
    atomic_write_text(path, json.dumps(manifest, indent=2, allow_nan=False) + "\n")
    return path


def onnx_model(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """The ONNX file as a function from (B, 1, S, S) inputs to its (B, K, S, S) outputs (ONNX
    Runtime when importable, else the graph interpreter above)."""
    try:
        import onnxruntime as ort  # type: ignore
    except ImportError:
        m = onnx.load(str(path))
        return lambda x: run_onnx_with_torch(m, np.ascontiguousarray(x, np.float32))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return lambda x: sess.run(None, {sess.get_inputs()[0].name: np.ascontiguousarray(x, np.float32)})[0]


def write_reference(unet: UNet, pp: "Preprocess", image: Path, slices: list[int], out_dir: Path, onnx_path: Path,
                    activation: str = "sigmoid") -> None:
    """Reference data for the Go app's test of the same model: for axial slices of a real CT,
    the pre-processed input (N,1,S,S) and PyTorch's probabilities (N,C,S,S) as little-endian
    float32 files, and a JSON description. The Go side can check its own pre-processing
    (orientation, window, resize) against input.f32 and its ONNX Runtime output against
    probs.f32."""
    from .data import Case, load_case, resize_images, to_radiological, window01

    lc = load_case(Case("reference", Path(image)))
    stack = to_radiological(lc.image)[slices]
    x = resize_images(window01(stack, pp.window_level, pp.window_width), pp.size)[:, None]
    with torch.no_grad():
        probs = probabilities(unet.cpu().eval()(torch.from_numpy(x)), activation).numpy()
    out_dir = Path(out_dir)
    atomic_write_bytes(out_dir / "input.f32", x.astype("<f4").tobytes())
    atomic_write_bytes(out_dir / "probs.f32", probs.astype("<f4").tobytes())
    meta = {"model": Path(onnx_path).name, "model_sha256": sha256_file(onnx_path), "image": str(image),
            "slices_ras_z": slices, "input_shape": list(x.shape), "probs_shape": list(probs.shape), "dtype": "float32 little-endian, C order",
            "note": "input = window01 + bilinear (half-pixel) resize of slice a[::-1, ::-1, k].T of the RAS+ volume; probs from PyTorch"}
    atomic_write_text(out_dir / "reference.json", json.dumps(meta, indent=1) + "\n")
