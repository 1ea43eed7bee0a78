"""The scans against the step-by-step autograd loop (`bench.linear_scan`): forward and
backward of h_t = a_t * h_{t-1} + b_t at T = 1024, batch 32, width 64, real and complex.
"scan" is `linear_scan` as it runs here (on a CPU the fused scan), "chunked" the log-depth
scan an accelerator runs.

    make bench       (target: the scan at least 5x faster than the loop on 2 CPU cores)

The ratio is in each scan row's extra_info once both have run: read it side by side, in one
run, as the project's speed numbers are."""

from __future__ import annotations

import os

import pytest
import torch

from bench.scan import chunked_scan, linear_scan, sequential_scan

SMOKE = os.environ.get("RNNBENCH_BENCH_SMOKE") == "1"
SHAPE = (2, 16, 4) if SMOKE else (32, 1024, 64)  # batch, T, width
MEDIANS: dict[tuple[str, str], float] = {}


def inputs(kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    modulus = 0.9 + 0.1 * torch.rand(*SHAPE, generator=generator)
    if kind == "complex":
        a = torch.polar(modulus, 6.28 * torch.rand(*SHAPE, generator=generator))
        b = torch.randn(*SHAPE, generator=generator, dtype=torch.complex64)
    else:
        a, b = modulus, torch.randn(*SHAPE, generator=generator)
    return a.requires_grad_(), b.requires_grad_()


SCANS = {"loop": sequential_scan, "chunked": chunked_scan, "scan": linear_scan}


@pytest.mark.parametrize("method", list(SCANS))  # the loop first: the others' rows report the ratio
@pytest.mark.parametrize("kind", ["real", "complex"])
def test_scan_forward_backward(benchmark, kind, method):
    a, b = inputs(kind)
    scan = SCANS[method]

    def step() -> None:
        scan(a, b).abs().sum().backward()

    benchmark.pedantic(step, rounds=1 if SMOKE else 3, warmup_rounds=0 if SMOKE else 1)
    benchmark.extra_info.update(batch=SHAPE[0], length=SHAPE[1], width=SHAPE[2], threads=torch.get_num_threads())
    if benchmark.stats is not None:
        MEDIANS[(kind, method)] = benchmark.stats.stats.median
        if method != "loop" and (kind, "loop") in MEDIANS:
            benchmark.extra_info["loop_over_scan"] = MEDIANS[(kind, "loop")] / MEDIANS[(kind, method)]
