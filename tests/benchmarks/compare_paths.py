"""Side-by-side comparisons on IMDB-shaped batches, in one process, repetitions alternating
between the variants so that machine noise hits all of them alike. Prints medians and
ratios and writes them as CSV.

    python -m tests.benchmarks.compare_paths [--reps 7] [--out results/compare_paths.csv] [--compile]

1. the runner's training step vs. a minimal hand-written PyTorch step of the same model
   and batch (ratio hand / runner: 1.0 means the harness costs nothing);
2. the exact-final-state encoder vs. pack_padded_sequence and vs. an unmasked fused pass
   that reads padding (forward + backward, LSTM and bidirectional LSTM);
3. achieved training FLOP/s of the LSTM (matrix products counted) vs. the matrix-multiply
   peak measured in the same run (the best of several products), then where the step's time goes: the fused kernel's
   training forward, its backward and everything else, each as a share of peak, beside the
   inference forward (same products, no saved activations) and the recurrence's small
   matrix product on its own; and the kernel's training forward against its own inference
   forward, a yardstick that does not depend on which product is fastest on the CPU;
4. the runner's step with precision=bf16 (bfloat16 autocast) vs. float32;
5. with --compile, torch.compile of the hand-written step vs. eager: once as it comes
   (dynamo leaves the LSTM to the fused kernel) and once with the LSTM traced step by step
   (``allow_rnn``; that compilation takes minutes);
6. a sequence-to-one LSTM forward + backward with float32 denormals flushed to zero (what
   `import bench` sets) vs. kept, on one thread (the setting is per thread, so only the
   main thread can switch it back and forth).
"""

from __future__ import annotations

import argparse
import csv
import functools
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch._dynamo
import torch.utils.mkldnn
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

import bench  # also flushes denormals before torch starts its threads, as in every rnnbench run
from bench.batching import Batch
from bench.cell import Cell
from bench.config import RunConfig
from bench.environment import cpu_count, environment, resolve_device
from bench.meter import synchronize
from bench.model import SequenceModel
from bench.runner import Trainer
from bench.task import SequenceSet, Task, TaskData

# RNNBENCH_BENCH_SMOKE=1: tiny shapes, so the default test run can check the script still runs
SMOKE = os.environ.get("RNNBENCH_BENCH_SMOKE") == "1"
BATCH, LENGTH, EMBED, HIDDEN, VOCAB = (4, 8, 4, 8, 50) if SMOKE else (64, 256, 128, 256, 25_000)
# Square matrix products whose best rate stands for the peak: torch's CPU product is not the
# fastest kernel on every vendor (an AMD EPYC ran the LSTM's own inference kernel at 1.5x a
# 2048² torch.mm), so the peak is the best of several sizes, through torch.mm and oneDNN.
PEAK_SIZES = (32, 64) if SMOKE else (1024, 2048, 4096)


class Shaped(Task):
    """Random reviews with IMDB's shape: the harness sees the same tensors as on real data."""

    name = "imdb-shaped"
    description = "Random token ids shaped like bucketed IMDB batches."

    def prepare(self, options, seed):
        generator = torch.Generator().manual_seed(seed)
        split = SequenceSet(
            torch.randint(2, VOCAB, (BATCH, LENGTH), generator=generator),
            torch.randint(int(0.95 * LENGTH), LENGTH + 1, (BATCH,), generator=generator),
            torch.randint(0, 2, (BATCH,), generator=generator),
        )
        return TaskData(split, split, split, num_outputs=2, vocab_size=VOCAB, pad_index=1)


def timed(fn: Callable[[], None], device: torch.device) -> float:
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def alternate(variants: dict[str, Callable[[], None]], reps: int, device: torch.device) -> dict[str, float]:
    for fn in variants.values():  # warm-up: allocations, kernel selection
        fn()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(reps):
        for name, fn in variants.items():
            times[name].append(timed(fn, device))
    return {name: statistics.median(values) for name, values in times.items()}


def imdb_shaped_batch(device: torch.device) -> tuple[Shaped, TaskData, Batch]:
    task = Shaped()
    data = task.prepare({}, 0)
    return task, data, Batch(data.train.inputs, data.train.lengths, data.train.targets).to(device)


