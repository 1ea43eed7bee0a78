"""Built-in architecture plugin `rnn`."""

from architectures.recurrent import recurrent_architecture
from bench import Architecture, hookimpl


@hookimpl
def rnnbench_register_architectures() -> list[Architecture]:
    return [recurrent_architecture("rnn", "rnn", "Elman RNN with tanh, torch's fused kernel.")]
