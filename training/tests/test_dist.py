"""Training under torchrun: two gloo processes on the CPU give what one process gives."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from polycl import dist as D

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("n,world", [(5, 2), (4, 2), (1, 2), (7, 3)])
def test_shards_cover_the_batch_once(n: int, world: int) -> None:
    seen = []
    sizes = set()
    for rank in range(world):
        pos, real = D.shard(n, D.DistInfo(rank, world))
        sizes.add(len(pos))
        seen += list(pos[:real])
        assert set(pos) <= set(range(max(n, 1)))
    assert sorted(seen) == list(range(n)) and len(sizes) == 1


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _states(out: Path) -> dict[str, dict[str, torch.Tensor]]:
    return {
        "polycl-o": torch.load(out / "polycl-o" / "encoder.pt")["encoder"],
        "simclr": torch.load(out / "simclr" / "encoder.pt")["encoder"],
        "finetune": torch.load(out / "finetune" / "last.pt")["state_dict"],
        "polycl-o+s": torch.load(out / "polycl-o+s" / "encoder.pt")["encoder"],
        "finetune-softmax": torch.load(out / "finetune-softmax" / "last.pt")["state_dict"],
    }


def test_two_gloo_processes_match_one(msd_a: Path, tmp_path: Path) -> None:
    sys.path.insert(0, str(HERE))
    import ddp_worker

    one, two = tmp_path / "one", tmp_path / "two"
    ddp_worker.main(str(msd_a), str(tmp_path / "cache"), str(one))
    # The environment torchrun gives its workers (torchrun itself, in Debian's PyTorch 1.13 on
    # Python 3.11, fails to parse its own default --redirects; README shows the work-around).
    port = _free_port()
    procs = []
    for rank in range(2):
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE.parent), "RANK": str(rank), "LOCAL_RANK": str(rank),
               "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
        procs.append(subprocess.Popen([sys.executable, str(HERE / "ddp_worker.py"), str(msd_a), str(tmp_path / "cache"), str(two)],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    for p in procs:
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0, out
    a, b = _states(one), _states(two)
    for run in a:
        for k, v in a[run].items():
            # A convolution's bias right before InstanceNorm cancels out: its gradient is zero
            # up to rounding, which Adam scales up to lr-sized steps that differ between runs
            # and change nothing (the outputs are compared below).
            if v.dtype.is_floating_point and not re.search(r"net\.[03]\.bias$", k):
                torch.testing.assert_close(b[run][k], v, rtol=1e-4, atol=1e-5, msg=f"{run} {k}")
    from polycl.finetune import load_unet

    x = torch.rand(3, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ya, yb = load_unet(one / "finetune" / "last.pt")[0](x), load_unet(two / "finetune" / "last.pt")[0](x)
    torch.testing.assert_close(yb, ya, rtol=1e-4, atol=1e-4)
    la = [l for l in (one / "finetune" / "finetune.jsonl").read_text().splitlines() if '"epoch"' in l and "loss" in l]
    lb = [l for l in (two / "finetune" / "finetune.jsonl").read_text().splitlines() if '"epoch"' in l and "loss" in l]
    import json

    ea = [json.loads(l) for l in la if json.loads(l).get("event") == "epoch"]
    eb = [json.loads(l) for l in lb if json.loads(l).get("event") == "epoch"]
    assert len(ea) == len(eb) == 2
    for x, y in zip(ea, eb):
        assert np.isclose(x["loss"], y["loss"], rtol=1e-4) and np.allclose(x["val_dice"], y["val_dice"], atol=1e-6)
    assert json.loads((two / "finetune" / "finetune.jsonl").read_text().splitlines()[0])["world"] == 2


def test_process_group_left_at_exit() -> None:
    """A rank that joined the group leaves it at exit, while the interpreter is whole: a gloo
    group left for the interpreter's teardown aborts the process (SIGABRT) after its work."""
    code = ("import atexit, torch.distributed as d\n"
            "from polycl import dist as D\n"
            "D.init('cpu')\n"
            "print(d.is_initialized())\n"
            "atexit._run_exitfuncs()\n"
            "print(d.is_initialized())\n")
    port = _free_port()
    procs = []
    for rank in range(2):
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE.parent), "RANK": str(rank), "LOCAL_RANK": str(rank),
               "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
        procs.append(subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0, out
        assert out.split() == ["True", "False"], out
