"""The modern recurrences and what they need from the host: the parallel scan, states wider
than the output, parameter groups, and every registered architecture through a tiny run."""

from __future__ import annotations

import types

import pytest
import torch

import bench
from bench import Architecture, hookimpl
from bench.architecture import unroll
from bench.block import build_encoder
from bench.checks import recurrent_path, unrolled_agreement
from bench.cli import main
from bench.model import build_model
from bench.planner import expand
from bench.runner import Trainer, optimiser_groups
from bench.scan import chunked_scan, fused_scan, linear_scan, sequential_scan
from bench.store import Store
from tests.helpers import TINY

INPUT = 5
# The tests over every registered architecture are marked `registry`: `make test-with-plugin`
# runs them again with a third-party plugin installed.


@pytest.mark.parametrize("scan", [fused_scan, chunked_scan], ids=["fused (CPU)", "chunked (accelerator)"])
@pytest.mark.parametrize("kind", ["real", "complex"])
@pytest.mark.parametrize("steps", [1, 63, 64, 65, 300])
def test_the_scan_equals_the_loop_forward_and_backward(kind, steps, scan):
    generator = torch.Generator().manual_seed(steps)
    modulus = 1 - torch.rand(3, steps, 4, generator=generator, dtype=torch.float64) ** 3 * 0.2  # up to 1 - 1e-10
    modulus[..., 0] = 0.9999999  # |lambda| next to 1: memory that lasts thousands of steps
    if kind == "complex":
        a = torch.polar(modulus, 6.3 * torch.rand(3, steps, 4, generator=generator, dtype=torch.float64))
        b = torch.randn(3, steps, 4, generator=generator, dtype=torch.complex128)
    else:
        a, b = modulus, torch.randn(3, steps, 4, generator=generator, dtype=torch.float64)
    h0 = torch.randn_like(b[:, 0])
    inputs = [a.requires_grad_(), b.requires_grad_(), h0.requires_grad_()]
    fast, slow = scan(*inputs), sequential_scan(*inputs)
    assert (fast - slow).abs().max() < 1e-10
    weights = torch.randn_like(fast.real)
    grads = [torch.autograd.grad((out.abs() * weights).sum(), inputs) for out in (fast, slow)]
    for fast_grad, slow_grad in zip(*grads, strict=True):
        assert (fast_grad - slow_grad).abs().max() < 1e-10


@pytest.mark.parametrize("scan", [linear_scan, fused_scan, chunked_scan])
def test_the_scan_takes_a_time_invariant_decay_and_its_gradient(scan):
    a = torch.rand(1, 1, 6, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, 40, 6, dtype=torch.float64, requires_grad=True)
    fast, slow = scan(a, b), sequential_scan(a, b)
    assert torch.allclose(fast, slow, atol=1e-12)
    grads = [torch.autograd.grad(out.sum(), (a, b)) for out in (fast, slow)]
    for fast_grad, slow_grad in zip(*grads, strict=True):
        assert fast_grad.shape == slow_grad.shape and torch.allclose(fast_grad, slow_grad, atol=1e-10)


@pytest.mark.registry
@pytest.mark.parametrize("name", bench.list_architectures())
def test_unrolled_agrees_with_forward_in_float64(name):
    torch.manual_seed(0)
    encoder = bench.get_architecture(name).build(INPUT, 6).double().eval()
    x, lengths = torch.randn(3, 11, INPUT, dtype=torch.float64), torch.tensor([11, 4, 7])
    unrolled = unroll(encoder, x, lengths)
    assert torch.allclose(unrolled.final, encoder(x, lengths), atol=1e-10)
    if unrolled.outputs is not None:
        real = torch.arange(11)[None, :] < lengths[:, None]
        assert torch.allclose(unrolled.outputs[real], encoder.sequence(x, lengths)[real], atol=1e-10)


