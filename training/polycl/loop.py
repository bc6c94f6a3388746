"""The learning loop: one command from an annotated dataset to a model the app runs.

    python3 -m polycl train-dataset --dataset DIR --out DIR/models/NAME [--profile cpu30] [--seed S]
                                    [--cases A,B | --done-file done.json] [--val-case NAME]

1. check: read the dataset (nnU-Net v2 raw, or MSD) and refuse it, naming the case and the
   problem, when nnU-Net's integrity rules fail (polycl.nnunet).
2. cache: pre-process every scan's axial slices once (polycl.data.SliceCache).
3. pretrain: PolyCL on every scan of the dataset, labelled or not: slices of done cases know
   which labels they show (-O, or -M), scans without labels take part through scan identity
   (-S) -- the mixed strategy polycl-o+s. The validation case counts as unlabelled here.
4. finetune: one network for every label of dataset.json (softmax over background + labels by
   default), on the done cases but one held out for validation when there are at least three.
5. validate: 3D Dice per label of the held-out case on its own grid, labels decided as the app
   decides them, largest 6-connected component kept as the app does.
6. export: ONNX + manifest (docs/model-manifest.md) recording the labels, the cases, the
   validation Dice, the profile and the command.

Invariants:
- The model folder appears whole or not at all: everything is written into a hidden sibling
  `.NAME.partial/` which is renamed to NAME at the very end; Ctrl+C, SIGTERM and SIGHUP remove
  it; after a SIGKILL the next run for NAME finds it (its pid is no longer alive) and removes it.
- Progress is a JSON object per line on stdout (PROGRESS_FORMAT); human-readable messages go to
  stderr; both go to NAME/train.log.
- Exit status: 0 done, 1 failed, 2 bad dataset or arguments, 128 + signal when interrupted.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TextIO

import numpy as np
import torch

from . import dist as D
from .augment import SegAugmentConfig
from .common import atomic_write_text, pick_device
from .data import Preprocess, build_cache
from .evaluate import evaluate_cases
from .finetune import FinetuneConfig, finetune, load_unet, out_channels
from .model import UNetConfig, count_parameters
from .nnunet import DatasetError, NnunetDataset, check, is_nnunet, pick_validation, read_dataset, read_done, read_msd
from .pretrain import PRETRAIN_STRATEGIES, PretrainConfig, pretrain

PROGRESS_FORMAT = """\
Every line on stdout is one JSON object with "event", "time" (Unix seconds) and "elapsed_s":
  {"event": "start", "dataset", "out", "profile", "seed", "pid"}
  {"event": "phase", "phase": "check" | "cache" | "pretrain" | "finetune" | "validate" | "export"}
  {"event": "step", "phase": "pretrain" | "finetune", "epoch", "epochs", "step", "steps", "loss", "fraction"}
  {"event": "epoch", "phase": "pretrain" | "finetune", "epoch", "epochs", "loss", ... ("val_dice": one per label)}
  {"event": "warning", "message"}
  {"event": "done", "model": folder, "manifest": NAME.json, "validation": {label: Dice} or null}
  {"event": "error", "kind": "dataset" | "usage" | "interrupted" | "failed", "message"}
"fraction" estimates the share of the whole run's training work done (0..1)."""


@dataclass
class TrainProfile:
    """Network, input size and schedule of a learning-loop run."""

    name: str
    size: int
    channels: tuple[int, ...]
    pre_strategy: str  # a PolyCL strategy, or "none" (no pre-training)
    pre_epochs: int
    pre_anchors: int  # anchors per epoch, 0 = all
    pre_batch: int
    pre_restart: int  # cosine schedule restart period in epochs; 0: one cycle over the whole phase
    ft_epochs: int
    ft_steps: int  # batches per epoch
    ft_batch: int
    ft_restart: int  # as pre_restart
    activation: str = "softmax"
    augment: str = "all"
    pre_lr: float = 1e-3
    # Adam at 1e-3 (the method's) moves the softmax's logits too slowly for seven labels in a
    # 1000-step budget (after 225 steps only the liver was found, CE still 1.0); at 1e-2 the
    # spleen appears within 100-150 steps (docs/learning-loop.md)
    ft_lr: float = 1e-2
    dropout: float = 0.1  # the method's 0.25 slowed the first epochs of fine-tuning further
    balance: float = 0.0  # 0: slices drawn uniformly; 1: every training case equally often (see finetune_weights)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d


