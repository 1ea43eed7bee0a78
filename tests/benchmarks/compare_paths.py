"""Side-by-side comparisons on IMDB-shaped batches, in one process, repetitions alternating
between the variants so that machine noise hits all of them alike. Prints medians and
ratios and writes them as CSV.

    python -m tests.benchmarks.compare_paths [--reps 7] [--out results/compare_paths.csv]

1. the runner's training step vs. a minimal hand-written PyTorch step of the same model
   and batch (ratio hand / runner: 1.0 means the harness costs nothing);
2. the exact-final-state encoder vs. pack_padded_sequence and vs. an unmasked fused pass
   that reads padding (forward + backward, LSTM and bidirectional LSTM);
3. achieved training FLOP/s of the LSTM (matrix products counted) vs. the matrix-multiply
   peak measured in the same run;
4. a sequence-to-one LSTM forward + backward with float32 denormals flushed to zero (what
   `import bench` sets) vs. kept, on one thread (the setting is per thread, so only the
   main thread can switch it back and forth).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

import bench  # also flushes denormals before torch starts its threads, as in every rnnbench run
from bench.batching import Batch
from bench.config import Cell, RunConfig
from bench.environment import cpu_count, environment, resolve_device
from bench.meter import synchronize
from bench.model import SequenceModel
from bench.runner import Trainer
from bench.task import SequenceSet, Task, TaskData

BATCH, LENGTH, EMBED, HIDDEN, VOCAB = 64, 256, 128, 256, 25_000


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


def harness_overhead(device: torch.device, reps: int) -> dict[str, float]:
    task = Shaped()
    data = task.prepare({}, 0)
    torch.manual_seed(0)
    arch = bench.get_architecture("lstm")
    model = SequenceModel(nn.Embedding(VOCAB, EMBED, padding_idx=1), arch.build(EMBED, HIDDEN), nn.Linear(HIDDEN, 2))
    model = model.to(device)
    cell = Cell("lstm", task.name, 0, RunConfig(batch_size=BATCH, lr=1e-3, clip=1.0, probe_points=0))
    trainer = Trainer(model, task, data, cell, device, progress=False)
    on_device = Batch(data.train.inputs, data.train.lengths, data.train.targets).to(device)

    # the same computation written by hand: embedding, fused LSTM, gather, linear, Adam, clip
    torch.manual_seed(0)
    embedding = nn.Embedding(VOCAB, EMBED, padding_idx=1).to(device)
    lstm = nn.LSTM(EMBED, HIDDEN, batch_first=True).to(device)
    head = nn.Linear(HIDDEN, 2).to(device)
    parameters = [*embedding.parameters(), *lstm.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=1e-3, weight_decay=0.0)
    rows = torch.arange(BATCH, device=device)

    def by_hand() -> None:
        out, _ = lstm(embedding(on_device.inputs))
        loss = nn.functional.cross_entropy(head(out[rows, on_device.lengths - 1]), on_device.targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()

    return alternate(
        {"runner step": lambda: trainer._train_step(on_device), "hand-written step": by_hand}, reps, device
    )


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


def lstm_training_flops(tokens: int) -> float:
    """Matrix products of an LSTM training step: per token, the input and recurrent
    projections (2 * 4H * (E + H) multiply-adds each way); backward costs twice forward."""
    return 3 * tokens * 2 * 4 * HIDDEN * (EMBED + HIDDEN)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="results/compare_paths.csv")
    args = parser.parse_args()
    device = resolve_device(args.device)
    rows: list[dict[str, object]] = []

    steps = harness_overhead(device, args.reps)
    ratio = steps["hand-written step"] / steps["runner step"]
    rows.append(
        {
            "comparison": "runner step vs hand-written (LSTM)",
            "median_s_a": steps["runner step"],
            "median_s_b": steps["hand-written step"],
            "ratio": ratio,
            "target": ">= 0.97 (b/a)",
        }
    )
    for bidirectional in (False, True):
        name = "bilstm" if bidirectional else "lstm"
        paths = final_state_paths(device, args.reps, bidirectional)
        exact = paths["exact final state"]
        rows.append(
            {
                "comparison": f"{name}: exact vs pack_padded_sequence (fwd+bwd)",
                "median_s_a": exact,
                "median_s_b": paths["pack_padded_sequence"],
                "ratio": paths["pack_padded_sequence"] / exact,
                "target": ">= 10 (b/a, CPU)",
            }
        )
        rows.append(
            {
                "comparison": f"{name}: exact vs unmasked fused (fwd+bwd)",
                "median_s_a": exact,
                "median_s_b": paths["unmasked fused"],
                "ratio": paths["unmasked fused"] / exact,
                "target": ">= 0.9 (b/a)",
            }
        )
    peak = matmul_rate(device, args.reps, 2048, 2048, 2048)
    tokens = BATCH * LENGTH  # the fused kernel computes every padded step too
    achieved = lstm_training_flops(tokens) / steps["hand-written step"]
    rows.append(
        {
            "comparison": "LSTM training FLOP/s vs 2048^2 matmul peak",
            "median_s_a": achieved / 1e9,
            "median_s_b": peak / 1e9,
            "ratio": achieved / peak,
            "target": ">= 0.70 (a/b, GFLOP/s)",
        }
    )
    # The recurrence multiplies [B, H] by [H, 4H] once per step, one step after another: the
    # rate such small products reach is the ceiling of the recurrent half of the work.
    step_gemm = matmul_rate(device, args.reps, BATCH, HIDDEN, 4 * HIDDEN, calls=LENGTH)
    rows.append(
        {
            "comparison": "recurrent-step GEMM (64x256 @ 256x1024) vs peak",
            "median_s_a": step_gemm / 1e9,
            "median_s_b": peak / 1e9,
            "ratio": step_gemm / peak,
            "target": "roofline of the recurrence",
        }
    )

    if device.type == "cpu":
        flush = denormals(device, max(3, args.reps // 2))
        rows.append(
            {
                "comparison": "LSTM seq-to-one fwd+bwd: denormals flushed vs kept (1 thread)",
                "median_s_a": flush["flushed"],
                "median_s_b": flush["kept"],
                "ratio": flush["kept"] / flush["flushed"],
                "target": "speed-up (b/a)",
            }
        )

    env = environment(device, torch.get_num_threads())
    print(f"device: {env['device_name']}, threads {env['threads']} of {cpu_count()} cores, torch {env['torch']}")
    print(f"{'comparison':<48} {'a':>10} {'b':>10} {'ratio':>7}  target")
    for row in rows:
        print(
            f"{row['comparison']:<48} {row['median_s_a']:>10.4g} {row['median_s_b']:>10.4g} {row['ratio']:>7.3f}  "
            f"{row['target']}"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
