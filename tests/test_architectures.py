"""The encoder contract, for every registered architecture (plugins get it for free), using
the same checks as `rnnbench check`; then what is specific to the built-in encoders."""

from __future__ import annotations

import pytest
import torch

import bench
from bench import Architecture
from bench.architecture import unroll
from bench.checks import CHECKS, HIDDEN, INPUT, run_checks
from bench.cli import main

# parametrised over, or listing, the registered plugins: `make test-with-plugin` runs them again
# with a third-party plugin installed
pytestmark = pytest.mark.registry


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", bench.list_architectures())
def test_contract(name, check):
    result = check(bench.get_architecture(name), {})
    if result.passed is None:
        pytest.skip(result.detail)
    assert result.passed, f"{result.detail}. Fix: {result.fix}"


class LastPadded(torch.nn.Module):
    """Reads the last *padded* step: the classic bug."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.rnn = torch.nn.GRU(input_size, hidden_size, batch_first=True)
        self.output_size = hidden_size

    def forward(self, x, lengths):
        return self.rnn(x)[0][:, -1]


class WrongShape(LastPadded):
    def forward(self, x, lengths):
        return self.rnn(x)[0]


class Detached(LastPadded):
    def forward(self, x, lengths):
        out = self.rnn(torch.cat([x[:, :2].detach(), x[:, 2:]], 1))[0]  # cuts the first steps off
        return out[torch.arange(len(x)), lengths - 1]


class Exploding(LastPadded):
    def forward(self, x, lengths):
        return (x.abs() + 2).cumprod(1)[torch.arange(len(x)), lengths - 1, :1].expand(-1, self.output_size)


@pytest.mark.parametrize(
    ("encoder", "check", "fix"),
    [
        (LastPadded, "padding invariance", "own last real step"),
        (WrongShape, "output shape", "one float32 vector"),
        (Detached, "gradient reaches step 0", "every input step"),
        (Exploding, "finite on T=1000", "bound the state"),
    ],
)
def test_checks_catch_broken_encoders_and_say_how_to_fix(encoder, check, fix):
    results = {r.check: r for r in run_checks(Architecture("broken", "Broken.", encoder))}
    assert results[check].passed is False
    assert fix in results[check].fix


def test_check_command_reports_failures_with_fixes(register_plugin, capsys):
    import types

    from bench import hookimpl

    plugin = types.SimpleNamespace(
        rnnbench_register_architectures=hookimpl(lambda: [Architecture("leaky", "Reads padding.", LastPadded)])
    )
    register_plugin(plugin, "leaky-plugin")
    assert main(["check", "leaky"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  padding invariance" in out and "fix: read each sequence's state" in out
    assert main(["check", "gru"]) == 0


def build(name: str, **options) -> torch.nn.Module:
    torch.manual_seed(0)
    return bench.get_architecture(name).build(INPUT, HIDDEN, **options).eval()


@pytest.mark.parametrize("name", ["rnn", "gru", "lstm", "bilstm"])
def test_stacked_layers_keep_the_contract(name):
    encoder = build(name, num_layers=2)
    x = torch.randn(2, 7, INPUT)
    x[1, 3:] = 100.0
    lengths = torch.tensor([7, 3])
    alone = encoder(x[1:2, :3], lengths[1:2])
    torch.testing.assert_close(encoder(x, lengths)[1:2], alone, atol=1e-5, rtol=0)
    final = unroll(encoder, x, lengths).final
    torch.testing.assert_close(final, encoder(x, lengths), atol=1e-5, rtol=0)


def test_bilstm_backward_direction_sees_the_whole_sequence():
    encoder = build("bilstm")
    x = torch.randn(1, 6, INPUT, requires_grad=True)
    final = encoder(x, torch.tensor([6]))
    (grad,) = torch.autograd.grad(final[0, HIDDEN:].sum(), [x])
    # the backward half ends at token 0 after reading all of them: every token matters
    assert (grad[0].abs().sum(-1) > 0).all()


def test_forget_bias_sets_the_forget_gate():
    encoder = build("lstm", forget_bias=1.0)
    module = encoder.layers[0][0]
    total = module.bias_ih_l0 + module.bias_hh_l0
    assert torch.allclose(total[HIDDEN : 2 * HIDDEN], torch.ones(HIDDEN))


def test_unknown_option_is_named_with_a_suggestion():
    with pytest.raises(bench.ConfigError, match="num_layer.*Did you mean 'num_layers'"):
        bench.get_architecture("gru").build(INPUT, HIDDEN, num_layer=2)


class IndRNN(torch.nn.Module):
    """Li et al. 2018, h_t = relu(W x_t + u ⊙ h_{t-1} + b), written from docs/plugins.md: a
    correct model whose gradient at step 0 is zero for some random inputs at small widths (a
    ReLU unit inactive at some step cuts its own chain)."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.input = torch.nn.Linear(input_size, hidden_size)
        self.u = torch.nn.Parameter(torch.rand(hidden_size))
        self.output_size = hidden_size

    def forward(self, x, lengths):
        h, states = x.new_zeros(len(x), self.output_size), []
        for projected in self.input(x).unbind(1):
            h = torch.relu(projected + self.u * h)
            states.append(h)
        return torch.stack(states, 1)[torch.arange(len(x)), lengths - 1]


def test_a_relu_recurrence_with_data_dependent_zero_gradients_passes_every_check():
    # at the checks' default width a single draw fails often (the IndRNN trial: 45% of draws)
    torch.manual_seed(0)
    x, lengths = torch.randn(3, 12, INPUT, requires_grad=True), torch.tensor([12, 5, 8])
    zero_draws = 0
    for _ in range(40):
        x.grad = None
        IndRNN(INPUT, HIDDEN)(x, lengths).sum().backward()
        zero_draws += bool((x.grad[:, 0].abs().sum(-1) == 0).any())
    assert zero_draws > 0, "the case this test exists for: some draws see no gradient at step 0"
    for result in run_checks(Architecture("indrnn", "IndRNN.", IndRNN)):
        assert result.passed is not False, f"{result.check}: {result.detail}"


class NotANumber(LastPadded):
    def forward(self, x, lengths):
        return super().forward(x, lengths) * float("nan")


def test_an_encoder_returning_nan_fails_on_finiteness_not_on_padding():
    results = {r.check: r for r in run_checks(Architecture("nan", "Returns NaN.", NotANumber))}
    assert results["output shape"].passed is True
    assert results["finite output"].passed is False and "division, log or sqrt" in results["finite output"].fix
    assert results["padding invariance"].passed is None  # not blamed on padding