PROFILES = {
    # 2 CPU cores, 30 minutes: 160 pre-training steps (1.4 CPU-s each at 128 px) and 1600
    # fine-tuning steps (0.73 CPU-s each, augmentation included), one cosine cycle; measured
    # single-threaded, docs/learning-loop.md
    "cpu30": TrainProfile("cpu30", 128, (8, 16, 32, 64, 128), "polycl-o+s", pre_epochs=8, pre_anchors=480, pre_batch=24, pre_restart=0,
                          ft_epochs=50, ft_steps=32, ft_batch=16, ft_restart=0),
    # one GPU, minutes: the method's network at 256 px and the authors' schedule scaled down
    "gpu": TrainProfile("gpu", 256, (16, 32, 64, 128, 256), "polycl-o+s", pre_epochs=40, pre_anchors=1024, pre_batch=32, pre_restart=0,
                        ft_epochs=60, ft_steps=40, ft_batch=16, ft_restart=0),
    # seconds: tests and smoke runs
    "smoke": TrainProfile("smoke", 32, (4, 8), "polycl-o+s", pre_epochs=1, pre_anchors=16, pre_batch=8, pre_restart=0,
                          ft_epochs=2, ft_steps=2, ft_batch=4, ft_restart=0),
}


class Interrupted(BaseException):
    """SIGTERM or SIGHUP arrived (SIGINT raises KeyboardInterrupt)."""

    def __init__(self, signum: int):
        super().__init__(f"interrupted by signal {signum}")
        self.signum = signum


class Reporter:
    """JSON progress lines on stdout, messages on stderr, both into a log file once it is set."""

    def __init__(self, stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr, enabled: bool = True):
        self.stdout, self.stderr, self.enabled = stdout, stderr, enabled
        self.t0 = time.time()
        self.log: TextIO | None = None
        self.pending: list[str] = []  # lines from before the log file existed
        self.weights = {"pretrain": 0.0, "finetune": 1.0}  # share of the run's work per phase

    def open_log(self, path: Path) -> None:
        if self.enabled:
            self.log = open(path, "a")
            for line in self.pending:
                self.log.write(line + "\n")
            self.pending = []
            self.log.flush()

    def close(self) -> None:
        if self.log:
            self.log.close()
            self.log = None

    def event(self, **rec: object) -> None:
        if not self.enabled:
            return
        now = time.time()
        line = json.dumps({"event": rec.pop("event"), **rec, "time": round(now, 3), "elapsed_s": round(now - self.t0, 1)},
                          allow_nan=False, default=_jsonable)
        print(line, file=self.stdout, flush=True)
        self._write(line)

    def message(self, text: str) -> None:
        if not self.enabled:
            return
        print(text, file=self.stderr, flush=True)
        self._write(f"# {time.strftime('%H:%M:%S')} {text}")

    def _write(self, line: str) -> None:
        if self.log:
            self.log.write(line + "\n")
            self.log.flush()
        else:
            self.pending.append(line)

    def progress(self, rec: dict) -> None:
        """A step or epoch record from pretrain/finetune, with the whole run's fraction added."""
        rec = dict(rec)
        if rec.get("event") == "step":
            phase = rec["phase"]
            done = ((rec["epoch"] - 1) * rec["steps"] + rec["step"]) / (rec["epochs"] * rec["steps"])
            before = self.weights["pretrain"] if phase == "finetune" else 0.0
            rec["fraction"] = round(before + self.weights[phase] * done, 4)
        if "val_dice" in rec:
            rec["val_dice"] = [None if v != v else round(v, 4) for v in rec["val_dice"]]  # NaN -> null
        self.event(**rec)


