"""docker-compose.yml, checked without Docker: the cluster it describes is one mmsc can run
(every MMSC_* variable names a setting mmsc knows, with a value it takes), its nodes share
one database and one bucket, and the entry point and health checks reach them."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from mmsc import config as settings
from mmsc.config import load

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def nodes(compose: dict) -> dict[str, dict]:
    """The cluster's mmsc nodes: those that run by default (the two-operators profile's
    pair is two separate MMSCs)."""
    return {name: s for name, s in compose["services"].items()
            if "serve" in " ".join(map(str, s.get("command") or [])) and not s.get("profiles")}


def test_every_mmsc_variable_names_a_known_setting(compose: dict, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name, service in compose["services"].items():
        for variable, value in environment(service).items():
            if not variable.startswith("MMSC_"):
                continue
            section, _, key = variable[5:].lower().partition("_")
            assert section in settings._SECTIONS, f"{name}: {variable}"
            known = {f.name for f in dataclasses.fields(settings._SECTIONS[section])}
            assert key in known, f"{name}: {variable} is no setting of [{section}]"
        mmsc = {k: v for k, v in environment(service).items() if k.startswith("MMSC_")}
        load(environ=mmsc)  # and every value is one mmsc takes
    for service in compose["services"].values():
        for volume in service.get("volumes") or []:
            if volume.startswith("./"):
                assert (ROOT / volume.split(":")[0]).is_file(), volume
    load(ROOT / "deploy" / "mmsc.toml", environ={})


def test_two_nodes_share_one_database_and_one_bucket(compose: dict) -> None:
    services = compose["services"]
    found = nodes(compose)
    assert len(found) >= 2
    shared = {"MMSC_STATE_URL", "MMSC_STORAGE_BACKEND", "MMSC_STORAGE_ENDPOINT",
              "MMSC_STORAGE_BUCKET", "MMSC_HTTP_PUBLIC_URL", "MMSC_SMSC_HOST"}
    envs = [environment(s) for s in found.values()]
    assert all({k: e[k] for k in shared} == {k: envs[0][k] for k in shared} for e in envs)
    env = envs[0]
    url = urlsplit(env["MMSC_STATE_URL"])
    assert url.scheme == "postgresql" and env["MMSC_STORAGE_BACKEND"] == "s3"
    db = environment(services[url.hostname])
    assert (db["POSTGRES_USER"], db["POSTGRES_PASSWORD"], db["POSTGRES_DB"]) == (
        url.username, url.password, url.path.lstrip("/"))
    minio = environment(services[env["MMSC_STORAGE_ENDPOINT"].split(":")[0]])
    assert (minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"]) == (
        env["MMSC_STORAGE_ACCESS_KEY"], env["MMSC_STORAGE_SECRET_KEY"])
    assert env["MMSC_SMSC_MODE"] == "smpp" and env["MMSC_SMSC_HOST"] in services
    for name, node in found.items():
        for needed in (url.hostname, env["MMSC_STORAGE_ENDPOINT"].split(":")[0]):
            assert node["depends_on"][needed]["condition"] == "service_healthy", name
        assert "/readyz" in " ".join(node["healthcheck"]["test"]), name
    for name in (url.hostname, env["MMSC_STORAGE_ENDPOINT"].split(":")[0]):
        assert services[name]["healthcheck"]["test"], name


def test_one_entry_point_for_every_node(compose: dict) -> None:
    services = compose["services"]
    entries = [name for name, s in services.items()
               if re.match(r"(nginx|haproxy)(:|$)", str(s.get("image", "")))]
    assert len(entries) == 1
    entry = services[entries[0]]
    assert "/healthz" in " ".join(entry["healthcheck"]["test"])
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    for name in nodes(compose):
        assert re.search(rf"server {name}:8080\b", conf), name
        assert entry["depends_on"][name]["condition"] == "service_healthy"
    address = entry["networks"]["mmsc"]["ipv4_address"]
    for name, node in nodes(compose).items():  # it may name the handset (X-MSISDN)
        assert address in environment(node)["MMSC_HTTP_TRUSTED_PROXIES"].split(","), name
    assert any(p.startswith("8080:") for p in entry["ports"])
