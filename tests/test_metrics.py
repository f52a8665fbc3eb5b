"""``GET /metrics``: after a full MM1 loop and an MM7 submit, every counter moved by exactly
what happened; only ``[metrics] allow`` may scrape; several processes add up."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mmsc import metrics
from mmsc.config import VaspConfig
from mmsc.server import Server
from mmsc.state import Interface

from test_loop import A, B, config, running, send_to
from test_mm7 import VaspEndpoint, submit_all
from test_restart import emulator_and_config, wait_healthy
from test_workers import nodes_answering

Samples = Counter[tuple[str, frozenset[tuple[str, str]]]]


async def scrape(url: str, *, new_connection: bool = False) -> tuple[Samples, set[str]]:
    """Every sample of ``/metrics`` parsed by prometheus-client's own parser, and the names
    and types of the families (``name:type``)."""
    connector = aiohttp.TCPConnector(force_close=new_connection)
    async with aiohttp.ClientSession(connector=connector) as http:
        async with http.get(f"{url}/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=")
            text = await response.text()
    samples: Samples = Counter()
    families = set()
    for family in text_string_to_metric_families(text):
        families.add(f"{family.name}:{family.type}")
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] += sample.value
    return samples, families


def delta(before: Samples, after: Samples, name: str) -> dict[frozenset, float]:
    """The samples of ``name`` that changed, by label set."""
    moved = {labels: after[n, labels] - before[n, labels]
             for n, labels in after.keys() | before.keys() if n == name}
    return {labels: value for labels, value in moved.items() if value}


def labels(**values: str) -> frozenset[tuple[str, str]]:
    return frozenset(values.items())


async def wait_final(server: Server, message_id: str, count: int) -> None:
    for _ in range(400):
        states = [r.state for r in await server.engine.state.recipients_of(message_id)]
        if len(states) == count and all(s.final for s in states):
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"{message_id}: {states}")


async def test_counters_move_by_what_happened(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    cfg.delivery.renotify_backoff = [60.0]  # no re-notification may blur the counts
    vasp = VaspEndpoint()
    await vasp.__aenter__()
    cfg.vasps = [VaspConfig("acme", "pw", ["36000"], report_url=vasp.url)]
    async with running(cfg) as server:
        a, b = server.handsets.handsets[A], server.handsets.handsets[B]
        before, _ = await scrape(server.url)

        conf = await a.send(send_to(B), server.handsets.http)  # with a delivery report
        (mm7_id,) = await submit_all(server.url, ["m-1"])
        await b.wait_for(lambda h: len(h.inbox) == 2)
        await a.wait_for(lambda h: len(h.reports) == 1)
        for message_id in (conf.message_id, mm7_id):
            await wait_final(server, message_id, 1)
        await vasp.wait_for_reports([mm7_id])  # the DeliveryReportReq the SubmitReq asked for
        for _ in range(100):  # ... and its outcome written
            if "report-sent" in [e.kind for e in await server.engine.state.events_of(mm7_id)]:
                break
            await asyncio.sleep(0.02)
        after, families = await scrape(server.url)
        # "notified" is reached only when the push's answer came before the handset's
        # fetch (else the fetch moved the recipient on first): the events tell which
        notified = 0
        for message_id in (conf.message_id, mm7_id):
            kinds = [e.kind for e in await server.engine.state.events_of(message_id)]
            notified += kinds.index("notified") < kinds.index("fetched")
    await vasp.__aexit__()

    assert {"mmsc_messages_accepted:counter", "mmsc_recipient_transitions:counter",
            "mmsc_http_request_duration_seconds:histogram", "mmsc_timers_due:gauge",
            "mmsc_state_store_errors:counter", "mmsc_object_store_errors:counter",
            "mmsc_adaptation_duration_seconds:histogram"} <= families
    assert delta(before, after, "mmsc_messages_accepted_total") == {
        labels(interface="mm1"): 1, labels(interface="mm7"): 1}
    transitions = {labels(to="accepted"): 2, labels(to="retrieved"): 2,
                   labels(to="acknowledged"): 2}
    if notified:
        transitions[labels(to="notified")] = notified
    assert delta(before, after, "mmsc_recipient_transitions_total") == transitions
    # two notifications and the M-Delivery.ind to A, all WAP pushes; nothing failed
    assert delta(before, after, "mmsc_sms_sent_total") == {labels(kind="push"): 3}
    assert delta(before, after, "mmsc_sms_failed_total") == {}
    assert delta(before, after, "mmsc_mm7_requests_total") == {
        labels(operation="SubmitReq", status="1000"): 1}
    assert delta(before, after, "mmsc_reports_total") == {
        labels(protocol="mm1", outcome="sent"): 1, labels(protocol="mm7", outcome="sent"): 1}
    # A's m-send-req and B's two m-notifyresp-ind; B's two fetches; the SubmitReq; the
    # first scrape (timed as it ends, so after its own answer was written)
    assert delta(before, after, "mmsc_http_request_duration_seconds_count") == {
        labels(route="/mms"): 3, labels(route="/m/{token}"): 2, labels(route="/mm7"): 1,
        labels(route="/metrics"): 1}
    assert delta(before, after, "mmsc_state_store_errors_total") == {}
    assert delta(before, after, "mmsc_object_store_errors_total") == {}
    assert after["mmsc_timers_due", frozenset()] == 0


async def test_failures_and_work_waiting_are_counted(tmp_path: Path) -> None:
    """An SMSC that refuses every submit: mmsc_sms_failed_total by SMPP status. A recipient
    whose timer is due while no scheduler runs: mmsc_timers_due says so."""
    cfg = config(tmp_path)
    cfg.delivery.renotify_backoff = [60.0]
    async with running(cfg) as server:
        before, _ = await scrape(server.url)
        server.smsc.reject_rate = 1.0
        done = await server.engine.submit(send_to(B), Interface.MM1)
        for _ in range(400):
            kinds = [e.kind for e in await server.engine.state.events_of(done.message_id)]
            if "notify-failed" in kinds:
                break
            await asyncio.sleep(0.025)
        after, _ = await scrape(server.url)
        assert delta(before, after, "mmsc_sms_failed_total") == {
            labels(status="ESME_RSUBMITFAIL"): 1}
        assert delta(before, after, "mmsc_sms_sent_total") == {}
        assert after["mmsc_timers_due", frozenset()] == 0  # its next try is in a minute

        server._scheduler.cancel()  # nothing claims the next one: it waits
        await server.engine.submit(send_to(A), Interface.MM1)
        waiting, _ = await scrape(server.url)
        assert waiting["mmsc_timers_due", frozenset()] == 1


async def test_only_allowed_addresses_scrape(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    cfg.metrics.allow = ["192.0.2.0/24"]
    async with running(cfg) as server, aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/metrics") as response:
            assert response.status == 403
            assert "mmsc_" not in await response.text()
        async with http.get(f"{server.url}/healthz") as response:
            assert response.status == 200


async def test_metrics_can_be_turned_off(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    cfg.metrics.enabled = False
    try:
        async with running(cfg) as server, aiohttp.ClientSession() as http:
            async with http.get(f"{server.url}/metrics") as response:
                assert response.status == 404
            before = metrics.exposition()
            await server.handsets.handsets[A].send(send_to(B), server.handsets.http)
            assert metrics.exposition() == before  # nothing counted
    finally:
        metrics.enable(True)  # as the next server of this test process would


async def test_the_processes_of_a_node_set_add_up(tmp_path: Path) -> None:
    """``[http] workers = 2``: whichever process answers a scrape, it counts the submits that
    both took."""
    smsc, url, path = await emulator_and_config(tmp_path, """