def _jsonable(v: object) -> object:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        f = float(v)
        return None if f != f else f
    if isinstance(v, Path):
        return str(v)
    return str(v)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def partial_dir(out: Path) -> Path:
    return out.parent / f".{out.name}.partial"


def claim_partial(out: Path) -> Path:
    """Create the hidden work folder of `out`, removing one a killed run left behind; refuse
    when a live process owns it."""
    tmp = partial_dir(out)
    if tmp.exists():
        try:
            pid = int((tmp / "pid").read_text().strip())
        except (OSError, ValueError):
            pid = -1
        if pid > 0 and pid != os.getpid() and _alive(pid):
            raise RuntimeError(f"{tmp}: another training of {out.name} (pid {pid}) is writing there")
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    (tmp / "pid").write_text(f"{os.getpid()}\n")
    return tmp


def publish(tmp: Path, out: Path, force: bool) -> None:
    """Rename the finished work folder to `out` (replacing an old model only with force)."""
    (tmp / "pid").unlink(missing_ok=True)
    if out.exists():
        if not force:
            raise FileExistsError(f"{out} exists (it appeared during training); the new model stays in {tmp}")
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.rename(out, old)
        os.rename(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, out)


def presence_label(present: np.ndarray, rows: np.ndarray) -> int:
    """The label channel whose slice-level presence over `rows` is closest to one half: the
    most informative split of slices into "shows it" and "does not" for PolyCL-O/-M."""
    share = (present[rows] == 1).mean(axis=0)
    return int(np.argmin(np.abs(share - 0.5)))


def finetune_weights(scan: np.ndarray, balance: float) -> np.ndarray:
    """Per-slice drawing weights: balance 0 draws slices uniformly (a long scan counts more),
    1 draws every scan equally often; in between, a mix of the two."""
    _, inv, counts = np.unique(scan, return_inverse=True, return_counts=True)
    uniform = np.full(len(scan), 1.0 / len(scan))
    per_case = 1.0 / (counts[inv] * len(counts))
    return (1 - balance) * uniform + balance * per_case


def load_dataset(root: Path, done: set[str] | None, labels_arg: str | None) -> NnunetDataset:
    if is_nnunet(root):
        ds = read_dataset(root, done)
        if labels_arg:
            raise DatasetError(root, ["--labels is for MSD folders; an nnU-Net dataset trains every label of its dataset.json"])
        return ds
    labels = None
    if labels_arg:
        from .export import LABEL_NAMES

        labels = {}
        for part in labels_arg.split(","):
            name, _, value = part.partition("=")
            if value:
                labels[name] = int(value)
            else:  # a bare value: its TotalSegmentator name
                labels[LABEL_NAMES.get(int(name), f"label_{name}")] = int(name)
    return read_msd(root, done, labels)


