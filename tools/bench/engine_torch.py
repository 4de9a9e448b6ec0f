"""PyTorch side of `tasksr bench engine`: times the same training steps as the tasksr engine, in this process.

Usage: python3 engine_torch.py <config> <steps> <warmup> <threads>
  config: edsr   EDSR-baseline x4 (16 blocks x 64, MeanShift, batch 4 of 48x48 LR, L1, Adam lr 1e-4)
          resnet18  torchvision resnet18 (batch 16 of 224x224, cross-entropy, SGD lr 0.1 momentum 0.9)
          mobilenetv3  torchvision mobilenet_v3_large(width_mult=0.5, reduced_tail=True).features (batch 8 of
                    128x128, mean of the output as the loss, SGD lr 0.01 momentum 0.9)
          swinir SwinIR-M x4 (fixtures/swinir_ref.py: 180 x 6x6 blocks, window 8, stochastic depth 0.1; batch 4 of
                    48x48 LR, L1, Adam lr 2e-4)
Prints one JSON line: {"config", "s_per_step" (median), "steps", "peak_rss_mb", "torch": version}.
Run by tasksr under the same allocator (tcmalloc) and thread count as the tasksr side.
"""
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from edsr_ref import Edsr  # noqa: E402
from swinir_ref import SwinIR  # noqa: E402


def main():
    config, steps, warmup, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if config == "edsr":
        net = Edsr(scale=4, blocks=16, f=64)
        opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-4)
        x = torch.rand(4, 3, 48, 48)
        y = torch.rand(4, 3, 192, 192)
        loss_fn = F.l1_loss
    elif config == "swinir":
        net = SwinIR(upscale=4)
        opt = torch.optim.Adam(net.parameters(), lr=2e-4)
        x = torch.rand(4, 3, 48, 48)
        y = torch.rand(4, 3, 192, 192)
        loss_fn = F.l1_loss
    elif config == "resnet18":
        import torchvision

        net = torchvision.models.resnet18()
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        x = torch.rand(16, 3, 224, 224)
        y = torch.randint(0, 1000, (16,))
        loss_fn = F.cross_entropy
    elif config == "mobilenetv3":
        import torchvision

        net = torchvision.models.mobilenet_v3_large(width_mult=0.5, reduced_tail=True).features
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        x = torch.rand(8, 3, 128, 128)
        y = None
        loss_fn = lambda out, _: out.mean()
    else:
        raise SystemExit(f"unknown config {config}")
    net.train()
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        loss.item()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"config": config, "s_per_step": statistics.median(times), "steps": steps, "peak_rss_mb": rss, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
