"""Speed of every registered architecture (a plugin is benchmarked for free).

    make bench

Forward, and forward + backward + optimizer step, on an IMDB-shaped batch (64 x 256,
embedding 128, hidden 256) and a probe-shaped batch (32 x 100, input 16, hidden 64), with
lengths spread like bucketed real data, in float32 and under bfloat16 autocast (the
runner's precision=bf16). pytest-benchmark's ops is calls per second; the
tokens per call and tokens/s are in extra_info. RNNBENCH_BENCH_SMOKE=1 shrinks the shapes
(the default test run uses it to check that the benchmarks still run).
"""

from __future__ import annotations

import os

import pytest
import torch

import bench
from bench.environment import resolve_device
from bench.meter import synchronize
from bench.runner import precision_context

SMOKE = os.environ.get("RNNBENCH_BENCH_SMOKE") == "1"
SHAPES = {
    "imdb": {"batch": 64, "length": 256, "input": 128, "hidden": 256},
    "probe": {"batch": 32, "length": 100, "input": 16, "hidden": 64},
}
if SMOKE:
    SHAPES = {name: {"batch": 4, "length": 8, "input": 4, "hidden": 8} for name in SHAPES}
DEVICE = resolve_device(os.environ.get("RNNBENCH_BENCH_DEVICE", "auto"))


def setup(name: str, shape: dict[str, int]):
    torch.manual_seed(0)
    encoder = bench.get_architecture(name).build(shape["input"], shape["hidden"]).to(DEVICE)
    head = torch.nn.Linear(encoder.output_size, 2).to(DEVICE)
    x = torch.randn(shape["batch"], shape["length"], shape["input"], device=DEVICE)
    # a bucketed batch: lengths within the top 5% of the padded length
    low = max(1, int(0.95 * shape["length"]))
    lengths = torch.randint(low, shape["length"] + 1, (shape["batch"],), device=DEVICE)
    lengths[0] = shape["length"]
    target = torch.randint(0, 2, (shape["batch"],), device=DEVICE)
    return encoder, head, x, lengths, target


def record(benchmark, shape: dict[str, int], lengths: torch.Tensor) -> None:
    tokens = int(lengths.sum())
    benchmark.extra_info.update(shape)
    benchmark.extra_info["tokens_per_call"] = tokens
    benchmark.extra_info["device"] = str(DEVICE)
    benchmark.extra_info["threads"] = torch.get_num_threads()
    if benchmark.stats is not None:  # None when benchmarks are disabled (smoke run)
        benchmark.extra_info["tokens_per_s"] = tokens / benchmark.stats.stats.median


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("shape_name", list(SHAPES))
@pytest.mark.parametrize("name", bench.list_architectures())
def test_forward(benchmark, name, shape_name, precision):
    shape = SHAPES[shape_name]
    encoder, _, x, lengths, _ = setup(name, shape)
    encoder.eval()

    def forward():
        with torch.no_grad(), precision_context(DEVICE, precision):
            encoder(x, lengths)
        synchronize(DEVICE)

    benchmark.group = f"forward-{shape_name}-{precision}"
    benchmark.pedantic(forward, rounds=5 if not SMOKE else 1, warmup_rounds=1 if not SMOKE else 0)
    record(benchmark, shape, lengths)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("shape_name", list(SHAPES))
@pytest.mark.parametrize("name", bench.list_architectures())
def test_train_step(benchmark, name, shape_name, precision):
    shape = SHAPES[shape_name]
    encoder, head, x, lengths, target = setup(name, shape)
    parameters = [*encoder.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=1e-3)

    def step():
        with precision_context(DEVICE, precision):
            logits = head(encoder(x, lengths))
        loss = torch.nn.functional.cross_entropy(logits.float(), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        synchronize(DEVICE)

    benchmark.group = f"train-step-{shape_name}-{precision}"
    benchmark.pedantic(step, rounds=5 if not SMOKE else 1, warmup_rounds=1 if not SMOKE else 0)
    record(benchmark, shape, lengths)