def runner_steps(device: torch.device) -> dict[str, Callable[[], None]]:
    """The runner's LSTM training step on one IMDB-shaped batch, per precision."""
    task, data, batch = imdb_shaped_batch(device)
    steps = {}
    for precision in RunConfig.PRECISIONS:
        torch.manual_seed(0)
        encoder = bench.get_architecture("lstm").build(EMBED, HIDDEN)
        model = SequenceModel(nn.Embedding(VOCAB, EMBED, padding_idx=1), encoder, nn.Linear(HIDDEN, 2)).to(device)
        run = RunConfig(batch_size=BATCH, lr=1e-3, clip=1.0, probe_points=0, precision=precision)
        trainer = Trainer(model, task, data, Cell("lstm", task.name, 0, run), device, progress=False)
        steps[precision] = functools.partial(trainer._train_step, batch)
    return steps


class HandWritten:
    """The runner's float32 step written by hand on the same batch: embedding, fused LSTM,
    gather at each sequence's last token, linear, cross-entropy, clipping, AdamW."""

    def __init__(self, device: torch.device) -> None:
        _, _, self.batch = imdb_shaped_batch(device)
        torch.manual_seed(0)
        self.embedding = nn.Embedding(VOCAB, EMBED, padding_idx=1).to(device)
        self.lstm = nn.LSTM(EMBED, HIDDEN, batch_first=True).to(device)
        self.head = nn.Linear(HIDDEN, 2).to(device)
        self.parameters = [*self.embedding.parameters(), *self.lstm.parameters(), *self.head.parameters()]
        self.optimizer = torch.optim.AdamW(self.parameters, lr=1e-3, weight_decay=0.0)
        self.rows = torch.arange(BATCH, device=device)

    def loss(self) -> torch.Tensor:
        states, _ = self.lstm(self.embedding(self.batch.inputs))
        return nn.functional.cross_entropy(self.head(states[self.rows, self.batch.lengths - 1]), self.batch.targets)

    def step(self, loss: Callable[[], torch.Tensor] | None = None) -> Callable[[], None]:
        """A training step computing the loss with ``loss`` (default: ``self.loss``, eager)."""
        compute = loss or self.loss

        def run() -> None:
            value = compute()
            self.optimizer.zero_grad(set_to_none=True)
            value.backward()
            torch.nn.utils.clip_grad_norm_(self.parameters, 1.0)
            self.optimizer.step()

        return run


def compiled_steps(by_hand: HandWritten, device: torch.device, reps: int) -> list[dict[str, object]]:
    """torch.compile (inductor) of the hand-written forward + loss vs. eager."""
    rows = []
    eager = by_hand.step()
    for label, allow_rnn in (("LSTM left to the fused kernel", False), ("LSTM traced step by step", True)):
        torch._dynamo.reset()
        torch._dynamo.config.allow_rnn = allow_rnn
        compiled = by_hand.step(torch.compile(by_hand.loss))
        compile_seconds = timed(compiled, device)  # the first call compiles
        times = alternate({"eager": eager, "compiled": compiled}, reps, device)
        speedup = times["eager"] / times["compiled"]
        target = f"speed-up (b/a); compiling took {compile_seconds:.1f} s"
        rows.append(row(f"torch.compile ({label}) vs eager step", times["compiled"], times["eager"], speedup, target))
    torch._dynamo.config.allow_rnn = False
    return rows


def lstm_alone(device: torch.device, reps: int, step: Callable[[], None]) -> dict[str, float]:
    """The fused LSTM kernel on its own: inference forward, training forward (keeps what
    backward needs), and training forward + backward; timed alternately with the whole
    training ``step`` that contains it."""
    torch.manual_seed(0)
    lstm = nn.LSTM(EMBED, HIDDEN, batch_first=True).to(device)
    x = torch.randn(BATCH, LENGTH, EMBED, device=device)

    def inference() -> None:
        with torch.no_grad():
            lstm(x)

    def training_forward() -> None:
        lstm(x)

    def forward_backward() -> None:
        lstm(x)[0][:, -1].sum().backward()

    variants = {"inference": inference, "training forward": training_forward, "forward+backward": forward_backward}
    return alternate({**variants, "step": step}, reps, device)


