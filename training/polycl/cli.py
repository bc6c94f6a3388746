"""Command line: python -m polycl <command> [flags]; `python -m polycl <command> -h` for help."""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from . import experiment as exp
from .common import atomic_write_text, pick_device
from .data import Case, Preprocess, build_cache, discover_cases, parse_case_spec
from .evaluate import evaluate_cases, write_results
from .finetune import FinetuneConfig, finetune, load_unet
from .model import UNetConfig, count_parameters
from .pretrain import PRETRAIN_STRATEGIES, PretrainConfig, pretrain

def _cases(args: argparse.Namespace) -> list[Case]:
    cases = [c for d in args.data for c in discover_cases(Path(d))]
    cases += [parse_case_spec(s) for s in args.case]
    if not cases:
        raise SystemExit("no input: give --data DIR and/or --case NAME=IMAGE[,LABEL]")
    return cases


def _labels(s: str) -> list[int]:
    return [int(v) for v in s.split(",")]


def _channels(s: str) -> tuple[int, ...]:
    return tuple(int(v) for v in s.split(","))


def _add_data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", action="append", default=[], help="dataset folder (MSD imagesTr/labelsTr, images/+labels/, or NAME + NAME_seg files); repeatable")
    p.add_argument("--case", action="append", default=[], help="NAME=IMAGE[,LABEL]; repeatable")
    p.add_argument("--labels", type=_labels, default=[5], help="label values, one output channel each (TotalSegmentator: 5 liver, 1 spleen, 2/3 kidneys)")
    p.add_argument("--size", type=int, default=256, help="model input size (px)")
    p.add_argument("--central-fraction", type=float, default=1.0, help="keep this central share of each scan's slices for training")
    p.add_argument("--cache", default="out/cache", help="slice cache folder")


def _pp(args: argparse.Namespace) -> Preprocess:
    return Preprocess(size=args.size, central_fraction=args.central_fraction)


def cmd_phantom(args: argparse.Namespace) -> None:
    from .phantom import write_msd

    names = write_msd(Path(args.out), args.count, args.seed, args.scanner, tuple(args.shape))
    print(f"wrote {len(names)} scanner-{args.scanner} phantoms to {args.out}")


def cmd_pretrain(args: argparse.Namespace) -> None:
    cases = _cases(args)
    cache = build_cache(cases, _pp(args), args.labels, Path(args.cache))
    cfg = PretrainConfig(strategy=args.strategy, loss=args.loss, temperature=args.temperature, m_negative=args.m_negative,
                         epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, max_anchors=args.max_anchors,
                         seed=args.seed, deterministic=args.deterministic, device=args.device, center=args.center)
    ck = pretrain(cache, np.arange(len(cache.scan)), UNetConfig(out_channels=len(args.labels), channels=args.channels), cfg, Path(args.out))
    print(ck)


def _split_labelled(cases: list[Case], budget: int, n_val: int, seed: int) -> tuple[list[str], list[str]]:
    lab = sorted((c for c in cases if c.label is not None), key=lambda c: c.name)
    if len(lab) < n_val + 1:
        raise SystemExit(f"need at least {n_val + 1} labelled scans, got {len(lab)}")
    order = np.random.default_rng([seed, 77]).permutation(len(lab))
    val = [lab[i].name for i in order[:n_val]]
    train = [lab[i].name for i in order[n_val:]]
    return (train[:budget] if budget else train), val


def cmd_finetune(args: argparse.Namespace) -> None:
    cases = _cases(args)
    cache = build_cache(cases, _pp(args), args.labels, Path(args.cache))
    train, val = _split_labelled(cases, args.budget, args.val, args.seed)
    train_ids = cache.slices_of(train)
    if args.budget_slices:
        train_ids = np.random.default_rng(args.seed).choice(train_ids, size=min(args.budget_slices, len(train_ids)), replace=False)
    cfg = FinetuneConfig(epochs=args.epochs, steps_per_epoch=args.steps, batch_size=args.batch_size, lr=args.lr, bce_weight=args.bce,
                         freeze_encoder_epochs=args.freeze_epochs, pretrained=args.pretrained, seed=args.seed,
                         deterministic=args.deterministic, device=args.device)
    print(f"fine-tuning on {len(train)} scans ({len(train_ids)} slices), validating on {len(val)} scans", file=sys.stderr)
    best = finetune(cache, train_ids, cache.slices_of(val), UNetConfig(out_channels=len(args.labels), channels=args.channels),
                    cfg, Path(args.out), resume=args.resume)
    print(best)


