"""Test settings: under CI, hypothesis runs derandomized, so a red run reproduces. The state
store's backends: every state-store test runs on SQLite and on a real PostgreSQL server (one
throw-away cluster for the whole run, a new database per test)."""

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).resolve().parent / "helpers"))
from pg_cluster import Cluster  # noqa: E402

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

#: The backends every state-store test runs on.
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """One throw-away PostgreSQL server for the whole run (tests take a database each)."""
    cluster = Cluster().start()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(params=BACKENDS)
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A ``[state] url`` of a new, empty store: an SQLite file, or a new database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'mmsc.db'}"
    return request.getfixturevalue("postgres").new_database()
