"""Contrastive pre-training of the U-Net encoder: PolyCL-S/-O/-M or the SimCLR baseline."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from . import dist as D
from .augment import AugmentConfig, random_view
from .common import JsonlLog, atomic_torch_save, cosine_restart_lr, load_images, pick_device, plot_curves, prefetch, seed_everything, tqdm
from .data import SliceCache
from .losses import InBatchInfoNCE, NTXent, TripletCosineLoss
from .model import ContrastiveNet, UNetConfig
from .samplers import TripletSampler

Progress = Callable[[dict], None]

PRETRAIN_STRATEGIES = ("polycl-s", "polycl-o", "polycl-m", "polycl-o+s", "polycl-m+s", "simclr")


@dataclass
class PretrainConfig:
    strategy: str = "polycl-m"  # polycl-s | polycl-o | polycl-m | simclr
    loss: str = "triplet"  # triplet (the paper's) | infonce (in-batch negatives); simclr uses nt-xent
    temperature: float = 0.1
    m_negative: str = "same-scan"  # polycl-m negatives: same-scan (paper's figure) | other-scan (authors' code)
    target: int = 0  # label channel whose slice-level presence defines T(x)
    epochs: int = 100
    batch_size: int = 30
    lr: float = 1e-3
    restart_epochs: int = 10  # cosine schedule with warm restarts
    max_anchors: int = 0  # anchors per epoch, 0 = all
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"
    # subtract the batch's mean embedding before the cosine similarities. The method's head
    # (GAP of instance-normalised features) gives nearly the same vector for every slice, so
    # every cosine starts near 1 and the loss sits at ln 2 for epochs (measured: 6 epochs of 20
    # batches in the learning loop); centred, the slices' differences are what the cosines see.
    center: bool = False


class NonFiniteLoss(RuntimeError):
    pass


def pretrain(cache: SliceCache, pool: np.ndarray, model_cfg: UNetConfig, cfg: PretrainConfig,
             out_dir: Path, progress: bool = True, on_progress: Progress | None = None,
             present: np.ndarray | None = None) -> Path:
    """Pre-train on the slices `pool` (indices into the cache); returns the encoder checkpoint.
    Under torchrun every rank runs this with the same arguments (polycl.dist).
    on_progress (rank 0) hears {"phase": "pretrain", "epoch", "epochs", "step", "steps",
    "loss"} after every step and the epoch record after every epoch. present: organ presence
    (1/0/-1) per cache slice to use instead of cache.present[:, cfg.target] (e.g. -1 for a
    scan whose labels must not be used)."""
    if cfg.strategy not in PRETRAIN_STRATEGIES:
        raise ValueError(f"unknown strategy {cfg.strategy!r}, want one of {PRETRAIN_STRATEGIES}")
    out_dir = Path(out_dir)
    info = D.init(cfg.device)
    seed_everything(cfg.seed, cfg.deterministic)
    device = D.device_for(info, pick_device(cfg.device))
    net = ContrastiveNet(model_cfg).to(device)
    model = D.wrap(net, info, device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    log = JsonlLog(out_dir / "pretrain.jsonl" if info.main else None)
    progress = progress and info.main
    notify = on_progress if (on_progress is not None and info.main) else (lambda rec: None)
    log.write(event="start", config=asdict(cfg), model=model_cfg.to_dict(), pool=len(pool), device=str(device), world=info.world)
    pool = np.asarray(pool, np.int64)

    if cfg.strategy == "simclr":
        loss_fn: torch.nn.Module = NTXent(cfg.temperature)
        aug, gen = AugmentConfig(), torch.Generator().manual_seed(cfg.seed)
        sampler = None
    else:
        loss_fn = TripletCosineLoss(cfg.temperature) if cfg.loss == "triplet" else InBatchInfoNCE(cfg.temperature)
        flags = cache.present[:, cfg.target] if present is None else np.asarray(present)
        sampler = TripletSampler(cache.scan[pool], flags[pool], cfg.strategy, cfg.seed, cfg.m_negative)

    views = 2 if sampler is None else 3  # encoder passes per anchor
    history = []
    for epoch in range(cfg.epochs):
        rng = np.random.default_rng([cfg.seed, epoch, 1])
        if sampler is None:
            anchors = rng.permutation(len(pool))
            rows = anchors[:, None]
            skipped = 0
        else:
            t = sampler.epoch(epoch)
            rows = np.stack([t.anchor, t.positive, t.negative], axis=1)  # local ids (A, 3)
            skipped = t.skipped
        if cfg.max_anchors:
            rows = rows[: cfg.max_anchors]
        if len(rows) < 2:
            raise ValueError(f"{cfg.strategy}: only {len(rows)} usable anchors ({skipped} skipped); need organ presence flags and more scans")
        batches = [rows[i:i + cfg.batch_size] for i in range(0, len(rows) - 1, cfg.batch_size)]
        batches = [b for b in batches if len(b) >= 2]  # a batch of one has no in-batch negatives
        net.train()
        total, n, t0 = 0.0, 0, time.time()
        def load(b: np.ndarray) -> tuple[torch.Tensor, int, np.ndarray]:
            # this rank's rows of the batch; SimCLR augments the whole batch on every rank, so
            # that the views come from the one generator sequence a single process draws
            pos, _ = D.shard(len(b), info)
            rows_here = b if sampler is None else b[pos]
            return load_images(cache.images, pool[rows_here.reshape(-1)]), len(b), pos

        bar = tqdm(prefetch(batches, load),
                   total=len(batches), desc=f"pretrain {cfg.strategy} {epoch + 1}/{cfg.epochs}", disable=not progress, leave=False)
        for it, (x, bsz, pos) in enumerate(bar):
            for g in opt.param_groups:
                g["lr"] = cosine_restart_lr(cfg.lr, epoch + it / len(batches), cfg.restart_epochs)
            x = x.to(device, non_blocking=True)
            if sampler is None:
                v1 = random_view(x, aug, gen)
                v2 = random_view(x, aug, gen)
                if info.enabled:
                    v1, v2 = v1[torch.from_numpy(pos).to(device)], v2[torch.from_numpy(pos).to(device)]
                with D.sharded(pos, bsz, info, device):
                    z1 = D.gather(model(v1), bsz, info)
                    z2 = D.gather(model(v2), bsz, info)
                if cfg.center:
                    mu = torch.cat([z1, z2]).mean(0, keepdim=True)
                    z1, z2 = z1 - mu, z2 - mu
                loss = loss_fn(z1, z2)
            else:
                with D.sharded(D.rows(pos, 3), 3 * bsz, info, device):
                    z = D.gather(model(x).view(len(pos) if info.enabled else bsz, 3, -1), bsz, info)  # rows are (anchor, positive, negative)
                if cfg.center:
                    z = z - z.reshape(-1, z.shape[-1]).mean(0)
                loss = loss_fn(z[:, 0], z[:, 1], z[:, 2])
            if not torch.isfinite(loss):
                log.write(event="non-finite", epoch=epoch, step=it, loss=float(loss))
                raise NonFiniteLoss(f"pretrain {cfg.strategy}: non-finite loss at epoch {epoch} step {it}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss) * bsz
            n += bsz
            bar.set_postfix(loss=f"{total / n:.4f}")
            notify({"event": "step", "phase": "pretrain", "epoch": epoch + 1, "epochs": cfg.epochs, "step": it + 1,
                    "steps": len(batches), "loss": round(float(loss), 6)})
        rec = {"epoch": epoch + 1, "loss": total / max(n, 1), "anchors": n, "skipped": skipped,
               "slices_per_s": n * views / max(time.time() - t0, 1e-9)}
        history.append(rec)
        log.write(event="epoch", **rec)
        notify({"event": "epoch", "phase": "pretrain", "epochs": cfg.epochs, **rec})

    ckpt = out_dir / "encoder.pt"
    if info.main:
        atomic_torch_save({"kind": "encoder", "model_config": model_cfg.to_dict(), "pretrain_config": asdict(cfg),
                           "encoder": net.encoder.state_dict(), "head": net.head.state_dict(), "history": history}, ckpt)
        plot_curves(out_dir / "pretrain_loss.png", {cfg.strategy: ([h["epoch"] for h in history], [h["loss"] for h in history])},
                    f"pre-training loss ({cfg.strategy})", "loss")
        log.write(event="done", checkpoint=str(ckpt))
    D.barrier(info)  # the checkpoint exists for every rank from here on
    return ckpt
