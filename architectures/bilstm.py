"""Built-in architecture plugin `bilstm`."""

from architectures.recurrent import recurrent_architecture
from bench import Architecture, hookimpl


@hookimpl
def rnnbench_register_architectures() -> list[Architecture]:
    return [
        recurrent_architecture(
            "bilstm",
            "lstm",
            "Bidirectional LSTM; each direction reads every sequence within its own length.",
            bidirectional=True,
        )
    ]