def train_dataset(args: argparse.Namespace, rep: Reporter) -> dict:
    """The whole loop (module docstring); returns the done record. Raises DatasetError,
    ValueError (usage), Interrupted/KeyboardInterrupt, or anything a phase raises."""
    info = D.init(args.device)
    rep.enabled = rep.enabled and info.main
    out = Path(args.out).absolute()
    root = Path(args.dataset)
    p = PROFILES[args.profile]
    overrides = {k: v for k, v in (("size", args.size), ("pre_strategy", args.pretrain), ("activation", args.activation),
                                   ("augment", args.augment), ("ft_epochs", args.epochs), ("balance", args.balance)) if v is not None}
    p = replace(p, **overrides)
    if p.pre_strategy != "none" and p.pre_strategy not in PRETRAIN_STRATEGIES:
        raise ValueError(f"--pretrain {p.pre_strategy!r}: want none or one of {PRETRAIN_STRATEGIES}")
    aug = SegAugmentConfig.named(p.augment)
    if out.exists() and not args.force:
        raise ValueError(f"{out} exists; pass --force to replace it")
    rep.event(event="start", dataset=str(root), out=str(out), profile=p.to_dict(), seed=args.seed, pid=os.getpid())

    rep.event(event="phase", phase="check")
    done = read_done(args.cases, args.done_file)
    ds = load_dataset(root, done, args.labels)
    for w in check(ds, log=lambda m: None):
        rep.event(event="warning", message=w)
    if not ds.done:
        raise DatasetError(root, ["no done case with a label: nothing to fine-tune on"])
    val = pick_validation(ds, args.seed, args.val_case) if not args.no_val else None
    train_names = [c.name for c in ds.done if c.name != val]
    rep.message(f"{ds.root}: {len(ds.cases)} cases, {len(ds.done)} done ({', '.join(c.name for c in ds.done)}), "
                f"{len(ds.unlabelled)} unlabelled; labels {ds.labels}; validation: {val or 'none (fewer than 3 done cases)'}")

    tmp = claim_partial(out) if info.main else partial_dir(out)
    D.barrier(info)
    try:
        rep.open_log(tmp / "train.log")
        rep.message("command: " + " ".join(map(shlex.quote, sys.argv)))
        rep.event(event="phase", phase="cache")
        pp = Preprocess(size=p.size)
        cache_dir = Path(args.cache) if args.cache else out.parent / ".cache"
        cases = [c.case() for c in ds.cases]
        if info.main:
            cache = build_cache(cases, pp, ds.label_values, cache_dir, log=rep.message)
        D.barrier(info)
        cache = build_cache(cases, pp, ds.label_values, cache_dir, log=rep.message)
        train_ids = cache.slices_of(train_names)
        val_ids = cache.slices_of([val]) if val else np.empty(0, np.int64)
        n_labels = len(ds.labels)
        model_cfg = UNetConfig(out_channels=out_channels(n_labels, p.activation), channels=p.channels, dropout=p.dropout)
        pre_cost = 0.0 if p.pre_strategy == "none" else p.pre_epochs * p.pre_anchors * 3 * 0.5  # encoder only: ~half a U-Net pass
        ft_cost = p.ft_epochs * p.ft_steps * p.ft_batch
        rep.weights = {"pretrain": pre_cost / (pre_cost + ft_cost), "finetune": ft_cost / (pre_cost + ft_cost)}

        enc = None
        pre_info: dict = {"strategy": "none"}
        if p.pre_strategy != "none":
            rep.event(event="phase", phase="pretrain")
            # organ presence is known on the training cases only: the validation case's labels
            # and the labels of cases not done yet are not used, even as flags
            train_rows = np.isin(np.arange(len(cache.scan)), train_ids)
            target = presence_label(cache.present, np.flatnonzero(train_rows))
            flags = np.where(train_rows, cache.present[:, target], -1).astype(np.int8)
            pool = np.arange(len(cache.scan))
            pcfg = PretrainConfig(strategy=p.pre_strategy, epochs=p.pre_epochs, batch_size=p.pre_batch, lr=p.pre_lr, max_anchors=p.pre_anchors,
                                  restart_epochs=p.pre_restart or p.pre_epochs, seed=args.seed, device=args.device, target=target, center=True)
            enc = pretrain(cache, pool, model_cfg, pcfg, tmp / "pretrain", progress=False, on_progress=rep.progress, present=flags)
            pre_info = {"strategy": p.pre_strategy, "presence_label": ds.label_names[target], "slices": int(len(pool)),
                        "slices_with_presence": int((flags >= 0).sum()), "config": asdict(pcfg)}
            rep.message(f"pre-trained ({p.pre_strategy}, presence of {ds.label_names[target]} on {int((flags >= 0).sum())} of {len(pool)} slices)")

        rep.event(event="phase", phase="finetune")
        fcfg = FinetuneConfig(epochs=p.ft_epochs, steps_per_epoch=p.ft_steps, batch_size=p.ft_batch, lr=p.ft_lr, restart_epochs=p.ft_restart or p.ft_epochs,
                              bce_weight=1.0, pretrained=str(enc) if enc else None, seed=args.seed, device=args.device,
                              activation=p.activation, augment=aug)
        weights = finetune_weights(cache.scan[train_ids], p.balance) if p.balance else None
        best = finetune(cache, train_ids, val_ids, model_cfg, fcfg, tmp / "finetune", progress=False, on_progress=rep.progress, weights=weights)

        result: dict = {"validation": None}
        if info.main:
            unet, ck = load_unet(best)
            validation = None
            if val:
                rep.event(event="phase", phase="validate")
                vcase = next(c for c in ds.done if c.name == val).case()
                rows = evaluate_cases(unet, [vcase], pp, ds.label_values, ds.label_names, pick_device(args.device),
                                      keep_largest=True, activation=p.activation, connectivity=6)
                validation = {r["label"]: round(r["dice"], 4) for r in rows}
                rep.message(f"validation ({val}, 3D, largest component): {validation}")
            rep.event(event="phase", phase="export")
            result = export_model(unet, ck, tmp, out.name, pp, ds, p, args, train_names, val, validation, pre_info)
            shutil.copyfile(best, tmp / "model.pt")
            for f in ("pretrain/pretrain.jsonl", "pretrain/pretrain_loss.png", "finetune/finetune.jsonl", "finetune/finetune_loss.png",
                      "finetune/finetune_dice.png"):
                if (tmp / f).is_file():
                    shutil.copyfile(tmp / f, tmp / Path(f).name)
            shutil.rmtree(tmp / "pretrain", ignore_errors=True)
            shutil.rmtree(tmp / "finetune", ignore_errors=True)
            rep.close()
            publish(tmp, out, args.force)
            rep.open_log(out / "train.log")
            rep.event(event="done", model=str(out), manifest=str(out / f"{out.name}.json"), validation=validation)
            rep.close()
        D.barrier(info)
        return result
    except BaseException:
        rep.close()
        if info.main:
            shutil.rmtree(tmp, ignore_errors=True)
        raise


