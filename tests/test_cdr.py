"""CDRs: one line per recipient in a final state, with its outcome, in the day's CSV file;
never twice (a writer that died between the append and the mark, a SIGKILLed server);
``mmsc cdr --from --to`` makes the same lines again from the state store."""

from __future__ import annotations

import asyncio
import csv
import io
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from mmsc.cli import main
from mmsc.config import VaspConfig
from mmsc.relay.cdr import FIELDS, CdrWriter
from mmsc.server import Server
from mmsc.state import (
    Interface, MessageRecord, RecipientRecord, RecipientState, Route, SqliteStateStore,
)
from mmsc.state.location import open_store

from test_loop import A, B, C, D, F, config, running, send_to
from test_mm7 import submit_all
from test_restart import handset_b_and_config, send_mm1, start_server, wait_healthy


def read_cdrs(folder: Path) -> list[dict[str, str]]:
    """Every line of every CDR file of ``folder``, each file checked to start with the header."""
    rows = []
    for path in sorted(folder.glob("cdr-*.csv")):
        text = path.read_bytes().decode("utf-8")
        assert text.startswith(",".join(FIELDS) + "\r\n"), text[:200]
        rows += list(csv.DictReader(io.StringIO(text, newline="")))
    return rows


async def wait_rows(folder: Path, count: int, timeout: float = 30) -> list[dict[str, str]]:
    for _ in range(int(timeout / 0.05)):
        rows = read_cdrs(folder)
        if len(rows) >= count:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"{len(read_cdrs(folder))} CDRs of {count}")


async def wait_final(server: Server, message_id: str, timeout: float = 20) -> None:
    for _ in range(int(timeout / 0.05)):
        if all(r.state.final for r in await server.engine.state.recipients_of(message_id)):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{message_id} not final")


async def test_one_line_per_recipient_with_its_outcome(tmp_path: Path, capsys) -> None:
    cfg = config(tmp_path)
    cfg.vasps = [VaspConfig("acme", "pw", ["36000"])]
    folder = tmp_path / "cdr"
    async with running(cfg) as server:
        a, d = server.handsets.handsets[A], server.handsets.handsets[D]
        sent = {}
        sent[B] = (await a.send(send_to(B), server.handsets.http)).message_id
        sent[D] = (await a.send(send_to(D), server.handsets.http)).message_id
        message = send_to(F)
        message.envelope.expiry = timedelta(seconds=1)
        sent[F] = (await a.send(message, server.handsets.http)).message_id
        message = send_to(C)  # fetches, never confirms: the link SMS, never opened
        message.envelope.expiry = timedelta(seconds=3)
        sent[C] = (await a.send(message, server.handsets.http)).message_id
        (cancelled,) = await submit_all(server.url, ["c-1"])
        assert await server.engine.cancel(cancelled, "acme") == 1
        await d.wait_for(lambda h: h.texts)
        link = d.texts[0].split("View it at ")[1].split()[0]
        async with aiohttp.ClientSession() as http, http.get(link) as page:
            assert page.status == 200
        for message_id in [*sent.values(), cancelled]:
            await wait_final(server, message_id)
        rows = await wait_rows(folder, 5)
        await asyncio.sleep(0.3)  # room for a line written twice to show up
        rows = read_cdrs(folder)
        events = await server.engine.state.events_of(sent[B])

    assert len(rows) == 5
    by_message = {row["message_id"]: row for row in rows}
    assert {m: by_message[m]["outcome"] for m in [*sent.values(), cancelled]} == {
        sent[B]: "acknowledged", sent[D]: "fallback-viewed", sent[F]: "expired",
        sent[C]: "fallback-expired", cancelled: "cancelled"}
    row = by_message[sent[B]]
    assert (row["originator"], row["recipient"], row["interface_in"], row["route"],
            row["vasp_id"], row["attempts"]) == (f"{A}/TYPE=PLMN", f"{B}/TYPE=PLMN", "mm1",
                                                 "mms", "", "1")
    notified = next(e.at for e in events if e.kind == "notified")
    fetched = next(e.at for e in events if e.kind == "fetched")
    assert row["first_notified"] == datetime.fromtimestamp(notified, UTC).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")
    assert row["delivered_at"].startswith(datetime.fromtimestamp(fetched, UTC).strftime(
        "%Y-%m-%dT%H:%M:%S"))
    assert by_message[cancelled]["interface_in"] == "mm7"
    assert by_message[cancelled]["vasp_id"] == "acme"
    assert by_message[cancelled]["delivered_at"] == ""
    assert by_message[sent[D]]["route"] == "legacy"

    # the same lines again, from the state store
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    toml = tmp_path / "mmsc.toml"
    toml.write_text(f'[state]\nurl = "{cfg.state.url}"\n')
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["cdr", "--from", today, "--to", today,
                                          "--config", str(toml)]) == 0
    exported = list(csv.DictReader(io.StringIO(capsys.readouterr().out, newline="")))
    assert sorted(map(str, exported)) == sorted(map(str, rows))
    assert await asyncio.to_thread(main, ["cdr", "--from", "2001-01-01", "--to", "2001-01-02",
                                          "--config", str(toml)]) == 0
    assert capsys.readouterr().out == ",".join(FIELDS) + "\r\n"
    assert await asyncio.to_thread(main, ["cdr", "--from", today, "--to", "2001-01-01",
                                          "--config", str(toml)]) == 2


