"""The dedupe contract on the in-memory store (backtests, unit tests)."""

from __future__ import annotations

import pytest

from newsalert.dedupe import DedupeConfig, DedupeStore, MemoryDedupe
from tests.unit.dedupe.contract_cases import Backend, DedupeContract


class MemoryBackend:
    """Every store of one test shares state by being the same instance."""

    def new(self, config: DedupeConfig | None = None) -> DedupeStore:
        return MemoryDedupe(config)

    def peer(self, store: DedupeStore) -> DedupeStore:
        return store


class TestMemoryDedupe(DedupeContract):
    @pytest.fixture
    def backend(self) -> Backend:
        return MemoryBackend()
