"""The encoder contract as runnable checks: `rnnbench check` prints them, the test matrix
asserts them (tests/test_architectures.py), so the two never disagree.

Each check builds a small encoder, runs it, and returns a `CheckResult`; a failure says
what to fix.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import torch

from bench.architecture import Architecture, gates_method, output_violation, sequence_method, unrolled_method
from bench.budget import count_parameters, measure

INPUT, HIDDEN = 5, 8
TOLERANCE = 1e-5
# gradient_reaches_first_step: draws of weights and inputs, at a width where a ReLU
# recurrence rarely has a unit inactive at every step of a sequence
GRADIENT_DRAWS, GRADIENT_WIDTH = 8, 32


@dataclass
class CheckResult:
    passed: bool | None  # None: not applicable here (skipped)
    detail: str = ""
    fix: str = ""
    check: str = ""  # the check's title (set by `run_checks`)


Check = Callable[[Architecture], CheckResult]


def check(title: str) -> Callable[[Check], Check]:
    """Marks a function as the check called ``title``; its docstring's first paragraph says
    what it asks of an encoder (docs/plugins.md lists them from here: `checks_markdown`)."""

    def mark(function: Check) -> Check:
        function.title = title
        return function

    return mark


def _build(arch: Architecture) -> torch.nn.Module:
    torch.manual_seed(0)
    return arch.build(INPUT, HIDDEN).eval()


@check("output shape")
def output_shape(arch: Architecture) -> CheckResult:
    """`forward(x, lengths)` returns one float32 vector of `output_size` per sequence,
    `[B, output_size]`."""
    encoder = _build(arch)
    final = encoder(torch.randn(3, 7, INPUT), torch.tensor([7, 2, 5]))
    expected = (3, encoder.output_size)
    got = output_violation(final, expected, {torch.float32})
    if got is not None:
        return CheckResult(
            False,
            f"got {got}, expected {expected} float32",
            "forward(x, lengths) must return one float32 vector of size output_size per sequence",
        )
    return CheckResult(True, f"{expected}")


@check("finite output")
def finite_output(arch: Architecture) -> CheckResult:
    """The output is finite on a batch of standard normal inputs at initialisation."""
    encoder = _build(arch)
    final = encoder(torch.randn(3, 7, INPUT), torch.tensor([7, 2, 5]))
    if not torch.isfinite(final).all():
        return CheckResult(
            False,
            "NaN or inf on a 7-step batch of standard normal inputs, at initialisation",
            "look for a division, log or sqrt of a value that can be zero or negative, and for weights "
            "left uninitialised (torch.empty)",
        )
    return CheckResult(True)


@check("padding invariance")
def padding_invariance(arch: Architecture) -> CheckResult:
    """A sequence gives the same output alone and inside a batch of longer sequences
    whose padding is garbage (within 1e-5): the state is read at each sequence's own
    last step, and a backward direction reverses each sequence within its length."""
    encoder = _build(arch)
    short = torch.randn(1, 4, INPUT)
    alone = encoder(short, torch.tensor([4]))
    batch = torch.randn(3, 11, INPUT)
    batch[1, :4] = short[0]
    batch[1, 4:] = 1e3 * torch.randn(7, INPUT)  # garbage padding
    together = encoder(batch, torch.tensor([11, 4, 9]))[1:2]
    if not (torch.isfinite(alone).all() and torch.isfinite(together).all()):
        return CheckResult(None, "the output is not finite (see finite output)")
    error = (together - alone).abs().max().item()
    if not error <= TOLERANCE:
        return CheckResult(
            False,
            f"a 4-step sequence changes by {error:.2g} when padded to 11",
            "read each sequence's state at its own last real step (index lengths - 1); a backward direction "
            "must reverse each sequence within its length, not the padded batch",
        )
    return CheckResult(True, f"max difference {error:.1g}")


@check("unrolled() agrees")
def unrolled_agreement(arch: Architecture) -> CheckResult:
    """`unrolled()` (optional) computes `forward`'s function within 1e-5, returns one
    state per step, and its first state reaches the final one through the recurrence
    (the states are the tensors the next step reads, not copies)."""
    encoder = _build(arch)
    if unrolled_method(encoder) is None:
        return CheckResult(None, "no unrolled(): probes fall back to input gradients")
    x, lengths = torch.randn(4, 9, INPUT), torch.tensor([9, 3, 6, 1])
    final, states = encoder.unrolled(x, lengths)
    error = (final - encoder(x, lengths)).abs().max().item()
    shapes_ok = len(states) == 9 and all(tuple(s.shape) == (4, encoder.output_size) for s in states)
    if not error <= TOLERANCE or not shapes_ok:
        return CheckResult(
            False,
            f"max difference {error:.2g}; {len(states)} states for 9 steps",
            "unrolled(x, lengths) must compute forward()'s function with the same weights and return one "
            "[B, output_size] state per step",
        )
    (grad,) = torch.autograd.grad(final.sum(), [states[0]], allow_unused=True)
    if grad is None or grad.abs().sum() == 0:
        return CheckResult(
            False,
            "states[0] does not influence the final state",
            "return the tensors the recurrence itself reads at the next step, not copies of them",
        )
    return CheckResult(True, f"max difference {error:.1g}; states on the recurrent path")


@check("sequence() agrees")
def sequence_outputs(arch: Architecture) -> CheckResult:
    """`sequence()` (optional) returns one float32 output per position, `[B, T, output_size]`,
    equal to `forward`'s where `forward` reads it (within 1e-5), with real positions untouched
    by padding."""
    encoder = _build(arch)
    if sequence_method(encoder) is None:
        return CheckResult(None, "no sequence(): tasks with an output per position (copy, mqar) need it")
    x, lengths = torch.randn(4, 9, INPUT), torch.tensor([9, 3, 6, 1])
    x[1, 3:] = 1e3 * torch.randn(6, INPUT)  # garbage padding after sequence 1's three real steps
    outputs = encoder.sequence(x, lengths)
    expected = (4, 9, encoder.output_size)
    got = output_violation(outputs, expected, {torch.float32})
    if got is not None:
        return CheckResult(False, f"got {got}, expected {expected} float32", "return [B, T, output_size]")
    final = encoder(x, lengths)
    size = encoder.output_size // getattr(encoder, "directions", 1)
    # forward direction: its final state is its output at the last real position; a backward
    # direction ends at token 0
    read = outputs[torch.arange(4), lengths - 1, :size]
    if size < encoder.output_size:
        read = torch.cat([read, outputs[:, 0, size:]], -1)
    error = (read - final).abs().max().item()
    alone = encoder.sequence(x[1:2, :3], lengths[1:2])
    padding_error = (alone - outputs[1:2, :3]).abs().max().item()
    if not (error <= TOLERANCE and padding_error <= TOLERANCE):
        return CheckResult(
            False,
            f"differs from forward() by {error:.2g} where forward reads it; padding changes real positions "
            f"by {padding_error:.2g}",
            "sequence(x, lengths)[b, t] must be the state after token t in token order (both directions' states "
            "for token t in a bidirectional encoder), computed as forward() computes it",
        )
    return CheckResult(True, f"max difference {max(error, padding_error):.1g}")


@check("gates() in [0, 1]")
def gate_values(arch: Architecture) -> CheckResult:
    """`gates()` (optional) returns each gate's activation at every step, `{name: [B, T, D*H]}`,
    every value in [0, 1]."""
    encoder = _build(arch)
    method = gates_method(encoder)
    if method is None:
        return CheckResult(None, "no gates(): the gate probe skips this encoder")
    gates = method(torch.randn(3, 7, INPUT), torch.tensor([7, 2, 5]))
    if not isinstance(gates, dict) or not all(isinstance(v, torch.Tensor) for v in gates.values()):
        return CheckResult(False, f"got {type(gates).__name__}", "return {gate name: float[B, T, D*H]}")
    wrong = [
        gate
        for gate, values in gates.items()
        if tuple(values.shape) != (3, 7, encoder.output_size) or not ((values >= 0) & (values <= 1)).all()
    ]
    if wrong:
        return CheckResult(
            False,
            f"{', '.join(wrong)}: not [3, 7, {encoder.output_size}] activations in [0, 1]",
            "gates(x, lengths) returns each gate's activation (after its sigmoid) at every step, [B, T, D*H]",
        )
    return CheckResult(True, ", ".join(gates) or "none (no gates in this cell)")


@check("gradient reaches step 0")
def gradient_reaches_first_step(arch: Architecture) -> CheckResult:
    """The gradient of the output reaches the first input step in at least one of 8
    random draws at hidden size 32: a `detach()` or a mask cuts it for every input,
    while a ReLU recurrence (IRNN, IndRNN) may see an exact zero for some inputs, which
    is a property of the data, not a bug. Skipped when the output is not finite."""
    # A structural cut (a detach(), a mask) zeroes the gradient at step 0 for every input. A
    # data-dependent zero does not: in a ReLU recurrence (IRNN, IndRNN) a unit that is
    # inactive at some step cuts its own chain, so one small random draw may see no gradient
    # at all. The check fails only when no draw of weights and inputs reaches step 0.
    lengths = torch.tensor([12, 5, 8])
    reached = torch.zeros(len(lengths), dtype=torch.bool)
    for draw in range(GRADIENT_DRAWS):
        torch.manual_seed(draw)
        encoder = arch.build(INPUT, GRADIENT_WIDTH).eval()
        x = torch.randn(len(lengths), 12, INPUT, requires_grad=True)
        final = encoder(x, lengths)
        if not torch.isfinite(final).all():
            return CheckResult(None, "the output is not finite (see finite output)")
        (final * torch.randn_like(final)).sum().backward()  # random weights: no cancelling sum
        if x.grad is not None:
            reached |= x.grad[:, 0].abs().sum(-1) > 0
        if reached.all():
            return CheckResult(True, f"in draw {draw + 1} of {GRADIENT_DRAWS}")
    return CheckResult(
        False,
        f"no gradient at the first input of sequence(s) {reached.logical_not().nonzero().flatten().tolist()} "
        f"in any of {GRADIENT_DRAWS} random draws (hidden size {GRADIENT_WIDTH}): a structural cut",
        "every input step must influence the final state: look for detach() calls, masks that zero early "
        "steps, or a state reset inside the sequence",
    )


@check("finite on T=1000")
def finite_on_long_sequences(arch: Architecture) -> CheckResult:
    """The output stays finite over 1,000 steps at initialisation."""
    encoder = _build(arch)
    final = encoder(torch.randn(2, 1000, INPUT), torch.tensor([1000, 700]))
    if not torch.isfinite(final).all():
        return CheckResult(
            False,
            "NaN or inf after 1,000 steps at initialisation",
            "bound the state (a saturating nonlinearity, gating or normalisation) or scale the initial weights",
        )
    return CheckResult(True)


@check("budget")
def budget(arch: Architecture) -> CheckResult:
    """The encoder has as many parameters built on the meta device (as `--match` counts them)
    as built for real; it declares `state_size` (skipped without: `--match state=N` needs it).

    These are the numbers --match compares: encoder parameters and the declared state."""
    measured = measure(arch, INPUT, HIDDEN, arch.defaults)
    built = count_parameters(_build(arch))
    state = measured["state_size"]
    detail = f"{built:,} encoder parameters, state {state or 'not declared'} (input {INPUT}, hidden {HIDDEN})"
    if measured["encoder_params"] != built:
        return CheckResult(
            False,
            f"{measured['encoder_params']:,} parameters on the meta device but {built:,} when built",
            "build the same modules whatever the device (--match params=N counts them on the meta device)",
        )
    if state is None:
        return CheckResult(None, f"{detail}; set encoder.state_size to allow --match state=N")
    return CheckResult(True, detail)


@check("moves to CUDA")
def device_move(arch: Architecture) -> CheckResult:
    """The encoder moves to a CUDA device with `.to(device)` and computes there (when
    one is present)."""
    if not torch.cuda.is_available():
        return CheckResult(None, "no CUDA device here")
    encoder = _build(arch).cuda()
    final = encoder(torch.randn(2, 5, INPUT, device="cuda"), torch.tensor([5, 3], device="cuda"))
    if final.device.type != "cuda":
        return CheckResult(
            False,
            f"output on {final.device}",
            "register weights as parameters or buffers so that .to(device) moves them",
        )
    return CheckResult(True)


CHECKS: list[Check] = [
    output_shape,
    finite_output,
    padding_invariance,
    unrolled_agreement,
    sequence_outputs,
    gate_values,
    gradient_reaches_first_step,
    finite_on_long_sequences,
    budget,
    device_move,
]


def run_checks(arch: Architecture) -> list[CheckResult]:
    """Every check; an exception inside one is that check's failure, not the end of the run."""
    results = []
    for function in CHECKS:
        try:
            result = function(arch)
        except Exception as exc:
            result = CheckResult(False, f"{type(exc).__name__}: {exc}", "the encoder raised; see the message")
        result.check = function.title
        results.append(result)
    return results


def checks_markdown() -> str:
    """The list of checks, as docs/plugins.md shows it (`make docs-checks` writes it there)."""
    rows = [
        f"| {function.title} | {' '.join(inspect.getdoc(function).split(chr(10) * 2)[0].split())} |"
        for function in CHECKS
    ]
    return "\n".join(["| check | what it asks of the encoder |", "| --- | --- |", *rows])


if __name__ == "__main__":
    print(checks_markdown())
