"""Training throughput: the real pre-training and fine-tuning loops (slice cache, samplers,
prefetch) against a bare PyTorch loop over tensors already in memory, same network, batch and
optimiser. Rounds alternate the two and the ratio is the median over rounds, because the
shared machine's load changes from minute to minute (docs/evaluation.md: ratios, not times).
"""
from __future__ import annotations

import resource
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from .common import read_jsonl
from .data import Preprocess, build_cache, discover_cases
from .finetune import FinetuneConfig, finetune
from .losses import DiceLoss, TripletCosineLoss
from .model import ContrastiveNet, UNet, UNetConfig
from .phantom import write_msd
from .pretrain import PretrainConfig, pretrain


def _bare_finetune(cfg: UNetConfig, x: torch.Tensor, y: torch.Tensor, bs: int, steps: int) -> float:
    unet = UNet(cfg)
    opt = torch.optim.Adam(unet.parameters(), 1e-3)
    loss_fn = DiceLoss(1.0)
    unet.train()
    for i in range(steps + 1):
        if i == 1:
            t0 = time.perf_counter()  # step 0 is warm-up
        j = (i * bs) % (len(x) - bs)
        loss = loss_fn(unet(x[j:j + bs]), y[j:j + bs])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps * bs / (time.perf_counter() - t0)


def _bare_pretrain(cfg: UNetConfig, x: torch.Tensor, bs: int, steps: int) -> float:
    net = ContrastiveNet(cfg)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    loss_fn = TripletCosineLoss(0.1)
    net.train()
    for i in range(steps + 1):
        if i == 1:
            t0 = time.perf_counter()
        j = (i * 3 * bs) % (len(x) - 3 * bs)
        z = net(x[j:j + 3 * bs]).view(bs, 3, -1)
        loss = loss_fn(z[:, 0], z[:, 1], z[:, 2])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps * 3 * bs / (time.perf_counter() - t0)


def run_bench(size: int, channels: tuple[int, ...], batch_size: int, steps: int, work: str | Path, rounds: int = 3) -> dict:
    work = Path(work)
    data = work / "phantoms"
    if not (data / "dataset.json").is_file():
        write_msd(data, 6, 0, "A", (size, size, 32))
    cache = build_cache(discover_cases(data), Preprocess(size=size), [5], work / "cache", log=lambda m: None)
    cfg = UNetConfig(channels=channels)
    ids = np.arange(len(cache.scan))
    x = torch.from_numpy(np.array(cache.images))[:, None]
    y = torch.from_numpy(np.array(cache.masks)).float()
    res: dict[str, list[float]] = {k: [] for k in ("finetune_pipeline", "finetune_bare", "pretrain_pipeline", "pretrain_bare")}
    for r in range(rounds):
        res["finetune_bare"].append(_bare_finetune(cfg, x, y, batch_size, steps))
        out = work / f"ft{r}"
        finetune(cache, ids, np.empty(0, np.int64), cfg, FinetuneConfig(epochs=2, steps_per_epoch=steps, batch_size=batch_size, bce_weight=1.0),
                 out, progress=False)
        res["finetune_pipeline"].append([e for e in read_jsonl(out / "finetune.jsonl") if e.get("event") == "epoch"][-1]["slices_per_s"])
        res["pretrain_bare"].append(_bare_pretrain(cfg, x, batch_size, steps))
        out = work / f"pre{r}"
        pretrain(cache, ids, cfg, PretrainConfig(strategy="polycl-m", m_negative="other-scan", epochs=2, batch_size=batch_size,
                 max_anchors=steps * batch_size), out, progress=False)
        res["pretrain_pipeline"].append([e for e in read_jsonl(out / "pretrain.jsonl") if e.get("event") == "epoch"][-1]["slices_per_s"])
    med = {k: statistics.median(v) for k, v in res.items()}
    return {
        "size": size, "channels": list(channels), "batch_size": batch_size, "steps": steps, "rounds": rounds,
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "slices_per_s_median": {k: round(v, 2) for k, v in med.items()},
        "ratio_finetune": round(statistics.median(p / b for p, b in zip(res["finetune_pipeline"], res["finetune_bare"])), 3),
        "ratio_pretrain": round(statistics.median(p / b for p, b in zip(res["pretrain_pipeline"], res["pretrain_bare"])), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
