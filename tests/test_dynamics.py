"""The probes of a recurrence's internals: gate activations (checked against a hand-unrolled
LSTM cell) and the Jacobian spectrum (checked on a linear recurrence, where the answer is
known in closed form, and against the measured gradient profile)."""

from __future__ import annotations

import math
import types

import pytest
import torch

import bench
from bench import Architecture, hookimpl
from bench.batching import Batch
from bench.cli import main
from bench.gates import gate_profile
from bench.jacobian import jacobian_spectrum, step_jacobians
from bench.model import SequenceModel, build_model
from bench.planner import expand
from bench.probes import gradient_profile
from bench.store import Store
from bench.trajectory import state_trajectory
from tests.test_memory_tasks import FinalOnly  # a fused GRU read at each length: no unrolled()


def test_lstm_gates_are_the_forward_pass_own_activations():
    torch.manual_seed(0)
    encoder = bench.get_architecture("lstm").build(3, 4).eval()
    lstm = encoder.layers[0][0]
    x, lengths = torch.randn(2, 5, 3), torch.tensor([5, 5])
    gates = encoder.gates(x, lengths)
    h, c = torch.zeros(2, 4), torch.zeros(2, 4)
    for t in range(5):  # torch's LSTM equations, by hand
        i, f, g, o = (
            x[:, t] @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + h @ lstm.weight_hh_l0.T + lstm.bias_hh_l0
        ).chunk(4, -1)
        i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
        for name, value in (("input", i), ("forget", f), ("output", o)):
            torch.testing.assert_close(gates[name][:, t], value)
        c = f * c + i * torch.tanh(g)
        h = o * torch.tanh(c)
    torch.testing.assert_close(encoder(x, lengths), h)  # the same computation as the forward pass
    assert all(((v >= 0) & (v <= 1)).all() for v in gates.values())


def test_the_gate_profile_averages_real_steps_only():
    (cell,) = expand(["gru"], ["adding"], [0], {"T": 6, "train_size": 8, "valid_size": 8, "test_size": 8})
    task = bench.get_task("adding")
    data = task.prepare(dict(cell.task_options), 0)
    model = build_model(task, bench.get_architecture("gru"), data, cell)
    lengths = torch.tensor([6, 3])
    inputs = data.valid.inputs[:2].clone()
    profile = gate_profile(model, Batch(inputs, lengths, data.valid.targets[:2]))
    assert set(profile) == {"reset", "update"} and len(profile["update"]["mean"]) == 6
    gates = model.encoder.gates(model.adapter(inputs), lengths)
    torch.testing.assert_close(
        torch.tensor(profile["update"]["mean"][4], dtype=torch.float64), gates["update"][0, 4].double().mean()
    )  # step 4: only the first sequence is still running
    assert all(0 <= m <= 1 for m in profile["reset"]["mean"])


class LinearRecurrence(torch.nn.Module):
    """h_t = W h_{t-1} + U x_t with W = scale x an orthogonal matrix: every step's Jacobian is W,
    whose singular values all equal ``scale``."""

    def __init__(self, input_size: int, hidden_size: int, scale: float = 0.8) -> None:
        super().__init__()
        self.input = torch.nn.Linear(input_size, hidden_size, bias=False)
        orthogonal = torch.linalg.qr(torch.randn(hidden_size, hidden_size, generator=torch.Generator().manual_seed(1)))[
            0
        ]
        self.recurrent = torch.nn.Parameter(scale * orthogonal)
        self.output_size = hidden_size

    def forward(self, x, lengths):
        return self.unrolled(x, lengths)[0]

    def unrolled(self, x, lengths):
        h, states = x.new_zeros(len(x), self.output_size), []
        for projected in self.input(x).unbind(1):
            h = h @ self.recurrent.T + projected
            states.append(h)
        return torch.stack(states, 1)[torch.arange(len(x)), lengths - 1], states


