"""Throughput and memory: timed steps with warm-up excluded, CUDA synchronised."""

from __future__ import annotations

import resource
import statistics
import sys
import time

import torch


def synchronize(device: torch.device) -> None:
    """Wait for queued device work, so a host timer measures it (a no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class ThroughputMeter:
    """Accumulates (seconds, tokens, samples) per step; the first ``warmup`` steps are dropped."""

    def __init__(self, warmup: int = 0) -> None:
        self.warmup = warmup
        self.seen = 0
        self.times: list[float] = []
        self.tokens = 0
        self.samples = 0

    def add(self, seconds: float, tokens: int, samples: int) -> None:
        self.seen += 1
        if self.seen <= self.warmup:
            return
        self.times.append(seconds)
        self.tokens += tokens
        self.samples += samples

    def summary(self, prefix: str) -> dict[str, float | None]:
        total = sum(self.times)
        if not self.times or total <= 0:
            return {f"{prefix}_tokens_per_s": None, f"{prefix}_samples_per_s": None, f"{prefix}_step_median_ms": None}
        return {
            f"{prefix}_tokens_per_s": self.tokens / total,
            f"{prefix}_samples_per_s": self.samples / total,
            f"{prefix}_step_median_ms": 1000 * statistics.median(self.times),
        }


class Stopwatch:
    """``with Stopwatch(device) as watch: ...`` then ``watch.seconds``; syncs at both ends."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.seconds = 0.0

    def __enter__(self) -> Stopwatch:
        synchronize(self.device)
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        synchronize(self.device)
        self.seconds = time.perf_counter() - self._start


def peak_memory_mb(device: torch.device) -> float:
    """CUDA: max allocated by torch; CPU: peak resident set of this process."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes vs KiB
