"""Training on several processes (torchrun) with DistributedDataParallel.

Under torchrun (RANK, WORLD_SIZE and LOCAL_RANK in the environment) the process group starts
with NCCL on GPUs and gloo on the CPU. Every rank draws the same batches from the same seed;
each takes its share of a batch (positions rank, rank + W, ...), runs the network on it, and
the outputs are gathered back into the batch's order, so every loss (including Dice over the
batch and the in-batch contrastive losses, which do not split into per-sample terms) is the
one a single process computes. Gradients then equal the single process's up to the order of
floating-point sums: the gather's backward sums each output's gradient over the ranks (W times
the single-process gradient, as every rank computes the same loss) and DDP divides by W.
"""
from __future__ import annotations

import atexit
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist


@dataclass
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def init(device: str = "auto") -> DistInfo:
    """Join the process group torchrun describes (once per process); a single process otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        cuda = torch.cuda.is_available() and device in ("auto", "cuda")
        if cuda:
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group(backend="nccl" if cuda else "gloo")
        # A process leaving with its group alive lets gloo's worker threads be torn down with the
        # interpreter, which aborts it ("terminate called without an active exception", SIGABRT)
        # after the work is done: the group goes while the interpreter is still whole.
        atexit.register(close)
    return info


def close() -> None:
    """Leave the process group, if this process is in one."""
    if dist.is_initialized():
        dist.destroy_process_group()


def device_for(info: DistInfo, device: torch.device) -> torch.device:
    """One GPU per rank: cuda becomes cuda:LOCAL_RANK."""
    if info.enabled and device.type == "cuda":
        return torch.device("cuda", info.local_rank)
    return device


def shard(n: int, info: DistInfo) -> tuple[np.ndarray, int]:
    """Positions of a batch of n that this rank computes (rank, rank + W, ...), padded by
    repeating one of them to ceil(n / W) so that every rank gathers the same shape; and how
    many of them are real."""
    m = -(-n // info.world)
    pos = np.arange(info.rank, n, info.world)
    real = len(pos)
    pad = pos[-1] if real else 0
    return np.concatenate([pos, np.full(m - real, pad, dtype=np.int64)]).astype(np.int64), real


# The shard a forward pass computes, for BatchDropout: (positions of the rows computed here in
# the whole batch, the whole batch's size). Set by `sharded` around a forward pass.
_shard: tuple[torch.Tensor, int] | None = None


class sharded:
    """Context for a forward pass over rows `pos` (numpy positions) of a batch of n rows."""

    def __init__(self, pos: np.ndarray, n: int, info: DistInfo, device: torch.device):
        self.value = (torch.from_numpy(np.asarray(pos, np.int64)).to(device), n) if info.enabled else None

    def __enter__(self) -> None:
        global _shard
        self.prev, _shard = _shard, self.value

    def __exit__(self, *exc: object) -> None:
        global _shard
        _shard = self.prev


def rows(pos: np.ndarray, per: int) -> np.ndarray:
    """Positions of batch rows -> positions of their images when each row holds `per` images."""
    return (np.asarray(pos, np.int64)[:, None] * per + np.arange(per)).reshape(-1)


class BatchDropout(torch.nn.Dropout):
    """nn.Dropout whose mask is drawn for the whole batch, then cut to the rows this rank
    computes (see `sharded`): every rank then drops what a single process drops. It draws
    exactly as PyTorch's own dropout does on the CPU (one bernoulli_ over the input's shape),
    so a single process gives the same numbers as with nn.Dropout there."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        if _shard is None:
            noise = torch.empty_like(x).bernoulli_(1 - self.p)
        else:
            pos, n = _shard
            noise = torch.empty((n,) + tuple(x.shape[1:]), dtype=x.dtype, device=x.device).bernoulli_(1 - self.p)[pos]
        return x * noise.div_(1 - self.p)


class _Gather(torch.autograd.Function):
    """all_gather with a backward: every rank's gradient for its own part, summed over ranks."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> tuple[torch.Tensor, ...]:  # type: ignore[override]
        out = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(out, x.contiguous())
        return tuple(out)

    @staticmethod
    def backward(ctx, *grads: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        g = torch.stack(grads)
        dist.all_reduce(g)
        return g[dist.get_rank()]


def gather(local: torch.Tensor, n: int, info: DistInfo) -> torch.Tensor:
    """The batch of n in its original order from each rank's part (shard's positions)."""
    if not info.enabled:
        return local
    parts = _Gather.apply(local)
    m = local.shape[0]
    flat = torch.stack(parts, dim=1).reshape(m * info.world, *local.shape[1:])  # index j*W + r = position
    return flat[:n]


def all_sum(x: np.ndarray, info: DistInfo) -> np.ndarray:
    """Sum a small array over ranks."""
    if not info.enabled:
        return x
    t = torch.as_tensor(np.asarray(x, np.float64))
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return t.cpu().numpy()


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def wrap(net: torch.nn.Module, info: DistInfo, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel around net when there are several ranks."""
    if not info.enabled:
        return net
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(net, device_ids=ids)
