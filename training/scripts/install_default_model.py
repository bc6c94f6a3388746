#!/usr/bin/env python3
"""Installs one learning-loop run as the app's built-in multi-organ model (docs/learning-loop.md):
copies RUN/NAME.onnx to models/NEW.onnx and writes models/NEW.json, the run's manifest with its
new name and file, and under "metrics" the run's evaluations on the real patients (largest
component kept, as the app keeps it, and raw) and, when given, the mean over seeds of the arm.

    scripts/install_default_model.py out/ll/runs full-s0 --name polycl-abdomen [--to ../models]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path


def summary(ev: Path) -> dict | None:
    f = ev / "summary.json"
    return json.loads(f.read_text())["summary"] if f.is_file() else None


def write_atomic(dst: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, dst)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", type=Path, help="the experiment's runs folder (models/, eval/)")
    ap.add_argument("run", help="the run to install, e.g. full-s0")
    ap.add_argument("--name", required=True)
    ap.add_argument("--to", type=Path, default=Path("../models"))
    ap.add_argument("--note", default="", help="why this run was chosen")
    args = ap.parse_args()

    src = args.runs / "models" / args.run
    man = json.loads((src / f"{args.run}.json").read_text())
    onnx = (src / man["file"]).read_bytes()
    if hashlib.sha256(onnx).hexdigest() != man["sha256"]:
        raise SystemExit(f"{src / man['file']}: sha256 differs from its manifest")
    ev = args.runs / "eval" / args.run
    metrics = {
        "note": "3D Dice/HD95 (mm) per scan on the scan's own grid against the TotalSegmentator example labels "
                "(that model's predictions, not manual ground truth). Patient A is the one real labelled training "
                "case (in-sample); patient B's images were unlabelled pre-training data and its labels were never "
                "used. *_largest_component: each organ's largest 3D connected component kept, as the app keeps it.",
        "validation": man.get("metrics", {}).get("validation"),
        "validation_case": man.get("provenance", {}).get("validation_case"),
        "patientA_largest_component": summary(ev / "A-lcc"),
        "patientA": summary(ev / "A-raw"),
        "patientB_largest_component": summary(ev / "B-lcc"),
        "patientB": summary(ev / "B-raw"),
    }
    if args.note:
        metrics["chosen"] = args.note
    man["metrics"] = metrics
    man["name"], man["file"] = args.name, f"{args.name}.onnx"
    prov = man.setdefault("provenance", {})
    prov["run"] = args.run
    ft = prov.get("finetune_config", {})
    if ft.get("pretrained"):  # the run's own work folder, gone once it finished
        ft["pretrained"] = "the run's own PolyCL pre-training (pretrain/encoder.pt in its work folder)"
    args.to.mkdir(parents=True, exist_ok=True)
    write_atomic(args.to / man["file"], onnx)
    write_atomic(args.to / f"{args.name}.json", (json.dumps(man, indent=2) + "\n").encode())
    print(f"{args.to / man['file']} ({len(onnx)} bytes, sha256 {man['sha256'][:12]}…) and {args.name}.json")


if __name__ == "__main__":
    main()
