"""What every command receives: the settings and, on first use, the opened store (which must
exist already: only `chaperone init` and `chaperone demo` create one)."""

from __future__ import annotations

from collections.abc import Callable

from chaperone.registry.service import RegistryView, current
from chaperone.settings import Settings
from chaperone.store.db import Store, create_store, open_store


class AppContext:
    """Settings built once at start-up, and the store opened lazily."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: Store | None = None

    def store(self) -> Store:
        """The store, opened on first use; a missing store or one at another schema revision
        is a one-line error (`StoreNotReady`) and nothing is created."""
        if self._store is None:
            self._store = open_store(self.settings)
        return self._store

    def create_store(self, say: Callable[[str], None] | None = None) -> Store:
        """The store, created when missing and brought to the newest schema (`init`, `demo`)."""
        if self._store is None:
            self._store = create_store(self.settings, say)
        return self._store

    def registry(self) -> RegistryView | None:
        """The registry in force, if one was imported."""
        with self.store().transaction() as session:
            return current(session)

    def region(self) -> str:
        """Default phone region: the registry's, else the settings'."""
        view = self.registry()
        return view.registry.district.default_region if view else self.settings.default_region