def test_on_a_linear_recurrence_the_spectrum_and_the_gradient_match_the_closed_form():
    scale, steps = 0.8, 12
    torch.manual_seed(0)
    encoder = LinearRecurrence(4, 6, scale)
    model = SequenceModel(torch.nn.Linear(2, 4), encoder, torch.nn.Linear(6, 1))
    batch = Batch(torch.randn(5, steps, 2), torch.tensor([12, 12, 9, 7, 12]), torch.randn(5))
    spectrum = jacobian_spectrum(model, batch)
    assert math.isnan(spectrum["sigma_max"][0])  # no step at distance 0
    for k in range(1, 7):
        assert spectrum["sigma_max"][k] == pytest.approx(scale, rel=1e-5)
        assert spectrum["product"][k] == pytest.approx(scale**k, rel=1e-5)  # ‖W^k‖ = scale^k
    profile = gradient_profile(model, bench.get_task("adding"), batch)["forward"]
    for k in range(1, 7):  # dL/dh_{last-k} = dL/dh_last W^k, and W^k only scales an orthogonal map
        assert profile[k] / profile[0] == pytest.approx(scale**k, rel=1e-5)


def test_step_jacobians_of_a_tanh_rnn_are_its_closed_form_and_none_without_unrolled():
    torch.manual_seed(0)
    encoder = bench.get_architecture("rnn").build(2, 4).double()
    model = SequenceModel(torch.nn.Identity(), encoder, torch.nn.Linear(4, 1).double())
    batch = Batch(torch.randn(3, 5, 2, dtype=torch.float64), torch.tensor([5, 5, 5]), torch.zeros(3))
    jacobians = step_jacobians(model, batch)
    assert jacobians.shape == (3, 4, 4, 4)  # [B, T-1, W, W]
    h = torch.stack(encoder.unrolled(batch.inputs, batch.lengths)[1], 1).detach()
    w_hh = encoder.layers[0][0].weight_hh_l0.detach()
    torch.testing.assert_close(jacobians, (1 - h[:, 1:] ** 2)[..., None] * w_hh)  # diag(1 - h_t²) W_hh
    one_step = Batch(batch.inputs[:, :1], torch.tensor([1, 1, 1]), batch.targets)
    assert step_jacobians(model, one_step).shape == (3, 0, 4, 4)
    opaque = SequenceModel(torch.nn.Identity(), FinalOnly(2, 4), torch.nn.Linear(4, 1)).double()
    assert step_jacobians(opaque, batch) is None and jacobian_spectrum(opaque, batch) == {}


