"""The gradient probe against closed forms, and its summary fit."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import bench
from bench.batching import Batch
from bench.model import SequenceModel
from bench.probes import gradient_profile, summarize
from bench.task import Task

# parametrised over, or listing, the registered plugins: `make test-with-plugin` runs them again
# with a third-party plugin installed
pytestmark = pytest.mark.registry


class LinearRecurrence(nn.Module):
    """h_t = a * h_{t-1} + x_t, read at each length: |dL/dh_t| = |c| * |a|^(T-1-t)."""

    def __init__(self, a: float, with_unrolled: bool = True) -> None:
        super().__init__()
        self.a = a
        self.output_size = 1
        if not with_unrolled:
            self.unrolled = None  # what the probe sees of a plugin without unrolled()

    def forward(self, x, lengths):
        return self.steps(x, lengths)[0]

    def unrolled(self, x, lengths):
        return self.steps(x, lengths)

    def steps(self, x, lengths):
        h = x.new_zeros(x.shape[0], 1)
        states = []
        for t in range(x.shape[1]):
            h = self.a * h + x[:, t, :1]
            states.append(h)
        sequence = torch.stack(states, 1)
        return sequence[torch.arange(len(x)), lengths - 1], states


class IdentityLoss(Task):
    name = "identity"
    description = "The loss is the output itself."
    kind = "regression"

    def prepare(self, options, seed):  # not used here
        raise NotImplementedError

    def loss(self, output, target):
        return output.squeeze(-1)


def model(encoder: nn.Module, c: float = 3.0) -> SequenceModel:
    head = nn.Linear(1, 1, bias=False)
    head.weight.data.fill_(c)
    return SequenceModel(nn.Identity(), encoder, head)


def batch(lengths, steps) -> Batch:
    lengths = torch.tensor(lengths)
    return Batch(torch.randn(len(lengths), steps, 1), lengths, torch.zeros(len(lengths)))


def test_hidden_state_gradient_matches_the_closed_form():
    a, c = 0.5, 3.0
    profiles = gradient_profile(model(LinearRecurrence(a), c), IdentityLoss(), batch([60, 60], 60))
    expected = c * a ** np.arange(60)
    np.testing.assert_allclose(profiles["forward"], expected, rtol=1e-12)
    # float64: a^59 ~ 1.7e-18 is resolved, not flushed to zero


def test_variable_lengths_are_aligned_by_distance_from_each_end():
    a, c = 0.8, 2.0
    profiles = gradient_profile(model(LinearRecurrence(a), c), IdentityLoss(), batch([3, 7, 5], 7))
    np.testing.assert_allclose(profiles["forward"], c * a ** np.arange(7), rtol=1e-12)


def test_input_gradient_fallback_without_unrolled():
    profiles = gradient_profile(model(LinearRecurrence(0.5, with_unrolled=False)), IdentityLoss(), batch([8], 8))
    assert set(profiles) == {"input"}
    np.testing.assert_allclose(profiles["input"], 3.0 * 0.5 ** np.arange(8), rtol=1e-12)


def test_tiny_gradients_survive_where_float32_would_underflow():
    profiles = gradient_profile(model(LinearRecurrence(0.5)), IdentityLoss(), batch([200], 200))
    assert profiles["forward"][-1] > 0  # 3 * 0.5**199 ~ 4e-60: zero in float32
    assert np.float32(profiles["forward"][-1]) == 0


@pytest.mark.parametrize("name", bench.list_architectures())
def test_unrolled_and_fused_paths_give_the_same_input_gradients(name):
    torch.manual_seed(0)
    encoder = bench.get_architecture(name).build(4, 6).double().eval()
    if not callable(getattr(encoder, "unrolled", None)):
        pytest.skip(f"{name} has no unrolled()")
    head = nn.Linear(encoder.output_size, 1).double()
    torch.manual_seed(1)
    x = Batch(torch.randn(3, 9, 4, dtype=torch.float64, requires_grad=True), torch.tensor([9, 4, 6]), torch.zeros(3))
    probe = gradient_profile(SequenceModel(nn.Identity(), encoder, head), IdentityLoss(), x)
    (grad,) = torch.autograd.grad(head(encoder(x.inputs, x.lengths)).sum(), [x.inputs])  # fused kernel
    norms = grad.norm(dim=-1)
    expected = [np.mean([norms[b, n - 1 - d].item() for b, n in enumerate([9, 4, 6]) if n > d]) for d in range(9)]
    np.testing.assert_allclose(probe["input"], expected, rtol=1e-6)
    assert ("backward" in probe) == (getattr(encoder, "directions", 1) == 2)


def test_half_life_fit_recovers_a_known_rate():
    summary = summarize([2.0 ** (-d / 5) for d in range(40)])
    assert summary["half_life"] == pytest.approx(5.0)
    assert summary["decay_per_step"] == pytest.approx(math.log10(2) / 5)
    assert summary["first_to_last"] == pytest.approx(2.0 ** (-39 / 5))


def test_a_profile_that_does_not_decay_has_infinite_half_life():
    assert summarize([1.0] * 20)["half_life"] == math.inf
    assert summarize([1.0 + 0.01 * d for d in range(20)])["half_life"] == math.inf


def test_a_profile_of_zeros_has_no_fit():
    assert math.isnan(summarize([0.0] * 10)["half_life"])
