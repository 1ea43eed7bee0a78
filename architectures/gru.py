"""Built-in architecture plugin `gru`."""

from architectures.recurrent import recurrent_architecture
from bench import Architecture, hookimpl


@hookimpl
def rnnbench_register_architectures() -> list[Architecture]:
    return [recurrent_architecture("gru", "gru", "Gated recurrent unit (Cho et al. 2014), torch's fused kernel.")]