def _label_names(labels: list[int]) -> list[str]:
    from .export import LABEL_NAMES

    return [LABEL_NAMES.get(v, f"label_{v}") for v in labels]


def cmd_evaluate(args: argparse.Namespace) -> None:
    unet, ck = load_unet(args.checkpoint)
    pp = Preprocess(**ck["preprocess"])
    cases = [c for c in _cases(args) if c.label is not None]
    rows = evaluate_cases(unet, cases, pp, ck["labels"], _label_names(ck["labels"]), pick_device(args.device), keep_largest=args.largest_component)
    s = write_results(rows, Path(args.out) / "metrics.csv", Path(args.out) / "summary.json",
                      {"checkpoint": str(args.checkpoint), "postprocess": "largest connected component" if args.largest_component else "none"})
    print(json.dumps(s["summary"], indent=1))


def cmd_evaluate_model(args: argparse.Namespace) -> None:
    """Evaluate an exported model (manifest + ONNX) exactly as shipped."""
    from .export import onnx_model, sha256_file

    man = json.loads(Path(args.model).read_text())
    onnx_path = Path(args.model).parent / man["file"]
    if sha256_file(onnx_path) != man["sha256"]:
        raise SystemExit(f"{onnx_path}: sha256 differs from {args.model}")
    pre = man["preprocess"]
    pp = Preprocess(window_level=pre["window"]["level"], window_width=pre["window"]["width"], size=pre["size"][0])
    labels = sorted(man["labels"], key=lambda l: l["channel"])
    first = 1 if man["activation"] == "softmax" else 0
    if [l["channel"] for l in labels] != list(range(first, first + len(labels))):
        raise SystemExit(f"{args.model}: label channels {[l['channel'] for l in labels]} are not consecutive from {first}")
    cases = [c for c in _cases(args) if c.label is not None]
    only = args.only.split(",") if args.only else None
    rows = evaluate_cases(onnx_model(onnx_path), cases, pp, [l["value"] for l in labels], [l["name"] for l in labels],
                          threshold=man.get("threshold", 0.5), keep_largest=args.largest_component, activation=man["activation"],
                          connectivity=args.connectivity, only=only)
    s = write_results(rows, Path(args.out) / "metrics.csv", Path(args.out) / "summary.json",
                      {"model": str(args.model), "sha256": man["sha256"],
                       "postprocess": f"largest {args.connectivity}-connected component" if args.largest_component else "none"})
    print(json.dumps({k: round(v["dice_mean"], 4) for k, v in s["summary"].items()}))


def cmd_export(args: argparse.Namespace) -> None:
    # imported here: onnx is needed only to export (a GPU machine's Python may lack it)
    from .export import export_onnx, verify_export, write_manifest, write_reference

    unet, ck = load_unet(args.checkpoint)
    labels = ck["labels"]
    if args.keep_labels:
        keep = _labels(args.keep_labels)
        idx = [labels.index(v) for v in keep]
        # the output 1x1 conv is per channel, so dropping channels leaves the others exact
        out = unet.decoder.out
        new = torch.nn.Conv2d(out.in_channels, len(idx), 1)
        new.weight.data, new.bias.data = out.weight.data[idx].clone(), out.bias.data[idx].clone()
        unet.decoder.out, unet.cfg.out_channels, labels = new, len(idx), keep
    pp = Preprocess(**ck["preprocess"])
    onnx_path = Path(args.out)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    export_onnx(unet, onnx_path, pp.size)
    samples = np.random.default_rng(0).random((2, 1, pp.size, pp.size), dtype=np.float32)
    check = verify_export(unet, onnx_path, samples)
    if check["max_abs_diff"] > 1e-4:
        raise SystemExit(f"{onnx_path}: ONNX differs from PyTorch by {check['max_abs_diff']}")
    if args.reference:
        write_reference(unet, pp, Path(args.reference), args.reference_slices, Path(args.reference_out), onnx_path)
    metrics: dict = {"note": args.metrics_note} if args.metrics_note else {}
    for spec in args.metrics:
        name, _, path = spec.partition("=")
        if not path:
            raise SystemExit(f"--metrics {spec!r}: want NAME=summary.json")
        metrics[name] = json.loads(Path(path).read_text())["summary"]
    metrics["export_check"] = check
    prov = {"trainer": "training/polycl (PyTorch " + torch.__version__ + ")", "command": args.command or " ".join(map(shlex.quote, sys.argv)),
            "data": args.data_note, "strategy": args.strategy, "seed": ck["finetune_config"]["seed"],
            "model_config": ck["model_config"], "finetune_config": ck["finetune_config"], "parameters": count_parameters(unet)}
    m = write_manifest(onnx_path, args.name or onnx_path.stem, unet, pp.to_manifest(), labels, prov, metrics, args.licence)
    print(f"{onnx_path} ({onnx_path.stat().st_size / 1e6:.2f} MB), {m}; check {check}")


