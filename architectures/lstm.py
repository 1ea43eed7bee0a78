"""Built-in architecture plugin `lstm`."""

from architectures.recurrent import recurrent_architecture
from bench import Architecture, hookimpl


@hookimpl
def rnnbench_register_architectures() -> list[Architecture]:
    return [
        recurrent_architecture(
            "lstm", "lstm", "Long short-term memory (Hochreiter & Schmidhuber 1997), torch's fused kernel."
        )
    ]