def export_model(unet, ck: dict, tmp: Path, name: str, pp: Preprocess, ds: NnunetDataset, p: TrainProfile,  # noqa: ANN001
                 args: argparse.Namespace, train_names: list[str], val: str | None, validation: dict | None, pre_info: dict) -> dict:
    from .export import export_onnx, verify_export, write_manifest

    onnx_path = tmp / f"{name}.onnx"
    export_onnx(unet, onnx_path, pp.size, p.activation)
    samples = np.random.default_rng(0).random((2, 1, pp.size, pp.size), dtype=np.float32)
    check_ = verify_export(unet, onnx_path, samples, p.activation)
    if check_["max_abs_diff"] > 1e-4:
        raise RuntimeError(f"{onnx_path}: ONNX differs from PyTorch by {check_['max_abs_diff']}")
    prov = {"trainer": f"training/polycl train-dataset (PyTorch {torch.__version__})",
            "command": args.command_note or " ".join(map(shlex.quote, sys.argv)),
            "data": args.data_note or f"dataset {ds.root} ({ds.name})",
            "dataset": str(ds.root), "cases": train_names, "validation_case": val,
            "unlabelled_cases": [c.name for c in ds.unlabelled], "profile": p.to_dict(), "pretraining": pre_info,
            "strategy": pre_info["strategy"], "seed": args.seed, "model_config": ck["model_config"],
            "finetune_config": ck["finetune_config"], "best_epoch": ck["epoch"], "parameters": count_parameters(unet)}
    metrics = {"validation": validation,
               "validation_note": (f"3D Dice per label of the held-out done case {val} on its own grid, labels decided as the app does, "
                                   "largest 6-connected component kept") if val else "no validation: fewer than 3 done cases",
               "export_check": check_}
    write_manifest(onnx_path, name, unet, pp.to_manifest(), ds.label_values, prov, metrics, args.licence,
                   activation=p.activation, names=ds.label_names)
    return {"validation": validation}


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--dataset", required=True, help="nnU-Net v2 raw folder (dataset.json, imagesTr, labelsTr[, imagesTs]) or an MSD folder")
    ap.add_argument("--out", required=True, help="model folder to create, e.g. DIR/models/NAME (holds NAME.onnx, NAME.json, train.log)")
    ap.add_argument("--profile", choices=tuple(PROFILES), default="cpu30")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cases", help="comma-separated done cases (default: every case with a label file)")
    ap.add_argument("--done-file", help='JSON file: a list of done case names, or {"done": [names]}')
    ap.add_argument("--val-case", help="the done case to hold out for validation (default: drawn by the seed when >= 3 are done)")
    ap.add_argument("--no-val", action="store_true", help="hold out nothing (the epoch with the lowest training loss is kept)")
    ap.add_argument("--labels", help="MSD folders only: labels to train, NAME=VALUE or TotalSegmentator values, comma-separated")
    ap.add_argument("--pretrain", help="override the profile's pre-training: none or a strategy (" + ", ".join(PRETRAIN_STRATEGIES) + ")")
    ap.add_argument("--activation", choices=("softmax", "sigmoid"), help="override the profile's output: softmax over background + labels, or a sigmoid per label")
    ap.add_argument("--augment", help="override the profile's fine-tuning augmentation: none, all, or e.g. spatial+organ+intensity+resolution+noise")
    ap.add_argument("--size", type=int, help="override the profile's input size (px)")
    ap.add_argument("--epochs", type=int, help="override the profile's fine-tuning epochs")
    ap.add_argument("--balance", type=float, help="0: draw training slices uniformly; 1: every case equally often")
    ap.add_argument("--cache", help="slice cache folder (default: OUT/../.cache)")
    ap.add_argument("--force", action="store_true", help="replace an existing model folder")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--data-note", default="", help="provenance.data text")
    ap.add_argument("--command-note", default="", help="provenance.command text (default: this command line)")
    ap.add_argument("--licence", default="as the training data's licence")