class WideState(torch.nn.Module):
    """A GRU-like recurrence whose state carries a second, slower copy: twice the output's width."""

    def __init__(self, input_size, hidden_size, cut_at: int | None = None):
        super().__init__()
        self.cell = torch.nn.GRUCell(input_size, hidden_size)
        self.mix = torch.nn.Linear(2 * hidden_size, hidden_size)
        self.output_size, self.state_size, self.cut_at = hidden_size, 2 * hidden_size, cut_at

    def forward(self, x, lengths):
        return self.unrolled(x, lengths)[0]

    def sequence(self, x, lengths):
        return self.unrolled(x, lengths)[2]

    def unrolled(self, x, lengths):
        hidden = self.output_size
        state = x.new_zeros(len(x), 2 * hidden)
        states, outputs = [], []
        for t in range(x.shape[1]):
            previous = state.detach() if t == self.cut_at else state  # a broken plugin: one step not on the path
            fast = self.cell(x[:, t], previous[:, :hidden])
            state = torch.cat([fast, 0.9 * previous[:, hidden:] + 0.1 * fast], -1)
            states.append(state)
            outputs.append(torch.tanh(self.mix(state)))
        outputs = torch.stack(outputs, 1)
        return outputs[torch.arange(len(x)), lengths - 1], states, outputs


def test_the_checker_passes_a_state_wider_than_the_output_and_fails_one_that_leaves_the_path():
    wide = Architecture("wide", "State twice as wide as its output.", WideState, {"cut_at": None})
    assert unrolled_agreement(wide, {}).passed and recurrent_path(wide, {}).passed
    cut = Architecture("cut", "A detached step.", WideState, {"cut_at": 4})
    result = recurrent_path(cut, {})
    assert result.passed is False and "state 4 does not read state 3" in result.detail


def test_a_plugin_whose_state_is_wider_than_its_output_gets_a_gradient_profile_on_copy(tmp_path, register_plugin):
    arch = Architecture("wide", "State twice as wide as its output.", WideState, {"cut_at": None})
    register_plugin(types.SimpleNamespace(rnnbench_register_architectures=hookimpl(lambda: [arch])), "wide-plugin")
    out = tmp_path / "out"
    settings = [*[s for s in TINY if not s.startswith("T=")], "T=4", "probe_points=1"]
    assert main(["run", "--arch", "wide", "--task", "copy", "--seeds", "0", "--out", str(out), "--no-progress",
                 "--set", *settings]) == 0  # fmt: skip
    (record,) = Store(out).records()
    assert record.status == "ok" and not record.probe_errors
    profile = record.probe("gradients")[0]["norms"]["forward"]
    assert len(profile) >= 10 and all(value > 0 for value in profile)  # back from the first answer, over the gap


def test_declared_parameter_groups_reach_the_optimiser():
    (cell,) = expand(["lru"], ["adding"], [0], {"T": 6, "lr": 0.004, "weight_decay": 0.01, "train_size": 8,
                                                  "valid_size": 8, "test_size": 8})  # fmt: skip
    task, arch = bench.get_task("adding"), bench.get_architecture("lru")
    data = task.prepare(dict(cell.task_options), 0)
    model = build_model(task, arch, data, cell)
    trainer = Trainer(model, task, data, cell, torch.device("cpu"), progress=False)
    groups = trainer.optimizer.param_groups
    recurrence = {id(p) for layer in model.encoder.layers for p in (layer.nu_log, layer.theta_log, layer.gamma_log)}
    (declared,) = [g for g in groups if {id(p) for p in g["params"]} == recurrence]
    assert declared["lr"] == pytest.approx(0.002) and declared["weight_decay"] == 0.0  # as the paper trains them
    rest = [g for g in groups if g is not declared]
    assert rest[0]["lr"] == 0.004 and rest[0]["weight_decay"] == 0.01
    counted = sum(p.numel() for g in groups for p in g["params"])
    assert counted == sum(p.numel() for p in model.parameters())  # every parameter, once
    assert optimiser_groups(model, cell.run)[0]["lr"] == 0.004


