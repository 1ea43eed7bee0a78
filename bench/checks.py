"""The encoder contract as runnable checks: `rnnbench check` prints them, the test matrix
asserts them (tests/test_architectures.py), so the two never disagree.

Each check builds a small encoder, runs it, and returns a `CheckResult`; a failure says
what to fix.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from bench.architecture import (
    Architecture,
    gates_method,
    output_violation,
    sequence_method,
    unroll,
    unrolled_method,
)
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


Options = Mapping[str, Any]  # the architecture's options to check it with (`rnnbench check --set`)
Check = Callable[[Architecture, Options], CheckResult]


def check(title: str) -> Callable[[Check], Check]:
    """Marks a function as the check called ``title``; its docstring's first paragraph says
    what it asks of an encoder (docs/plugins.md lists them from here: `checks_markdown`)."""

    def mark(function: Check) -> Check:
        function.title = title
        return function

    return mark


def _build(arch: Architecture, options: Options, hidden: int = HIDDEN) -> torch.nn.Module:
    torch.manual_seed(0)
    return arch.build(INPUT, hidden, **options).eval()


@check("output shape")
def output_shape(arch: Architecture, options: Options) -> CheckResult:
    """`forward(x, lengths)` returns one float32 vector of `output_size` per sequence,
    `[B, output_size]`."""
    encoder = _build(arch, options)
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
def finite_output(arch: Architecture, options: Options) -> CheckResult:
    """The output is finite on a batch of standard normal inputs at initialisation."""
    encoder = _build(arch, options)
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
def padding_invariance(arch: Architecture, options: Options) -> CheckResult:
    """A sequence gives the same output alone and inside a batch of longer sequences
    whose padding is garbage (within 1e-5): the state is read at each sequence's own
    last step, and a backward direction reverses each sequence within its length."""
    encoder = _build(arch, options)
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
def unrolled_agreement(arch: Architecture, options: Options) -> CheckResult:
    """`unrolled()` (optional) computes `forward`'s function within 1e-5 and returns one
    state per step, all of one width (any width: the true recurrent state, which need not be
    the output), and, when it returns per-position outputs too, they equal `sequence()`'s."""
    encoder = _build(arch, options)
    if unrolled_method(encoder) is None:
        return CheckResult(None, "no unrolled(): probes fall back to input gradients")
    x, lengths = torch.randn(4, 9, INPUT), torch.tensor([9, 3, 6, 1])
    unrolled = unroll(encoder, x, lengths)
    error = (unrolled.final - encoder(x, lengths)).abs().max().item()
    widths = {tuple(state.shape) for state in unrolled.states}
    directions = getattr(encoder, "directions", 1)
    shapes_ok = len(unrolled.states) == 9 and len(widths) == 1 and next(iter(widths))[0] == 4
    shapes_ok = shapes_ok and next(iter(widths))[-1] % directions == 0
    if not error <= TOLERANCE or not shapes_ok:
        return CheckResult(
            False,
            f"max difference {error:.2g}; {len(unrolled.states)} states for 9 steps, of shapes {sorted(widths)}",
            "unrolled(x, lengths) must compute forward()'s function with the same weights and return one "
            "[B, W] state per step (W the state's width, the same at every step)",
        )
    width = next(iter(widths))[-1]
    if unrolled.outputs is not None:
        expected = (4, 9, encoder.output_size)
        got = output_violation(unrolled.outputs, expected, {torch.float32})
        if got is not None:
            return CheckResult(
                False, f"outputs: got {got}, expected {expected}", "return outputs as [B, T, output_size]"
            )
        if sequence_method(encoder) is not None:
            difference = (unrolled.outputs - encoder.sequence(x, lengths)).abs()
            real = torch.arange(9)[None, :] < lengths[:, None]
            gap = difference[real].max().item()
            if not gap <= TOLERANCE:
                return CheckResult(
                    False,
                    f"its outputs differ from sequence() by {gap:.2g} at real positions",
                    "unrolled()'s outputs are the per-position outputs, computed from the states",
                )
    elif width != encoder.output_size and sequence_method(encoder) is not None:
        return CheckResult(
            False,
            f"states of width {width} are not the outputs (output_size {encoder.output_size}), and no outputs come "
            f"with them",
            "return (final, states, outputs): the gradient probe reads per-position outputs through them",
        )
    return CheckResult(True, f"max difference {error:.1g}; state width {width}")


