"""What every command receives: the settings and, on first use, the opened store."""

from __future__ import annotations

from chaperone.registry.service import RegistryView, current
from chaperone.settings import Settings
from chaperone.store.db import Store, open_store


class AppContext:
    """Settings built once at start-up, and the store opened lazily."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: Store | None = None

    def store(self) -> Store:
        """The store, opened and migrated on first use."""
        if self._store is None:
            self._store = open_store(self.settings)
        return self._store

    def registry(self) -> RegistryView | None:
        """The registry in force, if one was imported."""
        with self.store().transaction() as session:
            return current(session)

    def region(self) -> str:
        """Default phone region: the registry's, else the settings'."""
        view = self.registry()
        return view.registry.district.default_region if view else self.settings.default_region
