"""Jacobian spectrum: the mechanism behind the vanishing gradient.

Going back one step multiplies the gradient by the step's Jacobian: dL/dh_{t-1} =
dL/dh_t · ∂h_t/∂h_{t-1}. The probe measures, through the encoder's ``unrolled()`` states
(so for any encoder that has it), at each distance ``k`` from a sequence's last token:

- ``sigma_max``: the largest singular value of ∂h_t/∂h_{t-1} at that step (how much one
  step can stretch a gradient at most);
- ``product``: the spectral norm of the product of the Jacobians from the last step back
  to that one, ‖∂h_last/∂h_{last-k}‖, which bounds ‖dL/dh_{last-k}‖ / ‖dL/dh_last‖ from
  above (the measured gradient profile lies at or below it).

Both are averaged over the sequences long enough to have that distance (the product as the
geometric mean). The Jacobians are of ``states[t]`` with respect to ``states[t-1]`` along
their direct edge in the autograd graph, of the whole recurrent state as ``unrolled()``
defines it: h for a tanh RNN or GRU, (h, c) for an LSTM, whose memory cell is the path it
keeps its gradient on. The product's norm, not the product of the per-step norms, is what
bounds the gradient: a step may stretch some direction (σ_max > 1) while the product still
shrinks. For a bidirectional encoder the forward direction is measured. In float64, like
the gradient probe.
"""

from __future__ import annotations

import copy

import torch

from bench.architecture import unroll, unrolled_method
from bench.batching import Batch
from bench.model import SequenceModel


def step_jacobians(model: SequenceModel, batch: Batch) -> torch.Tensor | None:
    """``float64[B, T-1, W, W]``: ∂s_t/∂s_{t-1} of each sample at steps t = 1 .. T-1, where s
    is the state ``unrolled()`` returns (the forward direction's, for a bidirectional
    encoder); None for an encoder without ``unrolled()``."""
    probe = copy.deepcopy(model).double().eval()
    if unrolled_method(probe.encoder) is None:
        return None
    inputs = batch.inputs.double() if batch.inputs.is_floating_point() else batch.inputs
    lengths = batch.lengths.to(inputs.device)
    x = probe.adapter(inputs).detach()
    states = unroll(probe.encoder, x, lengths).states
    size = states[0].shape[-1] // getattr(probe.encoder, "directions", 1)  # the forward direction
    identity = torch.eye(size, dtype=states[0].dtype, device=states[0].device)
    jacobians = []
    for t in range(1, len(states)):
        rows = identity[:, None, :].expand(size, len(lengths), size)  # one backward pass per output unit
        padded = torch.zeros(size, len(lengths), states[t].shape[-1], dtype=rows.dtype, device=rows.device)
        padded[..., :size] = rows
        (grad,) = torch.autograd.grad(
            states[t], states[t - 1], padded, retain_graph=True, is_grads_batched=True, allow_unused=True
        )
        grad = torch.zeros_like(padded) if grad is None else grad
        jacobians.append(grad[..., :size].permute(1, 0, 2))  # [B, W_out, W_in]
    if not jacobians:  # one step: no Jacobian between states
        return identity.new_zeros(len(lengths), 0, size, size)
    return torch.stack(jacobians, 1)


def jacobian_spectrum(model: SequenceModel, batch: Batch) -> dict[str, list[float]]:
    """``{"sigma_max": [...], "product": [...]}`` indexed by distance from the last token;
    empty for an encoder without ``unrolled()``."""
    jacobians = step_jacobians(model, batch)
    if jacobians is None:
        return {}
    identity = torch.eye(jacobians.shape[-1], dtype=jacobians.dtype, device=jacobians.device)
    sigma: dict[int, list[float]] = {}
    product: dict[int, list[float]] = {}
    for b, length in enumerate(batch.lengths.tolist()):
        chain = identity
        for k in range(1, length):
            step = jacobians[b, length - 1 - k]  # ∂s_{last-k+1}/∂s_{last-k}
            chain = chain @ step
            sigma.setdefault(k, []).append(float(torch.linalg.matrix_norm(step, ord=2)))
            product.setdefault(k, []).append(float(torch.linalg.matrix_norm(chain, ord=2)))
    distances = sorted(sigma)
    return {
        "sigma_max": [float("nan")] + [sum(sigma[k]) / len(sigma[k]) for k in distances],  # no step at distance 0
        "product": [1.0] + [_geometric_mean(product[k]) for k in distances],
    }


def _geometric_mean(values: list[float]) -> float:
    positive = torch.tensor(values, dtype=torch.float64).clamp(min=1e-300)
    return float(positive.log().mean().exp())
