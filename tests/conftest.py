"""Test settings: under CI, hypothesis runs derandomized, so a red run reproduces. The S3
servers the suite shares, each started once per session on loopback (see helpers.s3servers)."""

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from helpers.s3servers import S3_SERVERS, S3Process, SeaweedFS, moto_server

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

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
