"""Configuration: defaults, the TOML file, MMSC_* overrides, and clear errors."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mmsc.config import ConfigError, load


def test_defaults_without_a_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load(environ={})
    assert (config.http.port, config.storage.backend, config.smsc.mode) == (8080, "fs", "emulator")
    assert config.public_url == "http://127.0.0.1:8080"
    assert config.state_location == ("sqlite", "./data/mmsc.db")
    assert (config.state.pool_size, config.state.connect_timeout) == (10, 30.0)
    assert config.subscribers == []


def test_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "mmsc.toml"
    path.write_text("""
[http]
port = 9090
public_url = "http://mmsc.example.net/"
trusted_proxies = ["10.0.0.1"]
[storage]
backend = "s3"
bucket = "mms"
[delivery]
default_expiry = "2d"
renotify_backoff = ["30s", "5m", 3600]
fallback_after = "6h"
max_message_size = "300KB"
[smsc]
mode = "smpp"
data_coding = 0xF5
reconnect_max = "15s"
[[subscriber]]
msisdn = "+33600000001"
[[subscriber]]
msisdn = "+33600000002"
behaviour = "legacy"
""")
    config = load(path, environ={"MMSC_HTTP_PORT": "9191", "MMSC_STORAGE_SECURE": "yes",
                                 "MMSC_DELIVERY_RENOTIFY_BACKOFF": "10s,1m",
                                 "MMSC_SMSC_MAX_MPS": "10", "OTHER": "x"})
    assert config.http.port == 9191 and config.public_url == "http://mmsc.example.net"
    assert config.http.trusted_proxies == ["10.0.0.1"]
    assert config.storage.backend == "s3" and config.storage.secure is True
    assert config.delivery.default_expiry == 172800 and config.delivery.fallback_after == 21600
    assert config.delivery.renotify_backoff == [10, 60]
    assert config.delivery.max_message_size == 300 * 1024
    assert config.smsc.data_coding == 0xF5 and config.smsc.max_mps == 10.0
    assert config.smsc.reconnect_max == 15.0
    assert [(s.msisdn, s.mms, s.behaviour) for s in config.subscribers] == [
        ("+33600000001", True, "auto"), ("+33600000002", False, "legacy")]


@pytest.mark.parametrize("text, error", [
    ("[http]\nport = 'x'", "[http].port"), ("[nope]\na = 1", "unknown section"),
    ("[http]\ncolour = 1", "unknown setting 'colour'"), ("[delivery]\nfallback_after = 'soon'",
                                                         "not a duration"),
    ("[[subscriber]]\nbehaviour = 'auto'", "needs an msisdn"),
    ("[[subscriber]]\nmsisdn = '1'\nbehaviour = 'sleepy'", "sleepy"),
    ("[storage]\nbackend = 'tape'", "tape"), ("not toml [", "mmsc.toml"),
])
def test_errors_name_the_setting(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "mmsc.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=error.replace("[", r"\[").replace("]", r"\]")):
        load(path, environ={})
    with pytest.raises(ConfigError, match="MMSC_HTTP_PORT"):
        load(None, environ={"MMSC_HTTP_PORT": "eighty"})


def test_smsc_addressing_settings(tmp_path: Path) -> None:
    """TON and NPI by the rules (None) unless set, from the file or the environment."""
    path = tmp_path / "mmsc.toml"
    path.write_text("[smsc]\ndest_ton = 0\nsource_npi = 'auto'\n")
    assert load(path, environ={}).smsc.addressing() == {
        "source_ton": None, "source_npi": None, "dest_ton": 0, "dest_npi": None}
    assert load(path, environ={"MMSC_SMSC_DEST_NPI": "9"}).smsc.addressing()["dest_npi"] == 9
    (tmp_path / "empty.toml").write_text("")
    assert load(tmp_path / "empty.toml", environ={}).smsc.addressing() == dict.fromkeys(
        ("source_ton", "source_npi", "dest_ton", "dest_npi"))
    for wrong in ("'international'", "256", "-1"):
        path.write_text(f"[smsc]\ndest_ton = {wrong}\n")
        with pytest.raises(ConfigError, match=r"\[smsc\] dest_ton"):
            load(path, environ={})


def test_every_setting_is_in_the_readme() -> None:
    import dataclasses

    from mmsc import config as module

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for section, cls in module._SECTIONS.items():
        for f in dataclasses.fields(cls):
            assert f"`[{section}] {f.name}` | `MMSC_{section.upper()}_{f.name.upper()}`" in readme
    for f in dataclasses.fields(module.SubscriberConfig):
        assert f"`[[subscriber]] {f.name}`" in readme
    for f in dataclasses.fields(module.VaspConfig):
        assert f"`[[vasp]] {f.name}`" in readme
    for f in dataclasses.fields(module.OperatorConfig):
        assert f"`[[operator]] {f.name}`" in readme


def test_operator_metrics_and_cdr_settings(tmp_path: Path) -> None:
    path = tmp_path / "mmsc.toml"
    path.write_text('[[operator]]\nname = "noc"\npassword = "pw"\n[cdr]\npath = "/var/cdr"\n'
                    '[metrics]\nallow = ["10.0.0.0/8"]\n')
    config = load(path, environ={"MMSC_METRICS_ENABLED": "false"})
    assert [(o.name, o.password) for o in config.operators] == [("noc", "pw")]
    assert (config.cdr.path, config.metrics.allow, config.metrics.enabled) == (
        "/var/cdr", ["10.0.0.0/8"], False)
    for text, error in (('[[operator]]\nname = "noc"', "needs a name and a password"),
                        ('[[operator]]\nname = "a:b"\npassword = "x"', "no colon"),
                        ('[metrics]\nallow = ["localhost"]', "not an address")):
        path.write_text(text)
        with pytest.raises(ConfigError, match=error):
            load(path, environ={})


def test_viewer_settings(tmp_path: Path) -> None:
    path = tmp_path / "mmsc.toml"
    path.write_text('[viewer]\nlink_ttl = "2h"\npin = true\n')
    config = load(path, environ={"MMSC_VIEWER_PIN_ATTEMPTS": "5"})
    assert (config.viewer.link_ttl, config.viewer.pin, config.viewer.pin_attempts) == (
        7200.0, True, 5)
    assert load(None, environ={"MMSC_VIEWER_PIN": "no"}).viewer.pin is False
    with pytest.raises(ConfigError, match="pin_attempts"):
        load(None, environ={"MMSC_VIEWER_PIN_ATTEMPTS": "0"})


def test_state_urls(tmp_path: Path, monkeypatch) -> None:
    """SQLite and PostgreSQL URLs are taken, with the pool and the start-up patience."""
    monkeypatch.chdir(tmp_path)
    env = {"MMSC_STATE_URL": "postgresql://mmsc:pw@db.example.net:5433/mmsc",
           "MMSC_STATE_POOL_SIZE": "4", "MMSC_STATE_CONNECT_TIMEOUT": "2m"}
    config = load(environ=env)
    assert config.state_location == ("postgresql", env["MMSC_STATE_URL"])
    assert (config.state.pool_size, config.state.connect_timeout) == (4, 120.0)
    assert load(environ={"MMSC_STATE_URL": "postgres://h/db"}).state_location[0] == "postgresql"
    assert load(environ={"MMSC_STATE_URL": "sqlite:////var/lib/mmsc.db"}).state_location == (
        "sqlite", "/var/lib/mmsc.db")
    for bad in ("mysql://u:secret@h/db", "postgresql://", "sqlite://x.db"):
        with pytest.raises(ConfigError, match=r"\[state\] url") as refused:
            load(environ={"MMSC_STATE_URL": bad})
        assert "secret" not in str(refused.value)
    with pytest.raises(ConfigError, match="pool_size"):
        load(environ={"MMSC_STATE_POOL_SIZE": "0"})


def test_log_level_is_read_in_any_case_and_checked() -> None:
    assert load(None, {"MMSC_LOG_LEVEL": "WARNING"}).log.number == logging.WARNING
    assert load(None, {}).log.number == logging.INFO
    with pytest.raises(ConfigError, match=r"\[log\] level 'loud'"):
        load(None, {"MMSC_LOG_LEVEL": "loud"})
