"""Machine calibration: throughput of one 3×3 256-channel convolution at 120×216 (fp32 / bf16, 2 threads).

The issue's reference figures (about 500 GFLOPS fp32 and 1,050 bf16) were taken with this convolution; running it
beside another benchmark tells how fast this machine is at the moment. The last row is the same bf16 convolution
by Winograd F(2×2, 3×3) (`xmem_core.model.winograd`), its GFLOPS counted as the direct convolution's work.

    python benchmarks/bench_conv.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from xmem_core.inference.allocator import keep_freed_memory  # noqa: E402
from xmem_core.model import winograd  # noqa: E402


def bench(fn, n: int = 5) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


def main() -> None:
    torch.set_num_threads(2)
    keep_freed_memory()  # as the engine runs
    conv = torch.nn.Conv2d(256, 256, 3, padding=1).eval()
    x = torch.randn(1, 256, 120, 216)
    flops = 2 * 256 * 256 * 9 * 120 * 216
    x_cl = x.contiguous(memory_format=torch.channels_last)
    conv_cl = conv.to(memory_format=torch.channels_last)
    conv_bf = torch.nn.Conv2d(256, 256, 3, padding=1).eval().to(torch.bfloat16).to(memory_format=torch.channels_last)
    x_bf = x_cl.to(torch.bfloat16)
    u = winograd.transform_weight(conv_bf.weight.detach())
    with torch.inference_mode():
        for name, fn in [("fp32", lambda: conv(x)), ("fp32 channels-last", lambda: conv_cl(x_cl)),
                         ("bf16 channels-last", lambda: conv_bf(x_bf)),
                         ("bf16 Winograd", lambda: winograd.conv3x3(x_bf, u, conv_bf.bias))]:
            t = bench(fn)
            print(f"{name:20s} {t * 1000:7.1f} ms  {flops / t / 1e9:6.0f} GFLOPS")


if __name__ == "__main__":
    main()
