"""A small generic name -> item registry that remembers which plugin added each item."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from bench.errors import PluginError, unknown_name

T = TypeVar("T")


class Registry(Generic[T]):
    """Items by unique name. ``kind`` names the items in error messages ("architecture")."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, tuple[T, str]] = {}

    def add(self, name: str, item: T, plugin: str) -> None:
        if name in self._items:
            other = self._items[name][1]
            raise PluginError(
                f"two plugins register the {self.kind} '{name}': '{other}' and '{plugin}'. "
                f"Uninstall or rename one of them."
            )
        self._items[name] = (item, plugin)

    def get(self, name: str) -> T:
        if name not in self._items:
            raise unknown_name(self.kind, name, self._items)
        return self._items[name][0]

    def plugin_of(self, name: str) -> str:
        self.get(name)
        return self._items[name][1]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[tuple[str, T, str]]:
        """(name, item, plugin) in name order."""
        for name in self.names():
            item, plugin = self._items[name]
            yield name, item, plugin

    def __len__(self) -> int:
        return len(self._items)
