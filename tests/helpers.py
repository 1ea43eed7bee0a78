"""Settings shared by the tests that run real cells: a few steps of a tiny model on little
data, one thread each, so that a cell takes well under a second."""

TINY_RUN = [
    "threads=1",
    "max_steps=4",
    "eval_every=2",
    "train_size=64",
    "valid_size=32",
    "test_size=32",
    "hidden_size=8",
]
TINY = [*TINY_RUN, "T=6"]  # for tasks run at a fixed sequence length


def untimed(value):
    """A record's part without wall-clock times, which differ from run to run."""
    if isinstance(value, list):
        return [untimed(item) for item in value]
    if isinstance(value, dict):
        return {k: untimed(v) for k, v in value.items() if not k.endswith("seconds")}
    return value