[[vasp]]
id = "acme"
password = "pw"
""")
    path.write_text(path.read_text().replace("[http]\n", "[http]\nworkers = 2\n"))
    server = subprocess.Popen([sys.executable, "-m", "mmsc", "serve", "--no-demo", "--config",
                               str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={k: v for k, v in os.environ.items()
                                   if k != "PROMETHEUS_MULTIPROC_DIR"})
    try:
        await wait_healthy(url, server)
        await nodes_answering(url, 2, set())
        ids = await submit_all(url, [f"w-{i}" for i in range(12)], new_connections=True)
        for _ in range(6):  # new connections: both processes answer some of these
            samples, _ = await scrape(url, new_connection=True)
            assert samples["mmsc_messages_accepted_total", labels(interface="mm7")] == len(ids)
            assert samples["mmsc_mm7_requests_total",
                           labels(operation="SubmitReq", status="1000")] == len(ids)
    finally:
        server.kill()
        server.wait(10)
        await smsc.close()



def test_the_grafana_dashboard_shows_every_metric() -> None:
    dashboard = json.loads((Path(__file__).resolve().parent.parent / "docs" /
                            "grafana-mmsc.json").read_text())
    queries = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for name in ("mmsc_messages_accepted_total", "mmsc_recipient_transitions_total",
                 "mmsc_sms_sent_total", "mmsc_sms_failed_total", "mmsc_mm7_requests_total",
                 "mmsc_reports_total", "mmsc_http_request_duration_seconds_bucket",
                 "mmsc_adaptation_duration_seconds_bucket", "mmsc_timers_due",
                 "mmsc_state_store_errors_total", "mmsc_object_store_errors_total"):
        assert name in queries, name


async def test_store_failures_are_counted(tmp_path: Path) -> None:
    """A failed object write and each failed state write count once; a missing object is an
    answer, not a failure."""
    from mmsc.store import FilesystemStore, ObjectNotFound, ObjectStoreError

    def count(name: str) -> float:
        text = metrics.exposition().decode()
        return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
                   if s.name == name)

    (tmp_path / "blocked").write_text("a file where the store wants a folder")
    objects = FilesystemStore(tmp_path / "blocked")
    before = count("mmsc_object_store_errors_total")
    try:
        with pytest.raises(ObjectStoreError):
            await objects.put("messages/m1/original.mime", b"x")
        with pytest.raises(ObjectNotFound):
            await FilesystemStore(tmp_path / "objects").get("messages/m1/original.mime")
    finally:
        await objects.close()
    assert count("mmsc_object_store_errors_total") - before == 1

    async with running(config(tmp_path)) as server:
        state = server.engine.state
        before = count("mmsc_state_store_errors_total")
        done = await server.engine.submit(send_to(B), Interface.MM1)
        with pytest.raises(Exception):  # an event of a message that does not exist
            await state.add_event("no-such-message", "x", now=0)
        with pytest.raises(Exception):
            await state.add_event(done.message_id, "x", now=0, recipient_id=10**9)
        assert count("mmsc_state_store_errors_total") - before == 2