@check("state on the recurrent path")
def recurrent_path(arch: Architecture, options: Options) -> CheckResult:
    """Every state `unrolled()` returns is the one the recurrence carries: step t+1 reads
    state t at every step, and the final output reads the last state (a copy, a detached
    state, or a last step that ignores the state fails), in at least one of 8 random draws at
    hidden size 32 (a ReLU recurrence may cut a step for some inputs)."""
    steps = 9
    reached = torch.zeros(steps, dtype=torch.bool)
    for draw in range(GRADIENT_DRAWS):
        torch.manual_seed(draw)
        encoder = arch.build(INPUT, GRADIENT_WIDTH, **options).eval()
        if unrolled_method(encoder) is None:
            return CheckResult(None, "no unrolled(): nothing to check")
        unrolled = unroll(encoder, torch.randn(2, steps, INPUT), torch.tensor([steps, steps]))
        states, final = unrolled.states, unrolled.final
        readers = [*states[1:], final]  # what reads state t: state t+1, and the output for the last
        for t in range(steps):
            if reached[t]:
                continue
            (grad,) = torch.autograd.grad(
                (readers[t] * torch.randn_like(readers[t])).sum(), [states[t]], retain_graph=True, allow_unused=True
            )
            reached[t] = grad is not None and bool(grad.abs().sum() > 0)
        if reached.all():
            return CheckResult(True, f"every step, in draw {draw + 1} of {GRADIENT_DRAWS}")
    missing = reached.logical_not().nonzero().flatten().tolist()
    where = [f"state {t + 1} does not read state {t}" if t < steps - 1 else "the output does not read the last state"
             for t in missing]  # fmt: skip
    return CheckResult(
        False,
        f"{'; '.join(where)} (in any of {GRADIENT_DRAWS} draws)",
        "return the tensors the recurrence itself carries from step to step (not copies, not detached), and "
        "compute the output from the last of them",
    )


@check("sequence() agrees")
def sequence_outputs(arch: Architecture, options: Options) -> CheckResult:
    """`sequence()` (optional) returns one float32 output per position, `[B, T, output_size]`,
    equal to `forward`'s where `forward` reads it (within 1e-5), with real positions untouched
    by padding."""
    encoder = _build(arch, options)
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
def gate_values(arch: Architecture, options: Options) -> CheckResult:
    """`gates()` (optional) returns each gate's activation at every step, `{name: [B, T, D*H]}`,
    every value in [0, 1]."""
    encoder = _build(arch, options)
    method = gates_method(encoder)
    if method is None:
        return CheckResult(None, "no gates(): the gate probe skips this encoder")
    gates = method(torch.randn(3, 7, INPUT), torch.tensor([7, 2, 5]))
    if not isinstance(gates, dict) or not all(isinstance(v, torch.Tensor) for v in gates.values()):
        return CheckResult(False, f"got {type(gates).__name__}", "return {gate name: float[B, T, D*H]}")
    wrong = [
        gate
        for gate, values in gates.items()
        if values.dim() != 3 or tuple(values.shape[:2]) != (3, 7) or not ((values >= 0) & (values <= 1)).all()
    ]
    if wrong:
        return CheckResult(
            False,
            f"{', '.join(wrong)}: not [3, 7, units] activations in [0, 1]",
            "gates(x, lengths) returns each gate's activation (after its sigmoid) at every step, [B, T, units]",
        )
    return CheckResult(True, ", ".join(gates) or "none (no gates in this cell)")


@check("gradient reaches step 0")
def gradient_reaches_first_step(arch: Architecture, options: Options) -> CheckResult:
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
        encoder = arch.build(INPUT, GRADIENT_WIDTH, **options).eval()
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
def finite_on_long_sequences(arch: Architecture, options: Options) -> CheckResult:
    """The output stays finite over 1,000 steps at initialisation."""
    encoder = _build(arch, options)
    final = encoder(torch.randn(2, 1000, INPUT), torch.tensor([1000, 700]))
    if not torch.isfinite(final).all():
        return CheckResult(
            False,
            "NaN or inf after 1,000 steps at initialisation",
            "bound the state (a saturating nonlinearity, gating or normalisation) or scale the initial weights",
        )
    return CheckResult(True)


@check("budget")
def budget(arch: Architecture, options: Options) -> CheckResult:
    """The encoder has as many parameters built on the meta device (as `--match` counts them)
    as built for real; it declares `state_size` (skipped without: `--match state=N` needs it).

    These are the numbers --match compares: encoder parameters and the declared state."""
    measured = measure(arch, INPUT, HIDDEN, arch.resolve_options(options))
    built = count_parameters(_build(arch, options))
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
def device_move(arch: Architecture, options: Options) -> CheckResult:
    """The encoder moves to a CUDA device with `.to(device)` and computes there (when
    one is present)."""
    if not torch.cuda.is_available():
        return CheckResult(None, "no CUDA device here")
    encoder = _build(arch, options).cuda()
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
    recurrent_path,
    sequence_outputs,
    gate_values,
    gradient_reaches_first_step,
    finite_on_long_sequences,
    budget,
    device_move,
]


def run_checks(arch: Architecture, options: Options | None = None) -> list[CheckResult]:
    """Every check, with the architecture's ``options`` (its defaults updated; checked); an
    exception inside one is that check's failure, not the end of the run."""
    options = dict(options or {})
    results = []
    for function in CHECKS:
        try:
            result = function(arch, options)
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
