from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from polycl.data import Preprocess
from polycl.export import export_onnx, run_onnx, run_onnx_with_torch, verify_export, write_manifest
from polycl.model import UNet, UNetConfig


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[UNet, Path]:
    torch.manual_seed(0)
    unet = UNet(UNetConfig(out_channels=2, channels=(4, 8, 16))).eval()
    path = tmp_path_factory.mktemp("onnx") / "m.onnx"
    export_onnx(unet, path, 32)
    return unet, path


def test_signature_and_opset(exported) -> None:
    _, path = exported
    m = onnx.load(str(path))
    assert max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")) <= 17
    (inp,), (out,) = m.graph.input, m.graph.output
    dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa: E731
    assert (inp.name, dims(inp)) == ("image", ["N", 1, 32, 32])
    assert (out.name, dims(out)) == ("probs", ["N", 2, 32, 32])


def test_onnx_output_equals_pytorch(exported) -> None:
    """Runs the graph (ONNX Runtime when importable, else the node-by-node interpreter) on a
    batch size different from the export's, against PyTorch."""
    unet, path = exported
    x = np.random.default_rng(1).random((3, 1, 32, 32), dtype=np.float32)
    check = verify_export(unet, path, x)
    assert check["max_abs_diff"] < 1e-5, check
    got, _ = run_onnx(path, x)
    assert got.shape == (3, 2, 32, 32) and 0 <= got.min() and got.max() <= 1


def test_interpreter_notices_a_wrong_graph(exported) -> None:
    """The checking interpreter must fail a file whose weights differ from the model's."""
    unet, path = exported
    m = onnx.load(str(path))
    w = next(i for i in m.graph.initializer if i.dims and len(i.dims) == 4)
    arr = onnx.numpy_helper.to_array(w).copy()
    arr += 0.5
    w.CopyFrom(onnx.numpy_helper.from_array(arr, w.name))
    x = np.random.default_rng(2).random((1, 1, 32, 32), dtype=np.float32)
    with torch.no_grad():
        ref = torch.sigmoid(unet(torch.from_numpy(x))).numpy()
    assert np.abs(run_onnx_with_torch(m, x) - ref).max() > 1e-3


def test_manifest(exported, tmp_path: Path) -> None:
    unet, path = exported
    man = json.loads(write_manifest(path, "test-model", unet, Preprocess(size=32).to_manifest(), [5, 1], {"seed": 0}, {"dice": 0.5}, "Apache-2.0").read_text())
    assert man["format"] == "polyseg-model/1" and man["kind"] == "unet" and man["file"] == "m.onnx"
    assert man["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert man["inputs"] == [{"name": "image", "shape": [-1, 1, 32, 32], "type": "float32"}]
    assert man["outputs"][0]["shape"] == [-1, 2, 32, 32]
    assert man["preprocess"] == {"plane": "axial", "orientation": "radiological", "window": {"level": 40.0, "width": 400.0},
                                 "normalize": "window01", "size": [32, 32], "resize": "bilinear"}
    assert man["labels"] == [{"channel": 0, "value": 5, "name": "liver"}, {"channel": 1, "value": 1, "name": "spleen"}]
    assert man["activation"] == "sigmoid" and man["threshold"] == 0.5


def test_softmax_export_and_manifest(tmp_path: Path) -> None:
    torch.manual_seed(1)
    unet = UNet(UNetConfig(out_channels=3, channels=(4, 8))).eval()
    path = tmp_path / "mc.onnx"
    export_onnx(unet, path, 32, "softmax")
    x = np.random.default_rng(3).random((2, 1, 32, 32), dtype=np.float32)
    check = verify_export(unet, path, x, "softmax")
    assert check["max_abs_diff"] < 1e-5, check
    got, _ = run_onnx(path, x)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)  # a softmax over the channels
    assert any(n.op_type == "Softmax" for n in onnx.load(str(path)).graph.node)
    man = json.loads(write_manifest(path, "mc", unet, Preprocess(size=32).to_manifest(), [5, 1], {}, {}, "x", activation="softmax",
                                    names=["liver", "spleen"]).read_text())
    assert man["activation"] == "softmax" and man["outputs"][0]["shape"] == [-1, 3, 32, 32]
    assert man["labels"] == [{"channel": 1, "value": 5, "name": "liver"}, {"channel": 2, "value": 1, "name": "spleen"}]
    with pytest.raises(ValueError, match="3 output channels for 3 labels"):
        write_manifest(path, "mc", unet, Preprocess(size=32).to_manifest(), [5, 1, 2], {}, {}, "x", activation="softmax")
