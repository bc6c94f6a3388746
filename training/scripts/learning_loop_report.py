#!/usr/bin/env python3
"""Tables of the learning-loop experiment (docs/learning-loop.md) from scripts/learning_loop.sh's
runs: per arm and organ, Dice on patient B and patient A, mean +- std over seeds and each seed;
the ablation as paired differences to the full recipe; run times.

    scripts/learning_loop_report.py out/ll/runs [--liver-model out/ll/runs/eval/polycl-liver]
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

ORGANS_B = ["liver", "spleen", "stomach", "pancreas"]
ORGANS_A = ["liver", "spleen", "kidney_right", "kidney_left", "gallbladder", "stomach", "pancreas"]
ARM_TEXT = {
    "full": "PolyCL-O+S pre-training, all augmentation, softmax, 128 px",
    "scratch": "(a) the same, no pre-training (random init)",
    "noaug": "full without fine-tuning augmentation",
    "spatialonly": "full with spatial augmentation only (no organ contrast, intensity, resolution, noise)",
    "nophantoms": "full without the phantoms (patient A the only labelled case)",
    "nounlabelled": "full without patient B's unlabelled slices in pre-training",
    "size160": "full at 160 px",
    "sigmoid": "full with one sigmoid per label instead of the softmax",
}


def dice(ev: Path, part: str) -> dict[str, float]:
    f = ev / part / "summary.json"
    if not f.is_file():
        return {}
    return {k: v["dice_mean"] for k, v in json.loads(f.read_text())["summary"].items()}


def fmt(xs: list[float]) -> str:
    if not xs:
        return "-"
    if len(xs) == 1:
        return f"{xs[0]:.3f}"
    return f"{np.mean(xs):.3f} ± {np.std(xs):.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", type=Path)
    ap.add_argument("--liver-model", type=Path)
    args = ap.parse_args()
    runs: dict[str, dict[int, dict]] = {}
    for ev in sorted((args.runs / "eval").glob("*-s[0-9]*")):
        m = re.fullmatch(r"(.+)-s(\d+)", ev.name)
        if not m:
            continue
        arm, seed = m[1], int(m[2])
        rec = {part: dice(ev, part) for part in ("B-lcc", "B-raw", "A-lcc", "A-raw")}
        man = args.runs / "models" / ev.name / f"{ev.name}.json"
        if man.is_file():
            mj = json.loads(man.read_text())
            rec["val"] = mj["metrics"]["validation"]
            rec["best_epoch"] = mj["provenance"]["best_epoch"]
        log = args.runs / "logs" / f"{ev.name}.jsonl"
        if log.is_file():
            last = json.loads(log.read_text().splitlines()[-1])
            rec["elapsed_s"] = last.get("elapsed_s")
        timing = args.runs / "logs" / f"{ev.name}.time"  # /usr/bin/time: "W s wall, U s user, S s sys"
        if timing.is_file():
            nums = re.findall(r"([0-9.]+) s (wall|user|sys)", timing.read_text())
            if len(nums) == 3:
                rec["cpu_s"] = float(nums[1][0]) + float(nums[2][0])
        runs.setdefault(arm, {})[seed] = rec
    out = []
    liver = {p: dice(args.liver_model, p) for p in ("B-lcc", "B-raw", "A-lcc", "A-raw")} if args.liver_model else None

    for part, organs, title in (("B-lcc", ORGANS_B, "Patient B (contrast, 1 mm in-plane, never labelled), largest component kept as the app does"),
                                ("B-raw", ORGANS_B, "Patient B, no clean-up"),
                                ("A-lcc", ORGANS_A, "Patient A (the labelled real case: training data, so in-sample), largest component kept")):
        out += [f"### {title}", "", "| arm | seeds | " + " | ".join(organs) + " | mean over organs |", "|---|---|" + "---|" * (len(organs) + 1)]
        for arm in [a for a in ARM_TEXT if a in runs] + [a for a in runs if a not in ARM_TEXT]:
            seeds = sorted(runs[arm])
            cells = []
            for o in organs:
                xs = [runs[arm][s][part][o] for s in seeds if o in runs[arm][s][part]]
                cells.append(fmt(xs) + (f" ({' / '.join(f'{x:.3f}' for x in xs)})" if len(xs) > 1 else ""))
            means = [float(np.mean([runs[arm][s][part][o] for o in organs])) for s in seeds if all(o in runs[arm][s][part] for o in organs)]
            out.append(f"| {arm} | {','.join(map(str, seeds))} | " + " | ".join(cells) + f" | {fmt(means)} |")
        if liver and liver[part]:
            out.append("| polycl-liver (the default before, phantoms only, liver only) | 0 | " +
                       " | ".join(f"{liver[part][o]:.3f}" if o in liver[part] else "-" for o in organs) + " | - |")
        out.append("")

    if "full" in runs:
        others = [a for a in runs if a != "full"]
        out += ["### Ablation: Dice on patient B (largest component) minus the full recipe's with the same seed", "",
                "| arm | what changes | seeds | " + " | ".join(ORGANS_B) + " | mean over organs |", "|---|---|---|" + "---|" * (len(ORGANS_B) + 1)]
        for arm in [a for a in ARM_TEXT if a in others]:
            seeds = sorted(s for s in runs[arm] if s in runs["full"] and runs[arm][s]["B-lcc"] and runs["full"][s]["B-lcc"])
            cells = [fmt([runs[arm][s]["B-lcc"][o] - runs["full"][s]["B-lcc"][o] for s in seeds]) for o in ORGANS_B]
            mean = fmt([float(np.mean([runs[arm][s]["B-lcc"][o] - runs["full"][s]["B-lcc"][o] for o in ORGANS_B])) for s in seeds])
            out.append(f"| {arm} | {ARM_TEXT[arm]} | {','.join(map(str, seeds))} | " + " | ".join(cells) + f" | {mean} |")
        out.append("")

    out += ["### Runs", "", "| run | wall time (min) | CPU time (min) | best epoch | validation Dice (phantom_B_2019, 3D, per label) |", "|---|---|---|---|---|"]
    for arm in runs:
        for s in sorted(runs[arm]):
            r = runs[arm][s]
            val = r.get("val")
            vtxt = ", ".join(f"{k} {v:.2f}" for k, v in val.items()) if val else "none"
            t, cpu = r.get("elapsed_s"), r.get("cpu_s")
            wall = f"{t / 60:.1f}" if t else "-"
            cpu_txt = f"{cpu / 60:.1f}" if cpu else "-"
            out.append(f"| {arm}-s{s} | {wall} | {cpu_txt} | {r.get('best_epoch', '-')} | {vtxt} |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
