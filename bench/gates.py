"""Gate probe: what a gated encoder's gates do at each step.

For an encoder with the optional ``gates(x, lengths) -> {name: float[B, T, D*H]}`` (the
built-in LSTM: input, forget, output; GRU: update, reset), the probe records each gate's
mean and standard deviation at every step, in processing order, over the sequences that
are still running at that step and over all units. Taken at initialisation and after
training, it shows, for example, a trained LSTM holding its forget gate near 1 while the
adding problem's marked numbers must be remembered.
"""

from __future__ import annotations

import torch

from bench.architecture import gates_method
from bench.batching import Batch
from bench.model import SequenceModel, evaluating


@torch.no_grad()
def gate_profile(model: SequenceModel, batch: Batch) -> dict[str, dict[str, list[float]]]:
    """``{gate: {"mean": [...], "std": [...]}}``, one value per step; empty without gates."""
    method = gates_method(model.encoder)
    if method is None:
        return {}
    with evaluating(model):
        gates = method(model.adapter(batch.inputs), batch.lengths)
    steps = torch.arange(batch.inputs.shape[1], device=batch.lengths.device)
    running = (steps[None, :] < batch.lengths[:, None]).cpu()  # [B, T]: the step is a real token
    profile = {}
    for name, values in gates.items():
        values = values.detach().double().cpu()
        weights = running[:, :, None].expand_as(values).double()
        count = weights.sum((0, 2)).clamp(min=1)
        mean = (values * weights).sum((0, 2)) / count
        variance = (((values - mean[None, :, None]) ** 2) * weights).sum((0, 2)) / count
        profile[name] = {"mean": mean.tolist(), "std": variance.sqrt().tolist()}
    return profile
