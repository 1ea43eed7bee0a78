"""Which kernels torch's CPU LSTM runs, and how long each takes: the profile behind the
FLOP/s row of compare_paths.

    python -m tests.benchmarks.lstm_kernels [--reps 5]

On CPU, torch runs nn.LSTM through oneDNN. With ONEDNN_VERBOSE=1 oneDNN prints every
primitive it executes with its implementation (``brgemm:...`` = its JIT matrix kernels,
``ref`` = its reference implementation) and its time. Each mode runs in a child process
with that variable set (oneDNN reads it once); this parent parses the lines and prints,
per mode, the median wall time of a forward+backward on an IMDB-shaped batch and the
median time of each oneDNN primitive. One mode switches oneDNN off and times torch's own
CPU LSTM instead.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict

import torch

import bench  # noqa: F401 - flushes denormals, as in every rnnbench run
from bench.runner import precision_context
from tests.benchmarks.compare_paths import BATCH, EMBED, HIDDEN, LENGTH

MODES = {
    "fp32 inference": "forward only, no gradient",
    "fp32 training": "forward + backward",
    "bf16 training": "forward + backward under bfloat16 autocast",
    "fp32 training, oneDNN off": "forward + backward, torch.backends.mkldnn disabled",
}


def child(mode: str, reps: int) -> None:
    """Run one mode ``reps`` times after a warm-up; print the median wall time."""
    torch.backends.mkldnn.enabled = mode != "fp32 training, oneDNN off"
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(EMBED, HIDDEN, batch_first=True)
    x = torch.randn(BATCH, LENGTH, EMBED)

    def run() -> None:
        if mode == "fp32 inference":
            with torch.no_grad():
                lstm(x)
            return
        with precision_context(torch.device("cpu"), mode.split()[0]):
            final = lstm(x)[0][:, -1]
        final.float().sum().backward()

    run()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    print(f"wall_ms,{1e3 * statistics.median(times)}", flush=True)


def parse(output: str, reps: int) -> tuple[float, dict[tuple[str, str], float]]:
    """(median wall ms, {(rnn primitive, implementation): median ms}) from a child's output."""
    wall = float(next(line for line in output.splitlines() if line.startswith("wall_ms,")).split(",")[1])
    primitives = defaultdict(list)
    for line in output.splitlines():
        fields = line.split(",")
        # onednn_verbose,v1,primitive,exec,cpu,rnn,<implementation>,<prop_kind>,...,<ms>
        if line.startswith("onednn_verbose") and fields[3:6] == ["exec", "cpu", "rnn"]:
            primitives[(fields[7], fields[6])].append(float(fields[-1]))
    # the last `reps` calls of each primitive: the warm-up call is left out
    return wall, {key: statistics.median(values[-reps:]) for key, values in primitives.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--child", choices=list(MODES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.reps)
        return

    print(f"{'mode':<28} {'wall ms':>8}  oneDNN RNN primitives (implementation: median ms)")
    for mode, what in MODES.items():
        result = subprocess.run(
            [sys.executable, "-m", "tests.benchmarks.lstm_kernels", "--child", mode, "--reps", str(args.reps)],
            env={**os.environ, "ONEDNN_VERBOSE": "1"},
            capture_output=True,
            text=True,
            check=True,
        )
        wall, primitives = parse(result.stdout, args.reps)
        kernels = "; ".join(f"{prop} {impl}: {ms:.1f}" for (prop, impl), ms in primitives.items()) or "none"
        print(f"{mode:<28} {wall:>8.1f}  {kernels}   ({what})")


if __name__ == "__main__":
    main()