def cmd_experiment(args: argparse.Namespace) -> None:
    p = exp.PROFILES[args.profile]
    work = Path(args.work)
    data_a, data_b = args.phantom_a, args.phantom_b
    if data_a is None or data_b is None:
        from .phantom import write_msd

        data_a, data_b = work / "phantoms-A", work / "phantoms-B"
        if not (data_a / "dataset.json").is_file():
            write_msd(data_a, p.n_a, 1, "A", p.phantom_shape)
        if not (data_b / "dataset.json").is_file():
            write_msd(data_b, p.n_b, 2, "B", p.phantom_shape)
    real = [parse_case_spec(s) for s in args.real]
    stamp = lambda m: print(time.strftime("%H:%M:%S"), m, flush=True)  # noqa: E731
    exp.run_experiment(p, Path(data_a), Path(data_b), real, work, args.device, tuple(args.strategies.split(",")), log=stamp)
    cmd_report(args)


def cmd_report(args: argparse.Namespace) -> None:
    header = f"Profile `{args.profile}`: {asdict(exp.PROFILES[args.profile])}"
    table = exp.report(Path(args.work), Path(args.out_md), Path(args.plots), header)
    atomic_write_text(Path(args.out_md), table)
    print(table)


def cmd_bench(args: argparse.Namespace) -> None:
    from .bench import run_bench

    print(json.dumps(run_bench(args.size, args.channels, args.batch_size, args.steps, args.work), indent=1))


