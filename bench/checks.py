"""The encoder contract as runnable checks: `rnnbench check` prints them, the test matrix
asserts them (tests/test_architectures.py), so the two never disagree.

Each check builds a small encoder, runs it, and returns a `CheckResult`; a failure says
what to fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from bench.architecture import Architecture, output_violation

INPUT, HIDDEN = 5, 8
TOLERANCE = 1e-5


@dataclass
class CheckResult:
    check: str
    passed: bool | None  # None: not applicable here (skipped)
    detail: str = ""
    fix: str = ""


def _build(arch: Architecture) -> torch.nn.Module:
    torch.manual_seed(0)
    return arch.build(INPUT, HIDDEN).eval()


def output_shape(arch: Architecture) -> CheckResult:
    encoder = _build(arch)
    final = encoder(torch.randn(3, 7, INPUT), torch.tensor([7, 2, 5]))
    expected = (3, encoder.output_size)
    got = output_violation(final, expected, {torch.float32})
    if got is not None:
        return CheckResult(
            "output shape",
            False,
            f"got {got}, expected {expected} float32",
            "forward(x, lengths) must return one float32 vector of size output_size per sequence",
        )
    return CheckResult("output shape", True, f"{expected}")


def padding_invariance(arch: Architecture) -> CheckResult:
    encoder = _build(arch)
    short = torch.randn(1, 4, INPUT)
    alone = encoder(short, torch.tensor([4]))
    batch = torch.randn(3, 11, INPUT)
    batch[1, :4] = short[0]
    batch[1, 4:] = 1e3 * torch.randn(7, INPUT)  # garbage padding
    together = encoder(batch, torch.tensor([11, 4, 9]))[1:2]
    error = (together - alone).abs().max().item()
    if not error <= TOLERANCE:
        return CheckResult(
            "padding invariance",
            False,
            f"a 4-step sequence changes by {error:.2g} when padded to 11",
            "read each sequence's state at its own last real step (index lengths - 1); a backward direction "
            "must reverse each sequence within its length, not the padded batch",
        )
    return CheckResult("padding invariance", True, f"max difference {error:.1g}")


def unrolled_agreement(arch: Architecture) -> CheckResult:
    encoder = _build(arch)
    if not callable(getattr(encoder, "unrolled", None)):
        return CheckResult("unrolled() agrees", None, "no unrolled(): probes fall back to input gradients")
    x, lengths = torch.randn(4, 9, INPUT), torch.tensor([9, 3, 6, 1])
    final, states = encoder.unrolled(x, lengths)
    error = (final - encoder(x, lengths)).abs().max().item()
    shapes_ok = len(states) == 9 and all(tuple(s.shape) == (4, encoder.output_size) for s in states)
    if not error <= TOLERANCE or not shapes_ok:
        return CheckResult(
            "unrolled() agrees",
            False,
            f"max difference {error:.2g}; {len(states)} states for 9 steps",
            "unrolled(x, lengths) must compute forward()'s function with the same weights and return one "
            "[B, output_size] state per step",
        )
    (grad,) = torch.autograd.grad(final.sum(), [states[0]], allow_unused=True)
    if grad is None or grad.abs().sum() == 0:
        return CheckResult(
            "unrolled() agrees",
            False,
            "states[0] does not influence the final state",
            "return the tensors the recurrence itself reads at the next step, not copies of them",
        )
    return CheckResult("unrolled() agrees", True, f"max difference {error:.1g}; states on the recurrent path")


def gradient_reaches_first_step(arch: Architecture) -> CheckResult:
    encoder = _build(arch)
    x = torch.randn(3, 12, INPUT, requires_grad=True)
    encoder(x, torch.tensor([12, 5, 8])).sum().backward()
    reached = x.grad is not None and (x.grad[:, 0].abs().sum(-1) > 0).all().item()
    if not reached:
        return CheckResult(
            "gradient reaches step 0",
            False,
            "no gradient at the first input of some sequence",
            "every input step must influence the final state (check detach() calls and masking)",
        )
    return CheckResult("gradient reaches step 0", True)


def finite_on_long_sequences(arch: Architecture) -> CheckResult:
    encoder = _build(arch)
    final = encoder(torch.randn(2, 1000, INPUT), torch.tensor([1000, 700]))
    if not torch.isfinite(final).all():
        return CheckResult(
            "finite on T=1000",
            False,
            "NaN or inf after 1,000 steps at initialisation",
            "bound the state (a saturating nonlinearity, gating or normalisation) or scale the initial weights",
        )
    return CheckResult("finite on T=1000", True)


def device_move(arch: Architecture) -> CheckResult:
    if not torch.cuda.is_available():
        return CheckResult("moves to CUDA", None, "no CUDA device here")
    encoder = _build(arch).cuda()
    final = encoder(torch.randn(2, 5, INPUT, device="cuda"), torch.tensor([5, 3], device="cuda"))
    if final.device.type != "cuda":
        return CheckResult(
            "moves to CUDA",
            False,
            f"output on {final.device}",
            "register weights as parameters or buffers so that .to(device) moves them",
        )
    return CheckResult("moves to CUDA", True)


CHECKS: list[Callable[[Architecture], CheckResult]] = [
    output_shape,
    padding_invariance,
    unrolled_agreement,
    gradient_reaches_first_step,
    finite_on_long_sequences,
    device_move,
]


def run_checks(arch: Architecture) -> list[CheckResult]:
    """Every check; an exception inside one is that check's failure, not the end of the run."""
    results = []
    for check in CHECKS:
        try:
            results.append(check(arch))
        except Exception as exc:
            results.append(
                CheckResult(
                    check.__name__.replace("_", " "),
                    False,
                    f"{type(exc).__name__}: {exc}",
                    "the encoder raised; see the message",
                )
            )
    return results
