"""Fine-tuning: pretrained (or random) encoder + fresh decoder.

Two output kinds: one sigmoid per label (Dice + BCE; labels may overlap in principle) or a
softmax over background + labels (Dice + cross-entropy; one label per pixel, as in a label
volume). With a softmax the network has one output channel more than there are labels.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from . import dist as D
from .augment import SegAugmentConfig, augment_segmentation
from .common import JsonlLog, atomic_torch_save, cosine_restart_lr, load_images, pick_device, plot_curves, prefetch, seed_everything, tqdm
from .data import SliceCache
from .losses import DiceCELoss, DiceLoss
from .model import UNet, UNetConfig
from .pretrain import NonFiniteLoss

Progress = Callable[[dict], None]


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
    activation: str = "sigmoid"  # sigmoid: Dice + bce_weight * BCE; softmax: Dice + ce_weight * CE
    ce_weight: float = 1.0
    augment: SegAugmentConfig | None = None


def out_channels(labels: int, activation: str) -> int:
    """Network output channels for `labels` labels."""
    return labels + 1 if activation == "softmax" else labels


def predict_labels(logits: torch.Tensor, activation: str, threshold: float = 0.5) -> torch.Tensor:
    """(B, K, H, W) logits -> (B, H, W) label index (0 background, k for the k-th label), by the
    app's rule (inference/unet.go): softmax: argmax over background and labels; sigmoid: the
    most probable label among those above the threshold, else background."""
    if activation == "softmax":
        return logits.argmax(dim=1)
    p = torch.sigmoid(logits)
    best, idx = p.max(dim=1)
    return torch.where(best > threshold, idx + 1, torch.zeros_like(idx))


def load_encoder(unet: UNet, path: str | Path) -> dict:
    ck = torch.load(path, map_location="cpu")
    if ck.get("kind") != "encoder":
        raise ValueError(f"{path}: not an encoder checkpoint (kind {ck.get('kind')!r})")
    if UNetConfig.from_dict(ck["model_config"]).channels != unet.cfg.channels:
        raise ValueError(f"{path}: encoder channels {ck['model_config']['channels']} != model {list(unet.cfg.channels)}")
    unet.encoder.load_state_dict(ck["encoder"])
    return ck


def load_labelmaps(cache: SliceCache, ids: np.ndarray) -> torch.Tensor:
    """(B,) slice ids -> (B, S, S) int64 label maps, read in ascending order."""
    o = np.argsort(ids, kind="stable")
    out = np.empty((len(ids),) + cache.labelmap.shape[1:], np.int64)
    out[o] = cache.labelmap[ids[o]]
    return torch.from_numpy(out)


@torch.no_grad()
def validate(unet: UNet, cache: SliceCache, ids: np.ndarray, device: torch.device, batch_size: int = 32,
             info: D.DistInfo | None = None, activation: str = "sigmoid") -> list[float]:
    """Dice per label over all validation slices pooled (a 3D-like Dice on the model's grid;
    empty slices do not count as perfect), labels decided as the app does (predict_labels).
    Under torchrun each rank takes every W-th slice and the counts are summed."""
    unet.eval()
    info = info or D.DistInfo()
    ids = np.asarray(ids)[info.rank::info.world]
    c = len(cache.labels)
    inter, ps, gs = np.zeros(c), np.zeros(c), np.zeros(c)
    ks = np.arange(1, c + 1)[:, None, None, None]
    for i in range(0, len(ids), batch_size):
        b = ids[i:i + batch_size]
        x = load_images(cache.images, b).to(device)
        pred = predict_labels(unet(x), activation).cpu().numpy()[None] == ks  # (C, B, H, W)
        g = load_labelmaps(cache, b).numpy()[None] == ks
        inter += (pred & g).sum(axis=(1, 2, 3))
        ps += pred.sum(axis=(1, 2, 3))
        gs += g.sum(axis=(1, 2, 3))
    inter, ps, gs = D.all_sum(np.stack([inter, ps, gs]), info)
    return [float(2 * i / (p + g)) if p + g > 0 else 1.0 for i, p, g in zip(inter, ps, gs)]


def finetune(cache: SliceCache, train_ids: np.ndarray, val_ids: np.ndarray, model_cfg: UNetConfig,
             cfg: FinetuneConfig, out_dir: Path, resume: bool = False, progress: bool = True,
             on_progress: Progress | None = None, weights: np.ndarray | None = None) -> Path:
    """Train on cache slices `train_ids`, select on `val_ids`; returns the best checkpoint.
    on_progress (rank 0) hears {"phase": "finetune", "epoch", "epochs", "step", "steps",
    "loss"} after every step and the epoch record (with "val_dice") after every epoch.
    weights: relative probability of drawing each of train_ids (with steps_per_epoch)."""
    out_dir = Path(out_dir)
    info = D.init(cfg.device)
    seed_everything(cfg.seed, cfg.deterministic)
    device = D.device_for(info, pick_device(cfg.device))
    n_labels = len(cache.labels)
    if model_cfg.out_channels != out_channels(n_labels, cfg.activation):
        raise ValueError(f"model has {model_cfg.out_channels} output channels; {cfg.activation} over the cache's {n_labels} labels needs "
                         f"{out_channels(n_labels, cfg.activation)}")
    unet = UNet(model_cfg)
    if cfg.pretrained:
        load_encoder(unet, cfg.pretrained)
    unet.to(device)
    model = D.wrap(unet, info, device)
    opt = torch.optim.Adam(unet.parameters(), lr=cfg.lr)
    loss_fn: torch.nn.Module = DiceCELoss(cfg.ce_weight) if cfg.activation == "softmax" else DiceLoss(cfg.bce_weight)
    notify = on_progress if (on_progress is not None and info.main) else (lambda rec: None)
    log = JsonlLog(out_dir / "finetune.jsonl" if info.main else None)
    progress = progress and info.main
    start, best, history = 0, float("-inf"), []
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
            "preprocess": asdict(cache.preprocess), "labels": cache.labels, "activation": cfg.activation}
    prob = None
    if weights is not None:
        if len(weights) != len(train_ids) or not cfg.steps_per_epoch:
            raise ValueError("weights need one value per training slice and steps_per_epoch > 0")
        prob = np.asarray(weights, np.float64) / np.sum(weights)

    for epoch in range(start, cfg.epochs):
        rng = np.random.default_rng([cfg.seed, epoch, 2])
        if cfg.steps_per_epoch:
            k = cfg.steps_per_epoch * cfg.batch_size
            order = rng.choice(train_ids, size=k, replace=prob is not None or len(train_ids) < k, p=prob)
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

        def load(job: tuple[int, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
            # this rank's images; the labels of the whole batch, which the loss needs. An
            # augmented batch is drawn whole on every rank from the same generator state, then
            # cut, so every rank sees what one process sees.
            it, b = job
            y = load_labelmaps(cache, b)
            pos, _ = D.shard(len(b), info)
            if cfg.augment is None:
                return load_images(cache.images, b[pos] if info.enabled else b), _targets(y)
            gen = torch.Generator().manual_seed(int(np.random.default_rng([cfg.seed, epoch, it, 3]).integers(2**62)))
            x, y = augment_segmentation(load_images(cache.images, b), y, n_labels, cfg.augment, gen)
            return (x[torch.from_numpy(pos)] if info.enabled else x), _targets(y)

        def _targets(y: torch.Tensor) -> torch.Tensor:
            if cfg.activation == "softmax":
                return y
            return F.one_hot(y, n_labels + 1)[..., 1:].permute(0, 3, 1, 2).float()

        bar = tqdm(prefetch(list(enumerate(batches)), load), total=len(batches), desc=f"finetune {epoch + 1}/{cfg.epochs}", disable=not progress, leave=False)
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
            notify({"event": "step", "phase": "finetune", "epoch": epoch + 1, "epochs": cfg.epochs, "step": it + 1,
                    "steps": len(batches), "loss": round(float(loss), 6)})
        secs = time.time() - t0
        dice = validate(unet, cache, np.asarray(val_ids, np.int64), device, info=info, activation=cfg.activation) if len(val_ids) else [float("nan")]
        rec = {"epoch": epoch + 1, "loss": total / max(n, 1), "val_dice": dice, "frozen_encoder": frozen, "slices_per_s": n / max(secs, 1e-9)}
        history.append(rec)
        log.write(event="epoch", **rec)
        notify({"event": "epoch", "phase": "finetune", "epochs": cfg.epochs, **rec})
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
            plot_curves(out_dir / "finetune_dice.png", {f"val Dice label {v}": (ep, [h["val_dice"][c] for h in history]) for c, v in enumerate(cache.labels)},
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
