"""Fine-tuning: pretrained (or random) encoder + fresh decoder, Dice (+ BCE) loss."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from . import dist as D
from .common import JsonlLog, atomic_torch_save, cosine_restart_lr, load_images, pick_device, plot_curves, prefetch, seed_everything, tqdm
from .data import SliceCache
from .losses import DiceLoss
from .model import UNet, UNetConfig
from .pretrain import NonFiniteLoss


@dataclass
class FinetuneConfig:
    epochs: int = 50
    steps_per_epoch: int = 0  # 0: one pass over the training slices; N: N batches drawn at random,
    #                           so every label budget gets the same number of updates
    batch_size: int = 16
    lr: float = 1e-3
    restart_epochs: int = 10
    bce_weight: float = 0.0
    freeze_encoder_epochs: int = 0  # train only the decoder for the first epochs
    pretrained: str | None = None  # encoder checkpoint from pretrain
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"


def load_encoder(unet: UNet, path: str | Path) -> dict:
    ck = torch.load(path, map_location="cpu")
    if ck.get("kind") != "encoder":
        raise ValueError(f"{path}: not an encoder checkpoint (kind {ck.get('kind')!r})")
    if UNetConfig.from_dict(ck["model_config"]).channels != unet.cfg.channels:
        raise ValueError(f"{path}: encoder channels {ck['model_config']['channels']} != model {list(unet.cfg.channels)}")
    unet.encoder.load_state_dict(ck["encoder"])
    return ck


@torch.no_grad()
def validate(unet: UNet, cache: SliceCache, ids: np.ndarray, device: torch.device, batch_size: int = 32,
             info: D.DistInfo | None = None) -> list[float]:
    """Dice per label channel over all validation slices pooled (a 3D-like Dice on the model's
    grid; empty slices do not count as perfect). Under torchrun each rank takes every W-th
    slice and the counts are summed."""
    unet.eval()
    info = info or D.DistInfo()
    ids = np.asarray(ids)[info.rank::info.world]
    c = unet.cfg.out_channels
    inter, ps, gs = np.zeros(c), np.zeros(c), np.zeros(c)
    for i in range(0, len(ids), batch_size):
        b = ids[i:i + batch_size]
        x = load_images(cache.images, b).to(device)
        pred = (unet(x) > 0).cpu().numpy()  # logit > 0  <=>  prob > 0.5
        g = np.asarray(cache.masks[np.sort(b)])[np.argsort(np.argsort(b))].astype(bool)
        inter += (pred & g).sum(axis=(0, 2, 3))
        ps += pred.sum(axis=(0, 2, 3))
        gs += g.sum(axis=(0, 2, 3))
    inter, ps, gs = D.all_sum(np.stack([inter, ps, gs]), info)
    return [float(2 * i / (p + g)) if p + g > 0 else 1.0 for i, p, g in zip(inter, ps, gs)]


def finetune(cache: SliceCache, train_ids: np.ndarray, val_ids: np.ndarray, model_cfg: UNetConfig,
             cfg: FinetuneConfig, out_dir: Path, resume: bool = False, progress: bool = True) -> Path:
    """Train on cache slices `train_ids`, select on `val_ids`; returns the best checkpoint."""
    out_dir = Path(out_dir)
    info = D.init(cfg.device)
    seed_everything(cfg.seed, cfg.deterministic)
    device = D.device_for(info, pick_device(cfg.device))
    if model_cfg.out_channels != cache.masks.shape[1]:
        raise ValueError(f"model has {model_cfg.out_channels} output channels, cache has {cache.masks.shape[1]} labels")
    unet = UNet(model_cfg)
    if cfg.pretrained:
        load_encoder(unet, cfg.pretrained)
    unet.to(device)
    model = D.wrap(unet, info, device)
    opt = torch.optim.Adam(unet.parameters(), lr=cfg.lr)
    loss_fn = DiceLoss(cfg.bce_weight)
    log = JsonlLog(out_dir / "finetune.jsonl" if info.main else None)
    progress = progress and info.main
    start, best, history = 0, -1.0, []
    last = out_dir / "last.pt"
    if resume and last.is_file():
        ck = torch.load(last, map_location="cpu")
        unet.load_state_dict(ck["state_dict"])
        opt.load_state_dict(ck["optimizer"])
        start, best, history = ck["epoch"], ck["best_dice"], ck["history"]
        torch.set_rng_state(ck["torch_rng"])
        log.write(event="resume", epoch=start)
    else:
        log.write(event="start", config=asdict(cfg), model=model_cfg.to_dict(), train=len(train_ids), val=len(val_ids), device=str(device), world=info.world)
    train_ids = np.asarray(train_ids, np.int64)
    meta = {"kind": "unet", "model_config": model_cfg.to_dict(), "finetune_config": asdict(cfg),
            "preprocess": asdict(cache.preprocess), "labels": cache.labels}

    for epoch in range(start, cfg.epochs):
        rng = np.random.default_rng([cfg.seed, epoch, 2])
        if cfg.steps_per_epoch:
            order = rng.choice(train_ids, size=cfg.steps_per_epoch * cfg.batch_size, replace=len(train_ids) < cfg.steps_per_epoch * cfg.batch_size)
        else:
            order = rng.permutation(train_ids)
        batches = [order[i:i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]
        frozen = epoch < cfg.freeze_encoder_epochs
        if not info.enabled:
            for p in unet.encoder.parameters():
                p.requires_grad_(not frozen)
        # (DDP fixes the parameters it synchronises when it is built: there a frozen encoder
        # keeps requires_grad and loses its gradients before the step instead, which Adam
        # treats the same way.)
        unet.train()
        total, n, t0 = 0.0, 0, time.time()

        def load(b: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
            # this rank's images; the masks of the whole batch, which the loss needs
            o = np.argsort(b, kind="stable")
            m = np.empty((len(b),) + cache.masks.shape[1:], np.float32)
            m[o] = cache.masks[b[o]]
            pos, _ = D.shard(len(b), info)
            return load_images(cache.images, b[pos] if info.enabled else b), torch.from_numpy(m)

        bar = tqdm(prefetch(batches, load), total=len(batches), desc=f"finetune {epoch + 1}/{cfg.epochs}", disable=not progress, leave=False)
        for it, (x, y) in enumerate(bar):
            for g in opt.param_groups:
                g["lr"] = cosine_restart_lr(cfg.lr, epoch + it / len(batches), cfg.restart_epochs)
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with D.sharded(D.shard(len(y), info)[0], len(y), info, device):
                logits = D.gather(model(x), len(y), info)
            loss = loss_fn(logits, y)
            if not torch.isfinite(loss):
                log.write(event="non-finite", epoch=epoch, step=it, loss=float(loss))
                raise NonFiniteLoss(f"finetune: non-finite loss at epoch {epoch} step {it}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if frozen and info.enabled:
                for p in unet.encoder.parameters():
                    p.grad = None
            opt.step()
            total += float(loss) * len(y)
            n += len(y)
            bar.set_postfix(loss=f"{total / n:.4f}")
        secs = time.time() - t0
        dice = validate(unet, cache, np.asarray(val_ids, np.int64), device, info=info) if len(val_ids) else [float("nan")]
        rec = {"epoch": epoch + 1, "loss": total / max(n, 1), "val_dice": dice, "frozen_encoder": frozen, "slices_per_s": n / max(secs, 1e-9)}
        history.append(rec)
        log.write(event="epoch", **rec)
        score = float(np.mean(dice)) if len(val_ids) else -rec["loss"]
        state = {**meta, "state_dict": unet.state_dict(), "epoch": epoch + 1, "history": history}
        if score > best:
            best = score
            if info.main:
                atomic_torch_save({**state, "best_dice": best}, out_dir / "best.pt")
        if info.main:
            atomic_torch_save({**state, "best_dice": best, "optimizer": opt.state_dict(), "torch_rng": torch.get_rng_state()}, last)

    if info.main:
        ep = [h["epoch"] for h in history]
        plot_curves(out_dir / "finetune_loss.png", {"train loss": (ep, [h["loss"] for h in history])}, "fine-tuning loss", "Dice loss")
        if len(val_ids):
            plot_curves(out_dir / "finetune_dice.png", {f"val Dice ch{c}": (ep, [h["val_dice"][c] for h in history]) for c in range(model_cfg.out_channels)},
                        "validation Dice", "Dice")
        log.write(event="done", best=best)
    D.barrier(info)  # best.pt exists for every rank from here on
    return out_dir / "best.pt"


def load_unet(path: str | Path) -> tuple[UNet, dict]:
    ck = torch.load(path, map_location="cpu")
    if ck.get("kind") != "unet":
        raise ValueError(f"{path}: not a U-Net checkpoint (kind {ck.get('kind')!r})")
    unet = UNet(UNetConfig.from_dict(ck["model_config"]))
    unet.load_state_dict(ck["state_dict"])
    unet.eval()
    return unet, ck