def main(args: argparse.Namespace, rep: Reporter | None = None) -> int:
    """Run train_dataset with signal handling and the documented exit status."""
    rep = rep or Reporter()
    handlers: dict[int, object] = {}

    def _raise(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    # SIGINT is installed too: a process started in the background by a shell without job
    # control (nohup cmd &, some launchers) inherits SIGINT ignored, and Python then never
    # raises KeyboardInterrupt, so Ctrl+C or the app's Cancel would be lost.
    for sig, h in ((signal.SIGTERM, _raise), (signal.SIGHUP, _raise), (signal.SIGINT, signal.default_int_handler)):
        try:
            handlers[sig] = signal.signal(sig, h)
        except ValueError:  # not the main thread (a test runner): leave the handlers alone
            pass
    try:
        train_dataset(args, rep)
        return 0
    except DatasetError as e:
        rep.event(event="error", kind="dataset", message=str(e))
        rep.message(f"error: {e}")
        return 2
    except (ValueError, FileExistsError) as e:
        rep.event(event="error", kind="usage", message=str(e))
        rep.message(f"error: {e}")
        return 2
    except KeyboardInterrupt:
        rep.event(event="error", kind="interrupted", message="interrupted (SIGINT); no model written")
        rep.message("interrupted; no model written")
        return 130
    except Interrupted as e:
        rep.event(event="error", kind="interrupted", message=f"{e}; no model written")
        rep.message(f"{e}; no model written")
        return 128 + e.signum
    except Exception as e:  # noqa: BLE001 - reported to the caller as a failed run
        rep.event(event="error", kind="failed", message=f"{type(e).__name__}: {e}")
        rep.message(f"error: {type(e).__name__}: {e}")
        return 1
    finally:
        for sig, h in handlers.items():
            signal.signal(sig, h)  # type: ignore[arg-type]

