"""The label-efficiency experiment of docs/evaluation.md:
{random init, SimCLR, PolyCL-S, PolyCL-O, PolyCL-M} x label budgets x seeds, tested in-domain
(phantom scanner A), on a shifted domain (phantom scanner B) and on the real patients.

Every run writes its result JSON under the work directory and is skipped when that file
exists, so an interrupted experiment resumes where it stopped; `report` aggregates whatever
results exist.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import dist as D
from .common import atomic_write_text, pick_device
from .data import Case, Preprocess, build_cache, discover_cases, load_case
from .evaluate import evaluate_cases, summarize
from .finetune import FinetuneConfig, finetune, load_unet
from .model import UNetConfig
from .pretrain import PretrainConfig, pretrain

STRATEGIES = ("none", "simclr", "polycl-s", "polycl-o", "polycl-m")


@dataclass
class Profile:
    name: str
    size: int
    channels: tuple[int, ...]
    phantom_shape: tuple[int, int, int]
    n_a: int  # scanner-A phantoms: pool + val + test
    n_pool: int  # labelled pool (budget "all")
    n_val: int
    n_b: int  # scanner-B phantoms: unlabelled (pre-training) + test
    n_b_unlabelled: int
    budgets: tuple[int, ...]
    seeds: tuple[int, ...]
    pre_epochs: int
    pre_anchors: int  # anchors per epoch, 0 = all
    pre_batch: int
    ft_epochs: int
    ft_steps: int  # batches per epoch, the same for every budget
    ft_batch: int
    restart_epochs: int
    bce_weight: float = 1.0  # Dice + BCE: converges in far fewer steps than Dice alone


PROFILES = {
    # 2 shared CPU cores, < 45 min: 64 px, a 4-level network with 8..64 channels, few epochs.
    # phantom_shape is used only for the Python fallback phantoms; scripts/experiment.sh makes
    # 96x96x64 polyseg phantoms.
    "quick": Profile("quick", 64, (8, 16, 32, 64), (64, 64, 32), 16, 8, 2, 10, 4, (1, 2, 5, 8), (0, 1, 2),
                     pre_epochs=6, pre_anchors=384, pre_batch=24, ft_epochs=8, ft_steps=10, ft_batch=8, restart_epochs=10),
    # seconds: exercises every step of the pipeline (tests, smoke runs)
    "smoke": Profile("smoke", 32, (4, 8), (32, 32, 12), 4, 2, 1, 2, 1, (1, 2), (0,),
                     pre_epochs=1, pre_anchors=16, pre_batch=8, ft_epochs=1, ft_steps=2, ft_batch=4, restart_epochs=10),
    # one GPU (an H200 here), a few minutes for the whole grid: the method's 16..256-channel
    # network at 256 px on 256x256x48 polyseg phantoms (scripts/gpu/check.sh makes them and
    # checks them against scripts/gpu/data.sha256), the authors' schedule scaled down: 20
    # pre-training epochs of 512 anchors, 15 fine-tuning epochs of 20 batches, warm restarts
    # every 5 epochs instead of 10 of 100. The quick profile's scans and budgets.
    "gpu": Profile("gpu", 256, (16, 32, 64, 128, 256), (256, 256, 48), 16, 8, 2, 10, 6, (1, 2, 5, 8), (0, 1, 2),
                   pre_epochs=20, pre_anchors=512, pre_batch=32, ft_epochs=15, ft_steps=20, ft_batch=16, restart_epochs=5),
    # a GPU: the method's network and input size, the authors' schedule
    "full": Profile("full", 256, (16, 32, 64, 128, 256), (256, 256, 64), 40, 24, 4, 30, 10, (1, 2, 5, 24), (0, 1, 2),
                    pre_epochs=100, pre_anchors=0, pre_batch=30, ft_epochs=50, ft_steps=20, ft_batch=16, restart_epochs=10),
}


def split_cases(a: list[Case], b: list[Case], p: Profile) -> dict[str, list[Case]]:
    """Deterministic split (by sorted name, then a fixed permutation), independent of the seeds."""
    a = sorted(a, key=lambda c: c.name)
    b = sorted(b, key=lambda c: c.name)
    if len(a) < p.n_pool + p.n_val + 1 or len(b) < p.n_b_unlabelled + 1:
        raise ValueError(f"profile {p.name} needs >= {p.n_pool + p.n_val + 1} scanner-A and >= {p.n_b_unlabelled + 1} scanner-B scans, got {len(a)} and {len(b)}")
    pa = np.random.default_rng(1234).permutation(len(a))
    pb = np.random.default_rng(4321).permutation(len(b))
    a = [a[i] for i in pa]
    b = [b[i] for i in pb]
    return {"pool": a[: p.n_pool], "val": a[p.n_pool: p.n_pool + p.n_val], "test_a": a[p.n_pool + p.n_val:],
            "unlabelled_b": b[: p.n_b_unlabelled], "test_b": b[p.n_b_unlabelled:]}


def run_experiment(p: Profile, data_a: Path, data_b: Path, real: list[Case], work: Path, device: str = "auto",
                   strategies: tuple[str, ...] = STRATEGIES, log=print) -> None:
    work = Path(work)
    # Under torchrun every rank trains; rank 0 alone builds the cache, evaluates and writes.
    info = D.init(device)
    if not info.main:
        log = lambda m: None  # noqa: E731
    split = split_cases(discover_cases(data_a), discover_cases(data_b), p)
    labels, names = [5], ["liver"]
    pp = Preprocess(size=p.size)
    all_cases = split["pool"] + split["val"] + split["unlabelled_b"]
    if info.main:
        build_cache(all_cases, pp, labels, work / "cache", log=log)
    D.barrier(info)
    cache = build_cache(all_cases, pp, labels, work / "cache", log=log)
    model_cfg = UNetConfig(out_channels=len(labels), channels=p.channels)
    if info.main:
        atomic_write_text(work / "split.json", json.dumps({k: [c.name for c in v] for k, v in split.items()} | {"real": [c.name for c in real]}, indent=1))
    # pre-training pool: every slice of the labelled pool and the unlabelled scanner-B scans;
    # organ presence flags come from their phantom labels (the labels themselves are not used)
    pre_pool = cache.slices_of([c.name for c in split["pool"] + split["unlabelled_b"]])
    val_ids = cache.slices_of([c.name for c in split["val"]])
    log("loading test scans")
    tests = {"A": [load_case(c) for c in split["test_a"]], "B": [load_case(c) for c in split["test_b"]],
             **{c.name: [load_case(c)] for c in real}} if info.main else {}
    dev = D.device_for(info, pick_device(device))
    for seed in p.seeds:
        for strategy in strategies:
            enc = None
            if strategy != "none":
                pre_dir = work / "pretrain" / f"{strategy}-s{seed}"
                enc = pre_dir / "encoder.pt"
                if not enc.is_file():
                    t0 = time.time()
                    pretrain(cache, pre_pool, model_cfg, PretrainConfig(strategy=strategy, epochs=p.pre_epochs, batch_size=p.pre_batch,
                             max_anchors=p.pre_anchors, restart_epochs=p.restart_epochs, seed=seed, device=device), pre_dir, progress=False)
                    log(f"pretrain {strategy} seed {seed}: {time.time() - t0:.0f} s")
            order = np.random.default_rng([seed, 77]).permutation(len(split["pool"]))
            for budget in p.budgets:
                res_path = work / "results" / f"{strategy}-b{budget}-s{seed}.json"
                if res_path.is_file():
                    continue
                t0 = time.time()
                chosen = [split["pool"][i].name for i in order[:budget]]
                ft_dir = work / "finetune" / f"{strategy}-b{budget}-s{seed}"
                best = finetune(cache, cache.slices_of(chosen), val_ids, model_cfg,
                                FinetuneConfig(epochs=p.ft_epochs, steps_per_epoch=p.ft_steps, batch_size=p.ft_batch, restart_epochs=p.restart_epochs,
                                               bce_weight=p.bce_weight, pretrained=str(enc) if enc else None, seed=seed, device=device), ft_dir, progress=False)
                if info.main:
                    unet, _ = load_unet(best)
                    result = {"strategy": strategy, "budget": budget, "seed": seed, "train_scans": chosen, "domains": {}}
                    for dom, cases in tests.items():
                        rows = evaluate_cases(unet, cases, pp, labels, names, dev)
                        result["domains"][dom] = {"rows": rows, "summary": summarize(rows)}
                    res_path.parent.mkdir(parents=True, exist_ok=True)
                    atomic_write_text(res_path, json.dumps(result, indent=1, default=lambda v: None))
                    d = {k: round(v["summary"]["liver"]["dice_mean"], 3) for k, v in result["domains"].items()}
                    log(f"{strategy} budget {budget} seed {seed}: Dice {d} ({time.time() - t0:.0f} s)")
                D.barrier(info)


def _fmt(xs: list[float]) -> str:
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    if not xs:
        return "-"
    return f"{np.mean(xs):.3f} ± {np.std(xs):.3f}"


def report(work: Path, out_md: Path, plot_dir: Path, header: str = "") -> str:
    """Aggregate result JSONs into a Markdown table (Dice mean ± std over seeds of the per-seed
    mean over test scans; HD95 likewise over defined cases) and plots."""
    results = [json.loads(p.read_text()) for p in sorted((Path(work) / "results").glob("*.json"))]
    if not results:
        raise ValueError(f"no results under {work}/results")
    domains = list(results[0]["domains"].keys())
    budgets = sorted({r["budget"] for r in results})
    strategies = [s for s in STRATEGIES if any(r["strategy"] == s for r in results)]
    lines = [header, "", "| pre-training | labelled scans | seeds | " + " | ".join(f"Dice {d}" for d in domains) + " | " +
             " | ".join(f"HD95 {d} (mm)" for d in domains) + " | failures |",
             "|---|---|---|" + "---|" * (2 * len(domains) + 1)]
    curves: dict[str, dict[str, list]] = {d: {} for d in domains}
    for s in strategies:
        for b in budgets:
            rs = [r for r in results if r["strategy"] == s and r["budget"] == b]
            if not rs:
                continue
            dice = {d: [r["domains"][d]["summary"]["liver"]["dice_mean"] for r in rs] for d in domains}
            hd = {d: [r["domains"][d]["summary"]["liver"]["hd95_mm_mean"] for r in rs] for d in domains}
            fails = sum(r["domains"][d]["summary"]["liver"]["failures"] for r in rs for d in domains)
            lines.append(f"| {s} | {b} | {len(rs)} | " + " | ".join(_fmt(dice[d]) for d in domains) + " | " +
                         " | ".join(_fmt(hd[d]) for d in domains) + f" | {fails} |")
            for d in domains:
                curves[d].setdefault(s, []).append((b, float(np.mean(dice[d])), float(np.std(dice[d]))))
    # paired differences: every arm uses the same labelled scans as random init for a given
    # (seed, budget), so arm - none per seed removes the variation due to which scans were drawn
    if "none" in strategies:
        lines += ["", "Paired difference to random init (Dice of the arm minus Dice of `none` with the same seed and "
                  "labelled scans; mean ± std over seeds):", "",
                  "| pre-training | labelled scans | " + " | ".join(f"ΔDice {d}" for d in domains) + " |",
                  "|---|---|" + "---|" * len(domains)]
        base = {(r["seed"], r["budget"]): r for r in results if r["strategy"] == "none"}
        for s in strategies[1:]:
            for b in budgets:
                rs = [r for r in results if r["strategy"] == s and r["budget"] == b and (r["seed"], b) in base]
                if rs:
                    diff = {d: [r["domains"][d]["summary"]["liver"]["dice_mean"] - base[(r["seed"], b)]["domains"][d]["summary"]["liver"]["dice_mean"]
                                for r in rs] for d in domains}
                    lines.append(f"| {s} | {b} | " + " | ".join(_fmt(diff[d]) for d in domains) + " |")
    table = "\n".join(lines) + "\n"
    try:
        import matplotlib
    except ImportError:  # a machine without matplotlib still gets the table
        return table + "\n(plots not drawn: matplotlib is not installed)\n"

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    plot_dir = Path(plot_dir)
    plot_dir.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(domains), figsize=(4 * len(domains), 3.4), dpi=100, sharey=True)
    for ax, d in zip(np.atleast_1d(axes), domains):
        for s, pts in curves[d].items():
            x, m, sd = zip(*pts)
            ax.errorbar(x, m, yerr=sd, marker="o", capsize=3, label=s)
        ax.set_xscale("log")
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xticks(budgets)
        ax.set_xticklabels([str(b) for b in budgets])
        ax.set_title(f"test: {d}")
        ax.set_xlabel("labelled scans")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("liver Dice (3D)")
    np.atleast_1d(axes)[-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(plot_dir / "dice_vs_budget.png")
    plt.close(fig)
    # pre-training loss curves of seed 0
    fig, ax = plt.subplots(figsize=(5, 3.4), dpi=100)
    for f in sorted((Path(work) / "pretrain").glob("*-s0/pretrain.jsonl")):
        recs = [json.loads(l) for l in f.read_text().splitlines() if '"epoch"' in l and '"event": "epoch"' in l]
        ax.plot([r["epoch"] for r in recs], [r["loss"] for r in recs], marker="o", label=f.parent.name[:-3])
    ax.set_xlabel("epoch")
    ax.set_ylabel("contrastive loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(plot_dir / "pretrain_loss.png")
    plt.close(fig)
    # fine-tuning validation Dice curves, seed 0, budget 1
    fig, ax = plt.subplots(figsize=(5, 3.4), dpi=100)
    for f in sorted((Path(work) / "finetune").glob(f"*-b{budgets[0]}-s0/finetune.jsonl")):
        recs = [json.loads(l) for l in f.read_text().splitlines() if '"event": "epoch"' in l]
        ax.plot([r["epoch"] for r in recs], [r["val_dice"][0] for r in recs], marker="o", label=f.parent.name.rsplit("-b", 1)[0])
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"val liver Dice ({budgets[0]} labelled scan)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(plot_dir / "finetune_val_dice.png")
    plt.close(fig)
    return table