@pytest.mark.registry
def test_every_architecture_runs_a_sequence_to_one_task(tmp_path):
    names = bench.list_architectures()
    args = ["run", "--arch", *names, "--task", "adding", "--seeds", "0", "--out", str(tmp_path), "--no-progress"]
    assert main([*args, "--set", *TINY, "probe_points=1"]) == 0
    frame = bench.load_results(tmp_path)
    assert (frame["status"] == "ok").all() and sorted(frame["arch"]) == sorted(names)


def test_lru_and_s4d_record_their_eigenvalues(tmp_path):
    args = ["run", "--arch", "lru", "s4d", "--task", "adding", "--seeds", "0", "--out", str(tmp_path), "--no-progress"]
    assert main([*args, "--set", *TINY, "probe_points=1"]) == 0
    for record in Store(tmp_path).records():
        entries = record.probe("eigenvalues")
        assert [e["step"] for e in entries] == [0, record.steps]
        assert all(0 <= m <= 1 for m in entries[0]["modulus"])  # stable at initialisation, as initialised
    assert (tmp_path / "figures" / "eigenvalues_adding.png").exists()


@pytest.mark.registry
@pytest.mark.parametrize("name", bench.list_architectures())
def test_every_architecture_runs_inside_the_residual_block(name):
    torch.manual_seed(0)
    arch = bench.get_architecture(name)
    encoder = build_encoder(arch, INPUT, 6, arch.defaults, "residual", 2).double().eval()
    x, lengths = torch.randn(3, 9, INPUT, dtype=torch.float64), torch.tensor([9, 4, 6])
    unrolled = unroll(encoder, x, lengths)
    assert torch.allclose(unrolled.final, encoder(x, lengths), atol=1e-10)
    assert encoder.state_size == 2 * arch.build(encoder.output_size, 6).state_size  # two blocks' states
    # Every state is on the path to the output (autograd raises for one that is not); a ReLU
    # unit may still pass no gradient, so nonzero is asked of the states together.
    grads = torch.autograd.grad(unrolled.final.sum(), unrolled.states)
    assert sum(g.abs().sum() for g in grads) > 0


def test_a_run_in_the_residual_block_reports_which_form_it_used(tmp_path):
    args = ["run", "--arch", "gru", "mingru", "--task", "copy", "--seeds", "0", "--out", str(tmp_path), "--no-progress"]
    settings = [*[s for s in TINY if not s.startswith("T=")], "T=4", "probe_points=1", "block=residual", "blocks=2"]
    assert main([*args, "--set", *settings]) == 0
    frame = bench.load_results(tmp_path)
    assert (frame["status"] == "ok").all() and set(frame["run.block"]) == {"residual"}
    plain = expand(["gru"], ["adding"], [0], {})[0]
    wrapped = expand(["gru"], ["adding"], [0], {"block": "residual"})[0]
    assert plain.id != wrapped.id and "block" not in plain.identity()["run"]  # stored bare cells keep their ids


TINY_SUITE = """
name = "standing-test"
architectures = ["gru"]
tasks = ["adding"]
seeds = 2
match = "params=600"
[set]
max_steps = 4
eval_every = 2
train_size = 64
valid_size = 32
test_size = 32
threads = 1
T = 6
"""


def test_standing_runs_only_the_new_architecture_beside_the_committed_references(tmp_path, monkeypatch, capsys):
    suite = tmp_path / "suite.toml"
    suite.write_text(TINY_SUITE)
    published = tmp_path / "published"
    assert (
        main(["sweep", str(suite), "--out", str(published / "standing-test"), "--no-progress"]) == 0
    )  # the references
    monkeypatch.setattr("bench.standing.PUBLISHED", published)
    capsys.readouterr()
    out = tmp_path / "mine"
    assert main(["standing", "rnn", "--suite", str(suite), "--out", str(out), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "2 reference record(s) of standing-test copied" in captured.err and "2 ok" in captured.err  # rnn's only
    assert "Where rnn stands" in captured.out and "of 2" in captured.out
    frame = bench.load_results(out)
    assert sorted(frame["arch"]) == ["gru", "gru", "rnn", "rnn"]
    assert frame.groupby("arch")["encoder_params"].first().between(500, 700).all()  # matched as the suite says
