"""`rnnbench new-plugin NAME`: write a skeleton architecture plugin package that installs and
passes `rnnbench check` as it is, for the user to replace the cell with their own."""

from __future__ import annotations

import re
from pathlib import Path

from bench.errors import ConfigError

PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "rnnbench-{name}"
version = "0.1.0"
description = "The {name} recurrent cell as an rnnbench architecture plugin"
requires-python = ">=3.10"
dependencies = ["rnnbench>=0.1,<0.2", "torch>=2.3"]  # the plugin API may change with a 0.x minor release

[project.entry-points.rnnbench]
{name} = "rnnbench_{module}.plugin"

[tool.setuptools]
packages = ["rnnbench_{module}"]
"""

PLUGIN = '''"""The {name} architecture plugin. Replace the cell in `step` with yours; keep the contract:

- ``output_size``: the size of the returned state;
- ``forward(x, lengths)``: ``x`` is ``float[B, T, input_size]``, post-padded; return
  ``float[B, output_size]``, the state after each sequence's own last real step;
- ``unrolled(x, lengths) -> (final, states)``: one ``[B, output_size]`` state per step,
  each the tensor the next step reads (so the gradient probe sees dL/dh_t).

Check it with ``rnnbench check {name}``.
"""

from __future__ import annotations

import torch
from torch import nn

from bench import Architecture, hookimpl


class {cls}(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, scale: float = 1.0) -> None:
        super().__init__()
        self.output_size = hidden_size
        self.state_size = hidden_size  # numbers carried from step to step (for --match state=N)
        self.input_map = nn.Linear(input_size, hidden_size)
        self.recurrent_map = nn.Linear(hidden_size, hidden_size, bias=False)
        with torch.no_grad():
            self.recurrent_map.weight.mul_(scale)

    def step(self, x_t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.input_map(x_t) + self.recurrent_map(h))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.unrolled(x, lengths)[0]

    def sequence(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The state at every position (tasks with an answer at many positions read it)."""
        return torch.stack(self.unrolled(x, lengths)[1], 1)

    def unrolled(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h = x.new_zeros(x.shape[0], self.output_size)
        states = []
        for t in range(x.shape[1]):
            h = self.step(x[:, t], h)
            states.append(h)
        # forward in time: padding comes after length - 1 and cannot change the state there
        final = torch.stack(states, 1)[torch.arange(x.shape[0], device=x.device), lengths.to(x.device) - 1]
        return final, states


@hookimpl
def rnnbench_register_architectures() -> list[Architecture]:
    return [Architecture("{name}", "The {name} cell (describe it in one line).", {cls}, defaults={{"scale": 1.0}})]
'''

README = """# rnnbench-{name}

An rnnbench architecture plugin.

```sh
pip install -e .                 # into the environment where rnnbench is installed
rnnbench list                    # shows {name}
rnnbench check {name}            # the encoder contract
rnnbench run --arch {name} lstm --task adding --set T=50 --seeds 0
```
"""


def write_plugin(name: str, parent: Path) -> Path:
    """Write ``parent/rnnbench-NAME/`` and return it."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ConfigError(f"plugin name {name!r}: use lower-case letters, digits and _ (a Python identifier)")
    root = parent / f"rnnbench-{name}"
    if root.exists():
        raise ConfigError(f"{root} already exists; choose another name or folder (nothing was written)")
    cls = "".join(part.capitalize() for part in name.split("_")) + "Encoder"
    package = root / f"rnnbench_{name}"
    package.mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT.format(name=name, module=name))
    (root / "README.md").write_text(README.format(name=name))
    (package / "__init__.py").write_text(f'"""The {name} rnnbench plugin."""\n')
    (package / "plugin.py").write_text(PLUGIN.format(name=name, cls=cls))
    return root
