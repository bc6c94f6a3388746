"""Shared training plumbing: seeds, devices, JSON-lines logs, atomic writes, batch prefetch,
learning-rate schedule, plots."""
from __future__ import annotations

import json
import math
import os
import queue
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import torch

try:
    from tqdm import tqdm
except ImportError:  # progress bars are optional (a GPU machine's Python may lack tqdm)

    class tqdm:  # type: ignore[no-redef]
        def __init__(self, it: Iterable, **kwargs: object):
            self.it = it

        def __iter__(self) -> Iterator:
            return iter(self.it)

        def set_postfix(self, **kwargs: object) -> None:
            pass


def seed_everything(seed: int, deterministic: bool = False) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        # bit-identical reruns on one machine, at some speed cost on GPU
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(name)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are meant to be shared and committed
        os.replace(tmp, path)
    except BaseException:
        # A signal's exception can arrive just after the rename, when tmp is gone: the
        # interruption, not a FileNotFoundError, is what the caller must see.
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_torch_save(obj: object, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)  # see atomic_write_bytes
        raise


class JsonlLog:
    """One JSON object per line; each record gets a wall-clock timestamp."""

    def __init__(self, path: Path | None):
        self.path = Path(path) if path else None
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, **record: object) -> None:
        if self.path is None:
            return
        record = {"time": round(time.time(), 3), **record}
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")


def read_jsonl(path: Path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def cosine_restart_lr(base_lr: float, epoch_float: float, period: float, min_lr: float = 0.0) -> float:
    """Cosine annealing with warm restarts every `period` epochs (SGDR, T_mult = 1)."""
    t = (epoch_float % period) / period
    return min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * t))


def prefetch(batches: Iterable[np.ndarray], load: Callable[[np.ndarray], tuple], depth: int = 2) -> Iterator[tuple]:
    """Run `load` for the next batches in a background thread while the model trains on the
    current one (NumPy copies out of the memory-mapped cache release the GIL)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def worker() -> None:
        try:
            for ids in batches:
                if stop.is_set():
                    return
                q.put(load(ids))
        except BaseException as e:  # surfaced in the consumer
            q.put(e)
        q.put(done)

    th = threading.Thread(target=worker, daemon=True)
    th.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while th.is_alive():  # drain so the worker can finish
            try:
                q.get_nowait()
            except queue.Empty:
                th.join(0.01)


def load_images(images: np.ndarray, ids: np.ndarray) -> torch.Tensor:
    """(B,) slice ids -> (B, 1, S, S) float32 tensor, read from the memory-mapped cache in
    ascending order (sequential reads) and put back in the requested order."""
    order = np.argsort(ids, kind="stable")
    out = np.empty((len(ids),) + images.shape[1:], np.float32)
    out[order] = images[ids[order]]
    return torch.from_numpy(out)[:, None]


def plot_curves(path: Path, series: dict[str, tuple[list[float], list[float]]], title: str, ylabel: str) -> None:
    try:
        import matplotlib
    except ImportError:  # plots are optional; the JSON-lines logs hold the same numbers
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    for name, (x, y) in series.items():
        ax.plot(x, y, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
