"""rnnbench's own probes, registered as an internal plugin through the same hook a third
party uses (``rnnbench_register_probes``):

- ``gradients``: the gradient reaching each step back from the last token, at
  initialisation and at the cell's probe points during training (`bench.probes`);
- ``gates``: each gate's mean and spread at every step, at initialisation and after
  training (`bench.gates`);
- ``trajectory``: a few sequences' states on their first two principal components, at
  initialisation and after training (`bench.trajectory`);
- ``jacobian``: the spectrum of the step Jacobians and the norm of their product, at
  initialisation and after training, when ``jacobian_batch`` > 0 (`bench.jacobian`);
- ``eigenvalues``: the distribution of |lambda| of an encoder with fixed eigenvalues (LRU,
  S4D: ``eigenvalues()``), at initialisation and after training.
"""

from __future__ import annotations

from typing import Any

import torch

from bench import figures
from bench.batching import first_sequences
from bench.gates import gate_profile
from bench.hookspecs import hookimpl
from bench.jacobian import jacobian_spectrum
from bench.probe import Probe, ProbeContext
from bench.probes import gradient_profile, profile_record
from bench.record import fields, integer, list_of, mapping_of, number, optional
from bench.trajectory import state_trajectory

numbers = list_of(optional(number))


def measure_gradients(context: ProbeContext) -> dict[str, Any]:
    profiles = gradient_profile(context.model, context.task, context.batch)
    init = {"seed": context.seed, "arch_options": dict(context.arch_options)}
    return profile_record(profiles, init)


def gradient_columns(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """``grad_{init|trained}_{direction}_{summary}``: the first and the last profile's decay."""
    columns = {}
    for moment, entry in (("init", entries[0] if entries else None), ("trained", entries[-1] if entries else None)):
        for direction, summary in (entry or {}).get("summary", {}).items():
            for name, value in summary.items():
                columns[f"grad_{moment}_{direction}_{name}"] = value
    return columns


def measure_gates(context: ProbeContext) -> dict[str, Any] | None:
    profile = gate_profile(context.model, context.batch)
    return {"gates": profile} if profile else None


def measure_trajectory(context: ProbeContext) -> dict[str, Any] | None:
    return state_trajectory(context.model, context.batch) or None


def measure_jacobian(context: ProbeContext) -> dict[str, Any] | None:
    if not context.run.jacobian_batch:
        return None
    batch = first_sequences(context.data.valid, context.run.jacobian_batch).to(context.device)
    return jacobian_spectrum(context.model, batch) or None


QUANTILES = 21  # the eigenvalue moduli are kept as their 0%, 5%, ..., 100% quantiles


def measure_eigenvalues(context: ProbeContext) -> dict[str, Any] | None:
    """The moduli |lambda| of an encoder's eigenvalues (`eigenvalues()`: LRU, S4D), as quantiles."""
    method = getattr(context.model.encoder, "eigenvalues", None)
    values = method() if callable(method) else None
    if values is None:
        return None
    modulus = values.detach().abs().flatten().double().cpu()
    levels = torch.linspace(0, 1, QUANTILES, dtype=torch.float64)
    return {"count": len(modulus), "modulus": torch.quantile(modulus, levels).tolist()}


@hookimpl
def rnnbench_register_probes() -> list[Probe]:
    return [
        Probe(
            "gradients",
            "‖dL/dh_t‖ and ‖dL/dx_t‖ at every step back from the last token; decay per step",
            key="gradients",
            when=("init", "during"),
            measure=measure_gradients,
            draw=figures.gradient_figure,
            check=fields(norms=mapping_of(numbers), summary=mapping_of(mapping_of(optional(number)))),
            columns=gradient_columns,
        ),
        Probe(
            "gates",
            "each gate's mean and spread at every step (encoders with gates())",
            key="gates",
            when=("init", "end"),
            measure=measure_gates,
            draw=figures.gates_figure,
            check=fields(gates=mapping_of(fields(mean=numbers, std=numbers))),
        ),
        Probe(
            "trajectory",
            "a few sequences' states, step by step, on two principal components",
            key="trajectory",
            when=("init", "end"),
            measure=measure_trajectory,
            draw=figures.trajectory_figure,
            check=fields(points=list_of(list_of(numbers)), explained=numbers),
        ),
        Probe(
            "eigenvalues",
            "the moduli |lambda| of the recurrence's eigenvalues (encoders with eigenvalues(): LRU, S4D)",
            key="eigenvalues",
            when=("init", "end"),
            measure=measure_eigenvalues,
            draw=figures.eigenvalue_figure,
            check=fields(count=integer, modulus=numbers),
        ),
        Probe(
            "jacobian",
            "largest singular value of each step's Jacobian and the norm of their product (jacobian_batch > 0)",
            key="jacobian",
            when=("init", "end"),
            measure=measure_jacobian,
            draw=figures.jacobian_figure,
            check=fields(sigma_max=numbers, product=numbers),
        ),
    ]