def cmd_train_dataset(args: argparse.Namespace) -> None:
    from . import loop

    raise SystemExit(loop.main(args))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="polycl", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)

    from . import loop

    p = sub.add_parser("train-dataset", help="the learning loop: check a dataset, pre-train, fine-tune every label, export DIR/models/NAME",
                       description=loop.__doc__, epilog=loop.PROGRESS_FORMAT,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    loop.add_arguments(p)
    p.set_defaults(fn=cmd_train_dataset)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--channels", type=_channels, default=(16, 32, 64, 128, 256), help="encoder widths, comma-separated")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--deterministic", action="store_true", help="deterministic kernels (slower on GPU)")
        p.add_argument("--device", default="auto", help="auto (GPU if present), cpu, cuda, cuda:1, mps")

    p = sub.add_parser("phantom", help="write synthetic CT phantoms (MSD layout)")
    p.add_argument("out")
    p.add_argument("--count", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scanner", choices=("A", "B"), default="A")
    p.add_argument("--shape", type=int, nargs=3, default=(64, 64, 32))
    p.set_defaults(fn=cmd_phantom)

    p = sub.add_parser("pretrain", help="contrastive pre-training of the encoder")
    _add_data(p)
    common(p)
    p.add_argument("--strategy", choices=PRETRAIN_STRATEGIES, default="polycl-m")
    p.add_argument("--loss", choices=("triplet", "infonce"), default="triplet", help="triplet: the paper's one-negative loss; infonce: in-batch negatives")
    p.add_argument("--temperature", type=float, default=0.1)
    p.add_argument("--m-negative", choices=("same-scan", "other-scan"), default="same-scan", help="PolyCL-M negative: same scan (paper's figure, default) or another scan (authors' code)")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=30)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--max-anchors", type=int, default=0)
    p.add_argument("--center", action="store_true", help="subtract the batch's mean embedding before the cosines (avoids the ln 2 plateau)")
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_pretrain)

    p = sub.add_parser("finetune", help="fine-tune a U-Net on labelled scans")
    _add_data(p)
    common(p)
    p.add_argument("--pretrained", help="encoder checkpoint from pretrain (default: random init)")
    p.add_argument("--budget", type=int, default=0, help="labelled scans to train on (0 = all)")
    p.add_argument("--budget-slices", type=int, default=0, help="further cap on labelled slices (0 = no cap)")
    p.add_argument("--val", type=int, default=2, help="labelled scans held out for validation")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--steps", type=int, default=0, help="batches per epoch (0 = one pass over the training slices)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--bce", type=float, default=0.0, help="weight of BCE added to the Dice loss")
    p.add_argument("--freeze-epochs", type=int, default=0, help="epochs with the encoder frozen")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_finetune)

    p = sub.add_parser("evaluate", help="3D Dice/HD95/ASSD/volume per scan -> CSV + summary JSON")
    _add_data(p)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--largest-component", action="store_true", help="keep only the largest 3D connected component of each label")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", required=True, help="folder for metrics.csv and summary.json")
    p.set_defaults(fn=cmd_evaluate)

    p = sub.add_parser("evaluate-model", help="3D metrics of an exported model (NAME.json + ONNX), labels decided as the app does")
    _add_data(p)
    p.add_argument("--model", required=True, help="the model's manifest, NAME.json")
    p.add_argument("--only", help="label names to evaluate, comma-separated (default: all of the model's)")
    p.add_argument("--largest-component", action="store_true", help="keep only the largest connected component of each label")
    p.add_argument("--connectivity", type=int, choices=(6, 26), default=6, help="6: the app's; 26: scipy's full neighbourhood")
    p.add_argument("--out", required=True, help="folder for metrics.csv and summary.json")
    p.set_defaults(fn=cmd_evaluate_model)

    p = sub.add_parser("export", help="ONNX + manifest JSON")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--out", required=True, help="NAME.onnx; the manifest goes to NAME.json")
    p.add_argument("--name")
    p.add_argument("--keep-labels", help="export only these label values (comma-separated)")
    p.add_argument("--metrics", action="append", default=[], help="NAME=summary.json from evaluate, recorded under metrics.NAME; repeatable")
    p.add_argument("--reference", help="CT file whose slices become Go-side reference data (input and PyTorch probs)")
    p.add_argument("--reference-slices", type=lambda v: [int(k) for k in v.split(",")], default=[0], help="slice indices (RAS+ z) for --reference")
    p.add_argument("--reference-out", default="testdata/reference", help="folder for --reference files")
    p.add_argument("--metrics-note", default="", help="metrics.note text, e.g. what the reference labels are")
    p.add_argument("--strategy", default="none")
    p.add_argument("--data-note", default="", help="provenance.data text")
    p.add_argument("--command", default="", help="provenance.command text (default: this command line)")
    p.add_argument("--licence", default="Apache-2.0 (weights trained by polyseg's trainer on synthetic phantoms and unlabelled TotalSegmentator example CT, Apache-2.0)")
    p.set_defaults(fn=cmd_export)

    p = sub.add_parser("experiment", help="label-efficiency experiment (resumable)")
    p.add_argument("--profile", choices=tuple(exp.PROFILES), default="quick")
    p.add_argument("--phantom-a", type=Path, help="scanner-A dataset (default: Python phantoms in WORK)")
    p.add_argument("--phantom-b", type=Path, help="scanner-B dataset (shifted domain)")
    p.add_argument("--real", action="append", default=[], help="NAME=IMAGE,LABEL real test scan; repeatable")
    p.add_argument("--strategies", default=",".join(exp.STRATEGIES))
    p.add_argument("--work", default="out/experiment")
    p.add_argument("--device", default="auto")
    p.add_argument("--out-md", default="../docs/experiment-results.md")
    p.add_argument("--plots", default="../docs/experiment")
    p.set_defaults(fn=cmd_experiment)

    p = sub.add_parser("report", help="aggregate experiment results")
    p.add_argument("--profile", choices=tuple(exp.PROFILES), default="quick")
    p.add_argument("--work", default="out/experiment")
    p.add_argument("--out-md", default="../docs/experiment-results.md")
    p.add_argument("--plots", default="../docs/experiment")
    p.set_defaults(fn=cmd_report)

    p = sub.add_parser("bench", help="training throughput: data pipeline vs bare in-memory loop")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--channels", type=_channels, default=(8, 16, 32, 64))
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--work", default="out/bench")
    p.set_defaults(fn=cmd_bench)

    args = ap.parse_args(argv)
    args.fn(args)
