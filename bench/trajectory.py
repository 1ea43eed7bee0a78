"""State trajectory: where the hidden state travels, step by step, for a few sequences.

The encoder's per-step states (its ``sequence()`` output, else ``unrolled()``'s states) of
the real steps of a few sequences are projected on their two first principal components
(PCA over all those points), so a student can see the state move as the sequence is read:
at initialisation and after training, coloured by step or by the sequence's target.
"""

from __future__ import annotations

from typing import Any

import torch

from bench.architecture import sequence_method, unroll, unrolled_method
from bench.batching import Batch
from bench.model import SequenceModel, evaluating

SEQUENCES = 8  # sequences drawn: enough to see a pattern, few enough to tell them apart


@torch.no_grad()
def state_trajectory(model: SequenceModel, batch: Batch, sequences: int = SEQUENCES) -> dict[str, Any]:
    """``{"points": [[[pc1, pc2] per step] per sequence], "targets": [...], "explained":
    [share of variance of pc1, pc2]}``; empty when the encoder exposes no per-step state."""
    with evaluating(model):
        inputs, lengths = batch.inputs[:sequences], batch.lengths[:sequences]
        x = model.adapter(inputs)
        if sequence_method(model.encoder) is not None:
            states = model.encoder.sequence(x, lengths)
        elif unrolled_method(model.encoder) is not None:
            states = torch.stack(unroll(model.encoder, x, lengths).states, 1)
        else:
            return {}
    states = states.double().cpu()
    real = [states[b, : int(length)] for b, length in enumerate(lengths.tolist())]
    stacked = torch.cat(real)
    if not torch.isfinite(stacked).all():  # a diverged model: there is no trajectory to project
        return {}
    centre = stacked.mean(0)
    _, singular, directions = torch.linalg.svd(stacked - centre, full_matrices=False)
    # the first two principal axes; a one-unit state has one, and its second coordinate is 0
    basis = torch.nn.functional.pad(directions[:2].T, (0, max(0, 2 - len(directions))))  # [H, 2]
    variance = torch.nn.functional.pad(singular**2, (0, max(0, 2 - len(singular))))
    targets = batch.targets[:sequences]
    return {
        "points": [((r - centre) @ basis).tolist() for r in real],
        "targets": targets.tolist() if targets.dim() == 1 else None,
        "explained": (variance[:2] / variance.sum().clamp(min=1e-300)).tolist(),
    }
