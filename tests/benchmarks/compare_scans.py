"""The scans side by side, in one process, alternating repetitions (medians): forward and
backward of h_t = a_t * h_{t-1} + b_t by `linear_scan` as it runs on this device (on a CPU:
the fused scan), by the chunked log-depth scan, and by the plain autograd loop, at the
issue's shape (T = 1024, batch 32, width 64, real and complex) and at a Mamba layer's
(batch 32, T = 64, 64 channels x 16 states).

    make compare-scans     (target: linear_scan at least 5x faster than the loop)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import torch

from bench.environment import resolve_device
from bench.scan import chunked_scan, linear_scan, sequential_scan
from tests.benchmarks.compare_paths import alternate, report, row

SHAPES = {"T=1024, batch 32, width 64": (32, 1024, 64), "Mamba layer: 32 x 64 steps x 64 x 16": (32, 64, 64, 16)}
SCANS = {"scan": linear_scan, "chunked": chunked_scan, "loop": sequential_scan}


def step(scan: Callable[..., torch.Tensor], a: torch.Tensor, b: torch.Tensor) -> Callable[[], None]:
    def run() -> None:
        scan(a, b).abs().sum().backward()

    return run


def inputs(shape: tuple[int, ...], complex_: bool, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    modulus = 0.9 + 0.1 * torch.rand(*shape, generator=generator)
    if complex_:
        a = torch.polar(modulus, 6.28 * torch.rand(*shape, generator=generator))
        b = torch.randn(*shape, generator=generator, dtype=torch.complex64)
    else:
        a, b = modulus, torch.randn(*shape, generator=generator)
    return a.to(device).requires_grad_(), b.to(device).requires_grad_()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="results/compare_scans.csv")
    args = parser.parse_args()
    device = resolve_device(args.device)
    rows = []
    for label, shape in SHAPES.items():
        for complex_ in (False, True):
            a, b = inputs(shape, complex_, device)
            times = alternate({name: step(scan, a, b) for name, scan in SCANS.items()}, args.reps, device)
            kind = "complex" if complex_ else "real"
            rows.append(
                row(
                    f"{label}, {kind}: scan vs loop",
                    times["scan"],
                    times["loop"],
                    times["loop"] / times["scan"],
                    ">= 5 (b/a)",
                )
            )
            rows.append(
                row(
                    f"{label}, {kind}: scan vs chunked",
                    times["scan"],
                    times["chunked"],
                    times["chunked"] / times["scan"],
                    "speed-up (b/a)",
                )
            )
    report(rows, Path(args.out), device)


if __name__ == "__main__":
    main()
