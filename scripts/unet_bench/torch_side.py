"""PyTorch half of the U-Net inference benchmark (driven by main.go in this folder).

Builds the project's PolyCL U-Net (training/polycl, default widths 16..256, seeded random
weights: speed does not depend on the weights), exports it to ONNX with the trainer's own
exporter, prepares real axial slices of patient A exactly as the app does (RAS+ canonical,
radiological orientation, window 40/400 -> [0, 1], bilinear to the model size), and times the
PyTorch forward pass on them. Writes model.onnx, slices.f32 and torch.json into OUT.
"""
import json
import statistics
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import torch
import torch.nn.functional as F

root = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(root / "training"))
from polycl.export import export_onnx  # noqa: E402
from polycl.model import ProbsModel, UNet, UNetConfig  # noqa: E402


def main() -> None:
    ct, out, size, batch, n, threads, runs = sys.argv[1], Path(sys.argv[2]), *map(int, sys.argv[3:8])
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    unet = UNet(UNetConfig()).eval()
    if not (out / "model.onnx").exists():  # later rounds time the same model again
        export_onnx(unet, out / "model.onnx", size)

    a = np.asarray(nib.as_closest_canonical(nib.load(ct)).dataobj, dtype=np.float32)
    ks = np.linspace(a.shape[2] // 4, 3 * a.shape[2] // 4, n).astype(int)
    sl = np.stack([a[::-1, ::-1, k].T for k in ks])  # radiological: rows A->P, columns R->L
    x = np.clip((sl - (40 - 200)) / 400, 0, 1)[:, None]
    x = F.interpolate(torch.from_numpy(np.ascontiguousarray(x)), size=(size, size), mode="bilinear", align_corners=False)
    x.numpy().astype("<f4").tofile(out / "slices.f32")

    model = ProbsModel(unet).eval()
    times = []
    with torch.inference_mode():
        for r in range(runs + 1):  # the first run warms up
            t0 = time.perf_counter()
            for b in range(0, n, batch):
                model(x[b:b + batch])
            if r:
                times.append((time.perf_counter() - t0) / n * 1000)
    json.dump({"torch_ms_per_slice": statistics.median(times), "torch_version": torch.__version__,
               "threads": threads, "runs_ms_per_slice": times}, open(out / "torch.json", "w"))


if __name__ == "__main__":
    main()
