"""PyTorch side of `tasksr bench dispatch`: the same small ops as src/bench/dispatch.ts, eager, without autograd.

Usage: python3 dispatch_torch.py <iters> <repeats>
Prints one JSON line {"ops": {name: microseconds per op}, "torch": version}; the first repeat warms up, the value is
the median of the others. Run by tasksr with one thread and the same allocator as the tasksr side.
"""
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def main():
    iters, repeats = int(sys.argv[1]), int(sys.argv[2])
    torch.set_num_threads(1)
    one = (torch.rand(1), torch.rand(1))
    a, b = torch.rand(64), torch.rand(64)
    idx = torch.randint(0, 64, (8,))
    x, w, bias = torch.rand(1, 16, 8, 8), torch.rand(16, 16, 1, 1), torch.rand(16)
    fns = {
        "add": lambda: one[0] + one[1],
        "mul": lambda: a * 2,
        "relu": lambda: F.relu(a),
        "view": lambda: a.view(8, 8),
        "narrow": lambda: a[4:36],
        "index": lambda: a[idx],
        "conv1x1": lambda: F.conv2d(x, w, bias),
        "cat": lambda: torch.cat([a, b]),
    }
    out = {}
    with torch.no_grad():
        for name, fn in fns.items():
            times = []
            for r in range(repeats + 1):
                t0 = time.perf_counter_ns()
                for _ in range(iters):
                    fn()
                if r > 0:
                    times.append((time.perf_counter_ns() - t0) / 1000 / iters)
            out[name] = statistics.median(times)
    print(json.dumps({"ops": out, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
