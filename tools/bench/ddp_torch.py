"""PyTorch side of `tasksr bench ddp`: data-parallel training throughput of EDSR over W CPU processes.

tasksr's `tasksr bench ddp` runs this script next to its own data-parallel trainer and compares the two. Here the
same model, tasksr's `edsr-tiny` (4 residual blocks x 32 features, res_scale 1, DIV2K mean shift in [0, 255],
x2 sub-pixel steps, no residual over bicubic), trains under torch.nn.parallel.DistributedDataParallel with the gloo
backend, one process per rank on 127.0.0.1. Every rank trains on its own fixed random batch (LR [B, 3, S, S],
HR [B, 3, S*scale, S*scale], both in [0, 1]) with L1 loss and AdamW lr 5e-4; K warmup steps are not timed, then N
steps are timed between two barriers. What is measured is the wall time of those N steps on the slowest rank, so
the gradient all-reduce and its overlap with backward are part of it, not the data pipeline.

Usage: python3 ddp_torch.py --world W --batch B --lr-size S --scale 4 --steps N --warmup K [--threads 1] [--port P]
Prints one JSON line: {"world", "batch" (per process), "steps", "seconds" (max over ranks), "images_per_s"
(W*B*N/seconds), "torch": version}. Errors go to stderr with a non-zero exit.
"""
import argparse
import json
import os
import socket
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from edsr_ref import Edsr  # noqa: E402

# tasksr's edsr-tiny (src/models/sr/edsr.ts): `new Edsr({ ...o, numBlocks: 4, numFeatures: 32 })`, with the Edsr
# defaults resScale 1, imgRange 255 and DIV2K_MEAN, which edsr_ref.Edsr hard-codes.
TINY_BLOCKS = 4
TINY_FEATURES = 32


def parse_args():
    p = argparse.ArgumentParser(description="DDP (gloo) training throughput of edsr-tiny on CPU.")
    p.add_argument("--world", type=int, required=True, help="number of processes (ranks)")
    p.add_argument("--batch", type=int, required=True, help="images per process per step")
    p.add_argument("--lr-size", type=int, required=True, help="side of the square LR input")
    # edsr_ref builds its upsampler from x2 pixel shuffles only, so x3 (which edsr-tiny also accepts) is left out.
    p.add_argument("--scale", type=int, choices=(2, 4, 8), required=True)
    p.add_argument("--steps", type=int, required=True, help="timed steps")
    p.add_argument("--warmup", type=int, required=True, help="untimed steps before timing")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads per process")
    p.add_argument("--port", type=int, help="rendezvous port on 127.0.0.1 (default: a free one)")
    a = p.parse_args()
    for name in ("world", "batch", "lr_size", "steps", "threads"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if a.warmup < 0:
        p.error("--warmup must be at least 0")
    return a


def free_port():
    # The OS hands out an unused port; it is released again before rank 0 binds it, a race that only matters if
    # something else grabs the port in between, which a benchmark on an idle machine can live with.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(rank, a, port, results):
    torch.set_num_threads(a.threads)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=a.world)
    try:
        # Same seed on every rank; DDP would broadcast rank 0's weights anyway, this just keeps ranks identical.
        torch.manual_seed(0)
        net = Edsr(scale=a.scale, blocks=TINY_BLOCKS, f=TINY_FEATURES)
        ddp = DistributedDataParallel(net)  # defaults: bucket_cap_mb 25, broadcast_buffers True
        # The mean shifts are frozen, as in tasksr, so only the trainable parameters go to the optimizer.
        opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=5e-4)
        # A generator of its own gives each rank different data without touching the global seed.
        g = torch.Generator().manual_seed(rank)
        hr_size = a.lr_size * a.scale
        x = torch.rand(a.batch, 3, a.lr_size, a.lr_size, generator=g)
        y = torch.rand(a.batch, 3, hr_size, hr_size, generator=g)

        def step():
            opt.zero_grad()
            # backward() returns only once DDP's all-reduce of the gradients is done, so the step is complete here.
            F.l1_loss(ddp(x), y).backward()
            opt.step()

        for _ in range(a.warmup):
            step()
        # Ranks start the clock together and stop it once all of them are done, so `seconds` covers the slowest.
        dist.barrier()
        t0 = time.perf_counter()
        for _ in range(a.steps):
            step()
        dist.barrier()
        results.put(time.perf_counter() - t0)
    finally:
        dist.destroy_process_group()


def main():
    a = parse_args()
    # Workers are fresh interpreters (spawn) that inherit this environment, so OpenMP and MKL size their pools from
    # these when torch loads there, before torch.set_num_threads runs: W processes then use W x threads cores.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    port = a.port if a.port is not None else free_port()
    ctx = mp.get_context("spawn")
    results = ctx.SimpleQueue()
    try:
        mp.spawn(worker, args=(a, port, results), nprocs=a.world, join=True)
    except Exception as e:  # a worker's traceback arrives here as ProcessRaisedException / ProcessExitedException
        print(f"ddp_torch: {e}", file=sys.stderr)
        sys.exit(1)
    seconds = max(results.get() for _ in range(a.world))
    print(json.dumps({
        "world": a.world,
        "batch": a.batch,
        "steps": a.steps,
        "seconds": seconds,
        "images_per_s": a.world * a.batch * a.steps / seconds,
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
