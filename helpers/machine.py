"""What machine a number was measured on: the processor or GPU, and its matmul rates."""
from __future__ import annotations

import ctypes
import platform
import time

import torch


def keep_freed_memory() -> bool:
    """Have glibc's malloc keep freed blocks for reuse rather than hand them back to the kernel.

    A training step allocates and frees the same large buffers every step (activations,
    gradients, bf16 copies of the weights). By default glibc maps blocks of a few MB and more
    afresh and unmaps them when freed, so every step faults its memory in again page by page:
    on a 2-core AMD EPYC that cost 7-8% of a 240-unit population step and 18-31% of a 1600-unit
    one. The price is memory held back, up to 1 GiB of freed blocks per process: the report's
    notebooks peaked 0.3-0.9 GB higher than before, at most 2.7 GB. Returns whether both
    settings took (False where the C library is not glibc)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        mmap_threshold, trim_threshold = -3, -1  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD in malloc.h
        return bool(libc.mallopt(mmap_threshold, 256 << 20)) & bool(libc.mallopt(trim_threshold, 1 << 30))
    except (OSError, AttributeError):
        return False


def cpu_name() -> str:
    """The processor's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    """'NVIDIA H200' or 'Intel(R) Xeon(R) Processor (2 threads)'."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_name()} ({torch.get_num_threads()} threads)"


def matmul_gflops(n: int = 4096, dtype: torch.dtype = torch.float32, repeat: int = 5) -> float:
    """The CPU's square-matmul rate in GFLOP/s (best of three rounds): the ceiling every
    training step is measured against."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(repeat):
            a @ b
        best = min(best, (time.perf_counter() - t) / repeat)
    return 2 * n ** 3 / best / 1e9