async def test_a_writer_that_died_after_the_append_is_not_repeated(tmp_path: Path) -> None:
    """A node appended its lines and died before marking them written: once its claim lapses
    another writer takes the rows again, finds them in the file and adds nothing."""
    state = await SqliteStateStore.open(tmp_path / "mmsc.db")
    try:
        cfg = config(tmp_path)
        cfg.cdr.path = ""  # no writer of its own: this test writes
        async with running(cfg) as server:
            a = server.handsets.handsets[A]
            ids = [(await a.send(send_to(B), server.handsets.http)).message_id for _ in range(3)]
            for message_id in ids:
                await wait_final(server, message_id)
        now = time.time()
        folder = tmp_path / "test-cdr"
        first = CdrWriter(state, folder, owner="n1", lease=60, clock=lambda: now)

        async def crash(*args: object, **kwargs: object) -> None:
            raise OSError("killed")

        first.state = type("Dying", (), {**{k: getattr(state, k) for k in
                                            ("claim_cdrs", "get_messages", "events_of",
                                             "get_recipient")},
                                         "cdrs_written": crash})()
        try:
            await first.write_due()
        except OSError:
            pass
        assert len(read_cdrs(folder)) == 3
        assert await CdrWriter(state, folder, owner="n2", clock=lambda: now + 1).write_due() == 0
        later = CdrWriter(state, folder, owner="n2", clock=lambda: now + 61)
        assert await later.write_due() == 3  # taken again ...
        assert len(read_cdrs(folder)) == 3  # ... and not written twice
        assert await later.write_due() == 0
    finally:
        await state.close()


async def test_sigkill_and_restart_leave_one_line_per_recipient(tmp_path: Path) -> None:
    smsc, url, config_path, b, network = await handset_b_and_config(tmp_path)
    folder = tmp_path / "cdr"
    server = start_server(config_path)
    try:
        await wait_healthy(url, server)
        accepted = await send_mm1(url, B, 30)
        await wait_rows(folder, 1)
        server.send_signal(signal.SIGKILL)  # with CDRs written and others still owed
        server.wait(10)
        assert len(read_cdrs(folder)) < len(accepted), "nothing was left to do after the kill"
        server = start_server(config_path)
        await wait_healthy(url, server)
        await wait_rows(folder, len(accepted), timeout=60)
        await asyncio.sleep(2.5)  # past the lease of the claims the killed process held
        rows = read_cdrs(folder)
        assert sorted(row["message_id"] for row in rows) == sorted(accepted)
        assert {row["outcome"] for row in rows} == {"acknowledged"}
    finally:
        server.kill()
        server.wait(10)
        await network.close()
        await smsc.close()



async def test_cdr_command_reads_the_store_its_config_names(state_url: str, tmp_path: Path,
                                                            capsys) -> None:
    """``mmsc cdr`` exports from the SQLite file or the PostgreSQL database of ``[state]
    url``."""
    at = datetime(2026, 1, 2, 10, tzinfo=UTC).timestamp()
    store = await open_store(state_url)
    try:
        await store.accept_message(
            MessageRecord(id="m1", interface=Interface.MM1, originator="+1", object_key="k",
                          size=10, created_at=at),
            [RecipientRecord(None, "m1", "+2", "to", Route.MMS, RecipientState.ACCEPTED,
                             updated_at=at)])
        [r] = await store.recipients_of("m1")
        await store.transition(r.id, expected=[RecipientState.ACCEPTED],
                               to=RecipientState.ACKNOWLEDGED, now=at + 60)
    finally:
        await store.close()
    toml = tmp_path / "mmsc.toml"
    toml.write_text(f'[state]\nurl = "{state_url}"\n')
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["cdr", "--from", "2026-01-02", "--to", "2026-01-02",
                                          "--config", str(toml)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out, newline="")))
    assert [(row["message_id"], row["recipient"], row["outcome"]) for row in rows] == [
        ("m1", "+2", "acknowledged")]


async def test_cdr_command_names_an_unreachable_database_without_its_password(
        tmp_path: Path, capsys) -> None:
    from helpers.s3servers import free_port
    toml = tmp_path / "mmsc.toml"
    toml.write_text(f'[state]\nurl = "postgresql://mmsc:s3cret@127.0.0.1:{free_port()}/mmsc"\n'
                    'connect_timeout = "0.5s"\n')
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["cdr", "--from", "2026-01-02", "--to", "2026-01-02",
                                          "--config", str(toml)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mmsc cdr: state store postgresql://mmsc@127.0.0.1:")
    assert "unreachable" in err and "s3cret" not in err and len(err.splitlines()) == 1