def lstm_step_by_hand(lstm: torch.nn.LSTM, x: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
    """One step of torch's LSTM equations on the joint state (h, c) -> (h', c')."""
    h, c = state.chunk(2, -1)
    i, f, g, o = (x @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + h @ lstm.weight_hh_l0.T + lstm.bias_hh_l0).chunk(4, -1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.cat([torch.sigmoid(o) * torch.tanh(c), c], -1)


def test_an_lstm_state_is_h_and_c_and_its_jacobian_is_the_full_state_one():
    torch.manual_seed(0)
    hidden, steps = 3, 6
    encoder = bench.get_architecture("lstm").build(2, hidden).double().eval()
    lstm = encoder.layers[0][0]
    model = SequenceModel(torch.nn.Identity(), encoder, torch.nn.Linear(hidden, 1).double())
    batch = Batch(torch.randn(2, steps, 2, dtype=torch.float64), torch.tensor([steps, steps]), torch.zeros(2))
    x, lengths = batch.inputs, batch.lengths
    final, states, outputs = encoder.unrolled(x, lengths)
    state = x.new_zeros(2, 2 * hidden)
    by_hand = []
    for t in range(steps):
        state = lstm_step_by_hand(lstm, x[:, t], state)
        by_hand.append(state)
        torch.testing.assert_close(states[t], state)  # [h, c], not h alone
    torch.testing.assert_close(outputs[:, -1], final)
    torch.testing.assert_close(final, by_hand[-1][:, :hidden])
    # ∂(h_t, c_t)/∂(h_{t-1}, c_{t-1}) by autograd on the hand-written cell, then its products
    jacobians = [
        [
            torch.autograd.functional.jacobian(
                lambda s, t=t, b=b: lstm_step_by_hand(lstm, x[b, t], s), by_hand[t - 1][b]
            )
            for t in range(1, steps)
        ]
        for b in range(2)
    ]
    spectrum = jacobian_spectrum(model, batch)
    for k in range(1, steps):
        sigma = [torch.linalg.matrix_norm(jacobians[b][steps - 1 - k], ord=2) for b in range(2)]
        assert spectrum["sigma_max"][k] == pytest.approx(float(sum(sigma) / 2), rel=1e-8)
        products = []
        for b in range(2):
            chain = torch.eye(2 * hidden, dtype=torch.float64)
            for j in range(1, k + 1):
                chain = chain @ jacobians[b][steps - 1 - j]
            products.append(torch.linalg.matrix_norm(chain, ord=2))
        assert spectrum["product"][k] == pytest.approx(math.sqrt(float(products[0] * products[1])), rel=1e-8)


def test_every_run_records_gates_and_optionally_jacobians(tmp_path, register_plugin):
    register_plugin(
        types.SimpleNamespace(
            rnnbench_register_architectures=hookimpl(
                lambda: [Architecture("linear", "Linear.", LinearRecurrence, {"scale": 0.8})]
            )
        ),
        "linear-plugin",
    )
    settings = ["threads=1", "max_steps=4", "eval_every=2", "T=6", "train_size=32", "valid_size=16", "test_size=16"]
    args = [
        "run",
        "--arch",
        "lstm",
        "linear",
        "--task",
        "adding",
        "--seeds",
        "0",
        "--out",
        str(tmp_path),
        "--no-progress",
    ]
    assert main([*args, "--set", *settings, "hidden_size=8", "jacobian_batch=4"]) == 0
    records = {r.arch: r for r in Store(tmp_path).records()}
    assert [g["step"] for g in records["lstm"].probe("gates")] == [0, 4] and records["linear"].probe("gates") == []
    assert set(records["lstm"].probe("gates")[-1]["gates"]) == {"input", "forget", "output"}
    assert [j["step"] for j in records["linear"].probe("jacobian")] == [0, 4]
    assert records["linear"].probe("jacobian")[0]["product"][1] == pytest.approx(0.8, rel=1e-6)
    figures = {p.name for p in (tmp_path / "figures").glob("*.png")}
    assert {"gates_adding.png", "jacobian_adding.png", "trajectory_adding.png"} <= figures
    assert [t["step"] for t in records["lstm"].probe("trajectory")] == [0, 4]


def test_state_trajectories_project_each_real_step_on_two_components():
    (cell,) = expand(["bilstm"], ["adding"], [0], {"T": 7, "train_size": 8, "valid_size": 8, "test_size": 8})
    task = bench.get_task("adding")
    data = task.prepare(dict(cell.task_options), 0)
    model = build_model(task, bench.get_architecture("bilstm"), data, cell)
    lengths = torch.tensor([7, 3, 5])
    trajectory = state_trajectory(model, Batch(data.valid.inputs[:3], lengths, data.valid.targets[:3]))
    assert [len(points) for points in trajectory["points"]] == [7, 3, 5]  # real steps only
    assert all(len(point) == 2 for points in trajectory["points"] for point in points)
    first, second = trajectory["explained"]
    assert 0 <= second <= first <= 1 and first + second <= 1 + 1e-9
    # the projection is centred: the points' mean is the origin
    points = torch.tensor([p for points in trajectory["points"] for p in points], dtype=torch.float64)
    torch.testing.assert_close(points.mean(0), torch.zeros(2, dtype=torch.float64), atol=1e-9, rtol=0)
