"""Test settings. Hypothesis runs with a fresh random seed each run (CI included), printed in
the report's header, so every run tries new cases and a red run reproduces with
``pytest --hypothesis-seed=N``; under CI the number of examples of tests that set none is
bounded, nothing is kept between runs, and a failure prints its reproduction blob. Bugs found
this way stay as ``@example`` rows on their tests. Also the servers the suite shares, each
started once per session on loopback: the S3 servers (see helpers.s3servers), and the
PostgreSQL server every state-store test runs on beside SQLite (a new database per test, see
helpers.pg_cluster)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from helpers.pg_cluster import Cluster
from helpers.s3servers import S3_SERVERS, S3Process, SeaweedFS, moto_server

settings.register_profile("ci", max_examples=200, database=None, print_blob=True,
                          deadline=None)
#: Mutation testing (``make mutation``) runs the tests once per mutant: few examples, no
#: database, no deadline (the runner is niced on a shared machine).
settings.register_profile("mutation", max_examples=20, database=None, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under the mutation profile, the tests whose own ``@settings`` ask for more examples
    run the profile's number too (an explicit setting otherwise wins over the profile)."""
    if config.getoption("hypothesis_profile", None) != "mutation":
        return
    cap = settings.get_profile("mutation").max_examples
    for item in items:
        test = getattr(item, "obj", None)
        own = getattr(test, "_hypothesis_internal_use_settings", None)
        if own is not None and own.max_examples > cap:
            test._hypothesis_internal_use_settings = settings(own, max_examples=cap)


@pytest.hookimpl(tryfirst=True)  # before hypothesis's plugin reads the option
def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("hypothesis_seed", None) is None:
        config.option.hypothesis_seed = secrets.randbelow(2**32)


def _seed_line(config: pytest.Config) -> str:
    seed = config.getoption("hypothesis_seed")
    return f"hypothesis seed: {seed} (reproduce with --hypothesis-seed={seed})"


def pytest_report_header(config: pytest.Config) -> str:
    return _seed_line(config)


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    terminalreporter.write_line(_seed_line(config))  # shown under -q too


@pytest.fixture(scope="session")
def moto() -> Iterator[S3Process]:
    with moto_server() as server:
        yield server


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """One SeaweedFS for the session (it takes seconds to start). A test that stops it
    (SIGSTOP) leaves it answering again."""
    with SeaweedFS(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture(params=S3_SERVERS)
def s3_server(request: pytest.FixtureRequest) -> S3Process | SeaweedFS:
    """Each shared S3 server in turn."""
    return request.getfixturevalue(request.param)


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