def final_state_paths(device: torch.device, reps: int, bidirectional: bool) -> dict[str, float]:
    torch.manual_seed(0)
    x = torch.randn(BATCH, LENGTH, EMBED, device=device)
    lengths = torch.randint(int(0.95 * LENGTH), LENGTH + 1, (BATCH,))
    lengths[0] = LENGTH
    ours = bench.get_architecture("bilstm" if bidirectional else "lstm").build(EMBED, HIDDEN).to(device)
    fused = nn.LSTM(EMBED, HIDDEN, batch_first=True, bidirectional=bidirectional).to(device)
    lengths_device = lengths.to(device)

    def exact() -> None:
        ours(x, lengths_device).sum().backward()

    def packed() -> None:
        _, (h, _) = fused(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        h.sum().backward()

    def unmasked() -> None:  # reads padding: wrong for every sequence shorter than the batch
        out, _ = fused(x)
        final = torch.cat([out[:, -1, :HIDDEN], out[:, 0, HIDDEN:]], -1) if bidirectional else out[:, -1]
        final.sum().backward()

    return alternate(
        {"exact final state": exact, "pack_padded_sequence": packed, "unmasked fused": unmasked}, reps, device
    )


def denormals(device: torch.device, reps: int) -> dict[str, float]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    lstm = nn.LSTM(EMBED, HIDDEN, batch_first=True).to(device)
    x = torch.randn(BATCH, LENGTH, EMBED, device=device)

    def last_step_loss(flush: bool) -> Callable[[], None]:
        def run() -> None:
            torch.set_flush_denormal(flush)
            lstm(x)[0][:, -1].sum().backward()  # the gradient decays going back: denormals

        return run

    try:
        return alternate({"flushed": last_step_loss(True), "kept": last_step_loss(False)}, reps, device)
    finally:
        torch.set_flush_denormal(True)
        torch.set_num_threads(threads)


def matmul_rate(device: torch.device, reps: int, m: int, k: int, n: int, calls: int = 1) -> float:
    """FLOP/s of an [m, k] @ [k, n] product (``calls`` back to back per timing)."""
    a, b = torch.randn(m, k, device=device), torch.randn(k, n, device=device)

    def run() -> None:
        for _ in range(calls):
            torch.mm(a, b)

    return 2 * m * k * n * calls / alternate({"mm": run}, reps, device)["mm"]


def peak_rate(device: torch.device, reps: int) -> tuple[float, str]:
    """The best FLOP/s of several square float32 products (torch.mm, and oneDNN's linear on
    CPU builds that have it), and which one it was."""
    rates = {}
    for size in PEAK_SIZES:
        rates[f"torch.mm {size}²"] = matmul_rate(device, reps, size, size, size)
        if device.type == "cpu" and torch.backends.mkldnn.is_available():
            rates[f"oneDNN linear {size}²"] = onednn_rate(reps, size)
    best = max(rates, key=rates.get)
    return rates[best], best


def onednn_rate(reps: int, size: int) -> float:
    """FLOP/s of a [size, size] x [size, size] product through oneDNN's own matmul kernel."""
    linear = torch.utils.mkldnn.to_mkldnn(nn.Linear(size, size, bias=False))
    x = torch.randn(size, size).to_mkldnn()
    with torch.no_grad():
        seconds = alternate({"linear": lambda: linear(x)}, reps, torch.device("cpu"))["linear"]
    return 2 * size**3 / seconds


def lstm_forward_flops(tokens: int) -> float:
    """Matrix products of an LSTM forward pass: per token, the input and recurrent
    projections, 4H * (E + H) multiply-adds. Backward computes twice as many."""
    return tokens * 2 * 4 * HIDDEN * (EMBED + HIDDEN)


def row(comparison: str, a: float, b: float, ratio: float, target: str) -> dict[str, object]:
    return {"comparison": comparison, "a": a, "b": b, "ratio": ratio, "target": target}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="results/compare_paths.csv")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (takes minutes)")
    args = parser.parse_args()
    device = resolve_device(args.device)
    rows: list[dict[str, object]] = []

    runner_step = runner_steps(device)
    hand_written = HandWritten(device)
    times = alternate({"runner": runner_step["fp32"], "by hand": hand_written.step()}, args.reps, device)
    runner, by_hand = times["runner"], times["by hand"]
    rows.append(row("runner step vs hand-written (LSTM)", runner, by_hand, by_hand / runner, ">= 0.97 (b/a)"))
    for bidirectional in (False, True):
        name = "bilstm" if bidirectional else "lstm"
        paths = final_state_paths(device, args.reps, bidirectional)
        exact, packed, unmasked = (paths[k] for k in ("exact final state", "pack_padded_sequence", "unmasked fused"))
        rows.append(
            row(f"{name}: exact vs pack_padded_sequence (fwd+bwd)", exact, packed, packed / exact, ">= 10 (b/a, CPU)")
        )
        rows.append(
            row(f"{name}: exact vs unmasked fused (fwd+bwd)", exact, unmasked, unmasked / exact, ">= 0.9 (b/a)")
        )

    # Roofline: GFLOP/s of each part against the large matrix product's rate in this run. The
    # fused kernel computes every padded step, so all BATCH * LENGTH tokens count.
    peak, peak_kernel = peak_rate(device, args.reps)
    forward_flops = lstm_forward_flops(BATCH * LENGTH)
    achieved = 3 * forward_flops / by_hand
    rows.append(
        row(
            f"LSTM training FLOP/s vs matmul peak ({peak_kernel})",
            achieved / 1e9,
            peak / 1e9,
            achieved / peak,
            ">= 0.70 (a/b, GFLOP/s)",
        )
    )
    kernel = lstm_alone(device, args.reps, hand_written.step())
    backward = kernel["forward+backward"] - kernel["training forward"]
    rest = kernel["step"] - kernel["forward+backward"]
    for part, flops, seconds in (
        ("LSTM kernel, training forward", forward_flops, kernel["training forward"]),
        ("LSTM kernel, backward", 2 * forward_flops, backward),
        ("LSTM kernel, inference forward", forward_flops, kernel["inference"]),
    ):
        rate = flops / seconds
        rows.append(row(f"{part}: GFLOP/s vs peak", rate / 1e9, peak / 1e9, rate / peak, f"{1e3 * seconds:.0f} ms"))
    # the vendor-independent yardstick: the same kernel on the same shapes, without training
    rows.append(
        row(
            "LSTM kernel: training forward vs inference forward",
            kernel["training forward"],
            kernel["inference"],
            kernel["inference"] / kernel["training forward"],
            "rate ratio (b/a)",
        )
    )
    rows.append(
        row(
            "rest of the step (embedding, head, clip, AdamW)",
            rest,
            kernel["step"],
            rest / kernel["step"],
            "share (a/b)",
        )
    )
    # The recurrence multiplies [B, H] by [H, 4H] once per step, one step after another: the
    # rate such small products reach is the ceiling of the recurrent half of the work.
    step_gemm = matmul_rate(device, args.reps, BATCH, HIDDEN, 4 * HIDDEN, calls=LENGTH)
    rows.append(
        row(
            f"recurrent-step GEMM ({BATCH}x{HIDDEN} @ {HIDDEN}x{4 * HIDDEN}) vs peak",
            step_gemm / 1e9,
            peak / 1e9,
            step_gemm / peak,
            "roofline of the recurrence",
        )
    )

    times = alternate(runner_step, args.reps, device)
    rows.append(
        row(
            "runner step: precision=bf16 vs fp32 (LSTM)",
            times["bf16"],
            times["fp32"],
            times["fp32"] / times["bf16"],
            "speed-up (b/a)",
        )
    )
    if args.compile:
        rows.extend(compiled_steps(hand_written, device, args.reps))

    if device.type == "cpu":
        flush = denormals(device, max(3, args.reps // 2))
        rows.append(
            row(
                "LSTM seq-to-one fwd+bwd: denormals flushed vs kept (1 thread)",
                flush["flushed"],
                flush["kept"],
                flush["kept"] / flush["flushed"],
                "speed-up (b/a)",
            )
        )

    report(rows, Path(args.out), device)


def report(rows: list[dict[str, object]], out: Path, device: torch.device) -> None:
    """Print the comparisons with the machine they ran on, and write them to ``out`` (CSV)."""
    env = environment(device, torch.get_num_threads())
    print(f"device: {env['device_name']}, threads {env['threads']} of {cpu_count()} cores, torch {env['torch']}")
    print(f"{'comparison':<60} {'a':>10} {'b':>10} {'ratio':>7}  target")
    for line in rows:
        print(f"{line['comparison']:<60} {line['a']:>10.4g} {line['b']:>10.4g} {line['ratio']:>7.3f}  {line['target']}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
