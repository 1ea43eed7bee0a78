"""Gradient probe: how much of each sample's loss gradient reaches each timestep.

For every distance ``d`` from a sequence's end (``d = 0`` is its last real token) the probe
records the norm of dL/dh at that step, through the recurrence (the total derivative, via
the encoder's ``unrolled()``; one profile per direction), and of dL/dx at that token (any
encoder). Norms are per sample, then averaged over the samples long enough to have that
distance. The backward pass runs on a float64 copy of the model: in float32 a tanh RNN's
gradient underflows to exactly zero a hundred steps back, which would draw a false cliff.

Tasks with an output at many positions (``outputs = "sequence"``: copy, recall): the loss is
the one at each sample's *first* position with a target, and distances count back from that
position (for a backward direction, from the step that produced its output there). The
per-position outputs are the ones ``unrolled()`` returns with its states (or the states
themselves, for an encoder whose states are its outputs, as the built-ins'), so that the
loss's gradient reaches the states through the output path; without ``unrolled()``, they
are read from ``sequence()``. A state of any width is measured: W = the state's width.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch

from bench.architecture import Unrolled, tokens_order, unroll, unrolled_method
from bench.batching import Batch
from bench.errors import PluginError
from bench.model import SequenceModel
from bench.task import IGNORE, Task

DIRECTION_NAMES = ("forward", "backward")


def gradient_profile(model: SequenceModel, task: Task, batch: Batch) -> dict[str, list[float]]:
    """``{"forward": [...], "backward": [...], "input": [...]}``, each indexed by distance."""
    probe = copy.deepcopy(model).double().eval()
    inputs = batch.inputs.double() if batch.inputs.is_floating_point() else batch.inputs
    targets = batch.targets.double() if batch.targets.is_floating_point() else batch.targets
    lengths = batch.lengths.to(inputs.device)
    # a leaf: gradients stop here instead of flowing on into the adapter's weights
    x = probe.adapter(inputs).detach().requires_grad_()
    directions = getattr(probe.encoder, "directions", 1)
    if unrolled_method(probe.encoder) is not None:
        unrolled = unroll(probe.encoder, x, lengths)
        final, states = probe.checked(unrolled.final, x), unrolled.states
    else:
        unrolled, final, states = None, None, []
    if probe.per_position:
        # the loss at each sample's first position with a target; distances count back from it
        first = (targets != IGNORE).int().argmax(1)
        outputs = _outputs(probe, x, lengths, unrolled, directions)
        rows = torch.arange(len(first), device=first.device)
        loss = task.loss(probe.head(outputs[rows, first]), targets[rows, first])
        anchors = [first, lengths - 1 - first]  # forward: that position; backward: the step that produced it
    else:
        final = final if final is not None else probe.encode(x, lengths)
        loss = task.loss(probe.head(final), targets)
        anchors = [lengths - 1, lengths - 1]  # each direction's last processing step
    # Samples do not interact in eval mode, so the gradient of the summed loss with respect to
    # sample b's state is the gradient of sample b's own loss.
    # A step with no path to the loss (allow_unused) has gradient zero.
    grads = torch.autograd.grad(loss.sum(), [x, *states], allow_unused=True)
    grads = [torch.zeros_like(v) if g is None else g for g, v in zip(grads, [x, *states], strict=True)]
    profiles = {"input": _by_distance(grads[0].norm(dim=-1), anchors[0] + 1)}
    if states:
        per_step = torch.stack(grads[1:], 1)  # [B, T, D*H], each direction in processing order
        for d, chunk in enumerate(per_step.chunk(directions, -1)):
            profiles[DIRECTION_NAMES[d]] = _by_distance(chunk.norm(dim=-1), anchors[d] + 1)
    return profiles


def _outputs(
    probe: SequenceModel, x: torch.Tensor, lengths: torch.Tensor, unrolled: Unrolled | None, directions: int
) -> torch.Tensor:
    """The per-position outputs, computed from ``unrolled()``'s states so that the loss's
    gradient reaches them: the outputs it returned, or, for an encoder whose states are its
    outputs (the built-ins), the states in token order; without ``unrolled()``, ``sequence()``."""
    if unrolled is None:
        return probe.encoder.sequence(x, lengths)
    if unrolled.outputs is not None:
        return probe.checked(unrolled.outputs, x, per_position=True)
    if unrolled.states[0].shape[-1] != probe.encoder.output_size:
        raise PluginError(
            f"{type(probe.encoder).__name__}.unrolled() returns states of width {unrolled.states[0].shape[-1]}, not "
            f"its output_size {probe.encoder.output_size}: return the per-position outputs too, as (final, states, "
            f"outputs), so the gradient probe reads outputs through the output path (docs/plugins.md)"
        )
    return tokens_order(unrolled.states, lengths, directions)


def _by_distance(norms: torch.Tensor, lengths: torch.Tensor) -> list[float]:
    """Average ``norms[b, t]`` over samples by distance ``lengths[b] - 1 - t`` from the end."""
    norms = norms.detach().double().cpu()
    lengths = lengths.cpu()
    steps = norms.shape[1]
    t = torch.arange(steps)
    distance = lengths[:, None] - 1 - t[None, :]
    valid = distance >= 0
    total = torch.zeros(steps, dtype=torch.float64).index_add_(0, distance[valid], norms[valid])
    count = torch.zeros(steps, dtype=torch.float64).index_add_(0, distance[valid], torch.ones_like(norms[valid]))
    keep = count > 0
    return (total[keep] / count[keep]).tolist()


def summarize(profile: list[float]) -> dict[str, float]:
    """Decay of a profile: the least-squares slope of log10(norm) against distance.

    ``decay_per_step``: decades lost per step back (0 or negative: no decay);
    ``half_life``: steps over which the norm halves (infinite when it does not decay);
    ``first_to_last``: norm at the earliest step over norm at the last step.
    """
    values = np.asarray(profile, dtype=np.float64)
    distance = np.arange(len(values))
    positive = values > 0
    nan = float("nan")
    if positive.sum() < 2:
        return {"decay_per_step": nan, "half_life": nan, "first_to_last": nan}
    slope = np.polyfit(distance[positive], np.log10(values[positive]), 1)[0]
    decay = float(-slope)
    half_life = math.log10(2) / decay if decay > 0 else math.inf
    first_to_last = float(values[-1] / values[0]) if values[0] > 0 else nan
    return {"decay_per_step": decay, "half_life": half_life, "first_to_last": first_to_last}


def profile_record(profiles: dict[str, list[float]], init: dict[str, Any]) -> dict[str, Any]:
    """One stored gradient profile, with its summaries and the initialisation it was taken under."""
    return {
        "init": init,
        "norms": profiles,
        "summary": {name: summarize(values) for name, values in profiles.items()},
    }
