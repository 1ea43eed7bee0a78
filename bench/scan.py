"""A parallel scan for diagonal linear recurrences, public for plugins (`bench.linear_scan`):

    h_t = a_t * h_{t-1} + b_t,   h_{-1} = h0 (zero by default),   for t = 0 .. T-1

elementwise over the trailing dimensions, for real or complex ``a`` and ``b``. The recurrences
of LRU, S4D, Mamba, RG-LRU, minGRU and minLSTM are all of this form, so the whole sequence
is computed without a Python loop over steps.

How: the sequence is cut into chunks of ``CHUNK`` steps. Within a chunk, a Hillis-Steele
scan composes the affine maps ``h -> a h + b`` in log2(CHUNK) doubling steps; the chunks are
then chained one after another, each starting from the last state of the one before. The
work is O(T log CHUNK), the memory autograd keeps is linear in T, and every operation is an
ordinary differentiable torch operation. (A scan over all T steps at once would keep
log2(T) copies of the sequence for the backward pass.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

CHUNK = 64  # steps composed in parallel; log2(CHUNK) doubling steps each


def linear_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None, dim: int = 1) -> torch.Tensor:
    """Every state h_t of h_t = a_t * h_{t-1} + b_t along ``dim`` (the time axis, 1 for
    ``[B, T, ...]``). ``a`` broadcasts against ``b`` (a time-invariant ``a`` may have size 1
    along ``dim``); ``h0`` has ``b``'s shape without the time axis."""
    a, b = torch.broadcast_tensors(a, b)
    a, b = a.movedim(dim, 0), b.movedim(dim, 0)
    steps = b.shape[0]
    state = torch.zeros_like(b[0]) if h0 is None else h0.to(b.dtype)
    chunks = []
    for start in range(0, steps, CHUNK):
        prefix_a, prefix_b = _compose(a[start : start + CHUNK], b[start : start + CHUNK])
        chunk = prefix_a * state + prefix_b  # each step of the chunk from the state before it
        chunks.append(chunk)
        state = chunk[-1]
    return torch.cat(chunks).movedim(0, dim)


def _compose(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Inclusive prefix compositions of the maps h -> a_t h + b_t along axis 0 (Hillis-Steele):
    after the loop, position t holds the map from the chunk's initial state to h_t."""
    steps, shift = a.shape[0], 1
    while shift < steps:
        # position t composes the map ending at t - shift (earlier) with its own: a_t (a_s h + b_s) + b_t
        earlier_a = _shifted(a, shift, fill=1)
        earlier_b = _shifted(b, shift, fill=0)
        a, b = a * earlier_a, a * earlier_b + b
        shift *= 2
    return a, b


def _shifted(x: torch.Tensor, shift: int, fill: float) -> torch.Tensor:
    """``x`` moved ``shift`` steps later along axis 0; the first ``shift`` steps are the
    identity map's (``fill``)."""
    pad = [0, 0] * (x.dim() - 1) + [shift, 0]
    if x.is_complex():
        return torch.complex(F.pad(x.real, pad, value=fill)[: len(x)], F.pad(x.imag, pad, value=0.0)[: len(x)])
    return F.pad(x, pad, value=fill)[: len(x)]


def sequential_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None, dim: int = 1) -> torch.Tensor:
    """The same recurrence as a plain loop over steps: the reference `linear_scan` is tested
    and benchmarked against."""
    a, b = torch.broadcast_tensors(a, b)
    a, b = a.movedim(dim, 0), b.movedim(dim, 0)
    state = torch.zeros_like(b[0]) if h0 is None else h0.to(b.dtype)
    states = []
    for t in range(b.shape[0]):
        state = a[t] * state + b[t]
        states.append(state)
    return torch.stack(states).movedim(0, dim)
