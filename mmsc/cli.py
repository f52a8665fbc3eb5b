"""The ``mmsc`` command line.

    mmsc decode [--json] [--data | --extract DIR] [--push] FILE|-
    mmsc encode FILE.json [-o OUT] [--push] [--strict]
    mmsc smsc [--host H] [--port P] [--account ID:PASSWORD ...] [--receipts STYLE]
              [--spread-receipts] [--undeliverable NUMBER ...] [--fail] [--throttle MPS]
              [--slow SECONDS]
    mmsc serve [--config FILE] [--host H] [--port P] [--no-demo]
    mmsc send --url URL --to NUMBER [--user U --password P] [--from S] [--text T] [--file F]
    mmsc adapt --profile NAME|FILE INPUT... -o DIR
    mmsc optout list [--vasp ID] [--csv] | add VASP NUMBER | remove VASP NUMBER [--config FILE]

A malformed input gives one line on stderr with the byte offset and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from collections.abc import Awaitable, Callable
from typing import Any, Sequence

from wap_push.push import PushPdu, decode_push, encode_push
from wap_push.sms import WAP_PUSH_PORT, split_user_data_header
from wap_push.smsc import RECEIPT_STYLES, ReceivedSms, SmscEmulator
from wap_push.wsp import ContentType, WspDecodeError, WspEncodeError

from .emulator.handsets import describe_sms
from .pdu import decode, encode, problems
from .pdu.jsonform import from_json, to_json

EXIT_BAD_INPUT = 2


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (CliError, WspDecodeError, WspEncodeError, OSError) as exc:
        print(f"mmsc {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # pragma: no cover - output piped to a closed reader
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mmsc", description="MMSC emulator and MMS tools")
    commands = parser.add_subparsers(dest="command", required=True)

    dec = commands.add_parser("decode", help="decode a binary MMS PDU (or a WAP push)")
    dec.add_argument("file", help="PDU file, or - for standard input")
    dec.add_argument("--json", action="store_true", help="print one JSON object")
    dec.add_argument("--push", action="store_true",
                     help="the input is a WSP push PDU, or SMS user data with its UDH")
    data = dec.add_mutually_exclusive_group()
    data.add_argument("--data", action="store_true", help="include part data as base64")
    data.add_argument("--extract", metavar="DIR", type=Path,
                      help="write part data to DIR and name the files in the JSON")
    dec.set_defaults(run=_decode_command)

    enc = commands.add_parser("encode", help="encode the JSON form back to a binary PDU")
    enc.add_argument("file", help="JSON file (as printed by decode --json), or - for stdin")
    enc.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")
    enc.add_argument("--push", action="store_true", help="wrap the PDU in a WSP push PDU")
    enc.add_argument("--strict", action="store_true",
                     help="refuse a PDU that lacks mandatory fields")
    enc.set_defaults(run=_encode_command)

    smsc = commands.add_parser("smsc", help="run the SMSC emulator alone and print each SMS")
    smsc.add_argument("--host", default="127.0.0.1", help="address to listen on")
    smsc.add_argument("--port", type=int, default=2775, help="SMPP port (default 2775)")
    smsc.add_argument("--account", action="append", metavar="ID:PASSWORD",
                      help="accepted system_id and password (repeatable; default: any)")
    smsc.add_argument("--receipts", choices=RECEIPT_STYLES, default="standard",
                      help="receipt form: Appendix B text with TLVs (standard), TLVs only, "
                           "or a bare 'id: stat:' text (minimal)")
    smsc.add_argument("--spread-receipts", action="store_true",
                      help="send a receipt to another bind of the account when there is one")
    smsc.add_argument("--undeliverable", action="append", default=[], metavar="NUMBER",
                      help="a number whose SMS are receipted UNDELIV (repeatable)")
    smsc.add_argument("--fail", action="store_true",
                      help="start down: refuse every bind (ESME_RBINDFAIL); SIGUSR1 toggles it")
    smsc.add_argument("--throttle", type=float, metavar="MPS",
                      help="answer ESME_RTHROTTLED above MPS submits a second (0: to every one)")
    smsc.add_argument("--slow", type=float, default=0.0, metavar="SECONDS",
                      help="wait SECONDS before each submit_sm_resp")
    smsc.set_defaults(run=_smsc_command)

    serve = commands.add_parser(
        "serve", help="run the MMSC (MM1 over HTTP, relay, SMSC emulator and emulated handsets)",
        description="Run the MMSC. Settings come from the TOML file (--config, else ./mmsc.toml "
        "when present, else built-in defaults), then MMSC_<SECTION>_<KEY> variables, then "
        "these flags.")
    serve.add_argument("--config", type=Path, help="TOML configuration file")
    serve.add_argument("--host", help="HTTP address to listen on ([http] host)")
    serve.add_argument("--port", type=int, help="HTTP port ([http] port)")
    serve.add_argument("--no-demo", dest="demo", action="store_false",
                       help="do not send the demo messages between emulated handsets at start")
    serve.set_defaults(run=_serve_command)

    cdr = commands.add_parser(
        "cdr", help="export the call detail records of a period from the state store (CSV)",
        description="Every CDR of the UTC days FROM to TO (both included), as the daily files "
        "hold them, made again from the state store: header line, then one line per "
        "recipient that reached a final state.")
    cdr.add_argument("--from", dest="start", required=True, type=_date, help="YYYY-MM-DD")
    cdr.add_argument("--to", dest="end", required=True, type=_date, help="YYYY-MM-DD")
    cdr.add_argument("--config", type=Path, help="TOML configuration file (its [state] url)")
    cdr.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    cdr.set_defaults(run=_cdr_command)

    optout = commands.add_parser(
        "optout", help="read or edit the numbers opted out of VASPs' advertising",
        description="The opt-out list in the state store of the configuration (what STOP to "
        "a VASP's short code records); a change holds at once for a running mmsc.")
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--config", type=Path, help="TOML configuration file (its [state] url)")
    actions = optout.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="the opt-outs, one a line (or CSV)",
                                 parents=[where])
    listing.add_argument("--vasp", help="of this VASP only")
    listing.add_argument("--csv", action="store_true", help="CSV as the operator API exports")
    for name, what in (("add", "opt NUMBER out of VASP's advertising"),
                       ("remove", "opt NUMBER back in")):
        action = actions.add_parser(name, help=what, parents=[where])
        action.add_argument("vasp")
        action.add_argument("number", help="international, +33600000001")
    optout.set_defaults(run=_optout_command)

    send = commands.add_parser("send", help="send an MMS over MM7 as a VASP would (SubmitReq)")
    send.add_argument("--url", required=True, help="the MMSC's MM7 URL")
    send.add_argument("--user", help="VASP id (HTTP Basic user name)")
    send.add_argument("--password", help="HTTP Basic password")
    send.add_argument("--to", action="append", required=True, help="recipient (repeatable)")
    send.add_argument("--from", dest="sender", help="sender: short code, number or address")
    send.add_argument("--subject")
    send.add_argument("--text", help="a text part")
    send.add_argument("--file", action="append", type=Path, default=[],
                      help="a media part (repeatable; type from the file name)")
    send.add_argument("--smil", type=Path, help="SMIL presentation (default: made from the parts)")
    send.add_argument("--delivery-report", action="store_true", help="ask for a delivery report")
    send.add_argument("--mm7-version", default="6.8.0", choices=["5.3.0", "6.8.0"],
                      help="MM7Version and its namespace (REL-5-MM7-1-3 or REL-6-MM7-1-4)")
    send.add_argument("--listen", type=int, metavar="PORT",
                      help="also receive the DeliveryReportReq on this port and print it")
    send.add_argument("--wait", type=float, default=120.0,
                      help="seconds to wait for the report with --listen")
    send.set_defaults(run=_send_command)

    adapt = commands.add_parser(
        "adapt", help="preview what a class of phone gets: adapt files as one message's parts")
    adapt.add_argument("--profile", required=True,
                       help="a profile name from fixtures/uaprof/ or a UAProf RDF file")
    adapt.add_argument("inputs", nargs="+", type=Path, help="the parts (type from file name)")
    adapt.add_argument("-o", "--output", type=Path, required=True, help="folder for the results")
    adapt.set_defaults(run=_adapt_command)
    return parser


def _read(name: str) -> bytes:
    return sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()


# -- decode ----------------------------------------------------------------------------------


def _unwrap_push(data: bytes) -> tuple[PushPdu, dict[str, Any] | None]:
    """Strip a UDH when the input is SMS user data, then decode the push PDU."""
    udh_json = None
    split = split_user_data_header(data)
    if split is not None and split[0].ports is not None:  # SMS user data, not a bare push
        udh, payload = split
        concat = udh.concatenation
        if concat is not None and concat[1] > 1:
            raise CliError(f"SMS segment {concat[2]} of {concat[1]} (reference {concat[0]}): "
                           "reassemble the segments' payloads first")
        destination, source = split[0].ports
        udh_json = {"ports": {"destination": destination, "source": source}}
        data = payload
    return decode_push(data), udh_json


def _push_json(push: PushPdu, udh: dict[str, Any] | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"transaction_id": push.transaction_id, "pdu_type": push.pdu_type,
                           "content_type": str(push.content_type),
                           "headers": {n: v if isinstance(v, (int, str)) else repr(v)
                                       for n, v in push.headers},
                           "size": len(push.data)}
    if udh:
        doc["udh"] = udh
    return doc


def _decode_command(args: argparse.Namespace) -> int:
    data = _read(args.file)
    push_doc = None
    if args.push:
        push, udh = _unwrap_push(data)
        push_doc = _push_json(push, udh)
        if not push.is_mms:
            raise CliError(f"the push carries {push.content_type.media_type}, not an MMS PDU")
        data = bytes(push.data)
    pdu = decode(data)
    doc = to_json(pdu, include_data=args.data)
    if args.extract:
        _extract(doc, pdu, args.extract)
    if push_doc is not None:
        doc = {"push": push_doc, **doc}
    _emit(json.dumps(doc, ensure_ascii=False, indent=2) if args.json else render(doc, len(data)))
    return 0


def _emit(text: str) -> None:
    """Write UTF-8 text. Octets that were not valid UTF-8 in the PDU (kept as surrogate
    escapes) come out as \\udcXX escapes: valid JSON that ``encode`` turns back into them."""
    sys.stdout.buffer.write((text + "\n").encode("utf-8", "backslashreplace"))
    sys.stdout.flush()


def _extract(doc: dict[str, Any], pdu: Any, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index, (part_doc, part) in enumerate(zip(doc.get("parts", []), pdu.parts or [])):
        path = folder / f"part-{index}"
        path.write_bytes(part.data)
        part_doc["file"] = str(path.resolve())
    if pdu.body is not None:
        path = folder / "body"
        path.write_bytes(pdu.body)
        doc["body"]["file"] = str(path.resolve())


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"text", "charset"}:
        return f"{value['text']}  [{value['charset']}]"
    if isinstance(value, dict) and "media_type" in value:
        return str(ContentType(value["media_type"], value.get("params") or {}))
    return json.dumps(value, ensure_ascii=False)


def render(doc: dict[str, Any], size: int) -> str:
    """The readable view of a decoded PDU's JSON form."""
    lines = []
    if "push" in doc:
        push = doc["push"]
        lines.append(f"WSP push (TID {push['transaction_id']}, {push['content_type']}, "
                     f"{push['size']} octets)")
        lines += [f"  {name}: {value}" for name, value in push["headers"].items()]
    lines.append(f"{doc['message_type']} ({size} octets)")
    for name, value in doc["headers"].items():
        for item in value if isinstance(value, list) else [value]:
            lines.append(f"  {name}: {_show(item)}")
    for index, part in enumerate(doc.get("parts", [])):
        lines.append(f"  part {index}: {_show(part['content_type'])}, {part['size']} octets")
        lines += [f"    {name}: {_show(value)}" for name, value in part["headers"].items()]
    if "body" in doc:
        lines.append(f"  body: {doc['body']['size']} octets")
    lines += [f"  warning: {w}" for w in doc["warnings"]]
    return "\n".join(lines)


# -- encode ----------------------------------------------------------------------------------


def _encode_command(args: argparse.Namespace) -> int:
    text = _read(args.file)
    base = Path.cwd() if args.file == "-" else Path(args.file).resolve().parent
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise CliError(f"not JSON: {exc}") from None
    if isinstance(doc, dict):
        doc.pop("push", None)
    pdu = from_json(doc, lambda name: (base / name).read_bytes())
    missing = problems(pdu)
    for line in missing:
        print(f"mmsc encode: warning: {line}", file=sys.stderr)
    if missing and args.strict:
        raise CliError("refusing an incomplete PDU (--strict)")
    out = encode(pdu)
    if args.push:
        out = encode_push(out)
    if args.output:
        args.output.write_bytes(out)
    else:
        sys.stdout.buffer.write(out)
    return 0


# -- smsc ------------------------------------------------------------------------------------


def _accounts(specs: list[str] | None) -> dict[str, str] | None:
    if not specs:
        return None
    accounts = {}
    for spec in specs:
        system_id, sep, password = spec.partition(":")
        if not sep or not system_id:
            raise CliError(f"--account wants ID:PASSWORD, not {spec!r}")
        accounts[system_id] = password
    return accounts


def _smsc_command(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    emulator = SmscEmulator(_accounts(args.account), receipts=args.receipts,
                            spread_receipts=args.spread_receipts,
                            undeliverable=args.undeliverable, throttle=args.throttle,
                            latency=args.slow)
    emulator.failing = args.fail
    emulator.subscribe(lambda sms: _emit(f"{datetime.now():%H:%M:%S} {describe_sms(sms)}"))

    def toggle() -> None:
        emulator.failing = not emulator.failing
        _emit(f"SMSC emulator {'failing: binds refused' if emulator.failing else 'back up'}")

    async def serve() -> None:
        host, port = await emulator.start(args.host, args.port)
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, toggle)
        _emit(f"SMSC emulator listening on {host}:{port} (SMPP 3.4); Ctrl-C stops it")
        try:
            await asyncio.Event().wait()
        finally:
            await emulator.close()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    return 0


# -- send ------------------------------------------------------------------------------------


def _send_command(args: argparse.Namespace) -> int:
    import aiohttp

    from .mm7.send import ReportListener, SendError, Submission, submit

    submission = Submission(
        url=args.url, to=args.to, user=args.user, password=args.password, sender=args.sender,
        subject=args.subject, text=args.text, files=args.file, smil=args.smil,
        delivery_report=args.delivery_report or args.listen is not None,
        version=args.mm7_version)

    async def run() -> int:
        listener = ReportListener(args.listen) if args.listen is not None else None
        if listener is not None:
            await listener.start()
        try:
            message_id, code, text = await submit(submission)
            _emit(f"MessageID {message_id}: {code} {text}")
            if listener is not None:
                try:
                    _emit(await listener.wait_for(message_id, args.wait))
                except TimeoutError:
                    raise CliError(f"no delivery report within {args.wait:g} s") from None
            return 0
        finally:
            if listener is not None:
                await listener.close()

    try:
        return asyncio.run(run())
    except SendError as exc:
        print(f"mmsc send: {exc}", file=sys.stderr)
        return 1
    except aiohttp.ClientError as exc:
        raise CliError(f"{args.url}: {exc}") from None


# -- adapt -----------------------------------------------------------------------------------


def _adapt_command(args: argparse.Namespace) -> int:
    """The plan retrieval would make for that device class, on files: each result written
    under its new name (the extension of its new type), a SMIL among the inputs rewritten
    to name them, and the report printed."""
    from adaptation.plan import EXTENSIONS, MediaPart, plan
    from adaptation.uaprof import ProfileError, parse_profile

    from .server import PROFILES
    from .smil import SmilError, rewrite_references

    given = Path(args.profile)
    source = given if given.suffix or given.exists() else PROFILES / f"{args.profile}.rdf"
    try:
        profile = parse_profile(Path(source).read_bytes(), Path(source).stem)
    except (OSError, ProfileError) as exc:
        raise CliError(f"{source}: {exc}") from None
    parts = [MediaPart(_media_type(path, EXTENSIONS), path.read_bytes(),
                       content_location=path.name,
                       charset="utf-8" if path.suffix == ".txt" else None)
             for path in args.inputs]
    result = plan(parts, profile)
    args.output.mkdir(parents=True, exist_ok=True)
    for part in result.parts:
        data = part.data
        if part.content_type == "application/smil" and result.renames:
            try:
                data = rewrite_references(data, result.renames, parts=parts,
                                          kinds=result.kinds)
            except SmilError as exc:
                _emit(f"{part.content_location}: not rewritten ({exc})")
        name = Path(part.content_location or "part").name
        (args.output / name).write_bytes(data)
        _emit(f"{name}: {part.content_type}, {len(data)} octets")
    _emit(f"{profile.name}: {result.size} of {profile.max_message_size} octets")
    for line in result.report or ["nothing had to change"]:
        _emit(f"  {line}")
    return 0


def _media_type(path: Path, extensions: dict[str, str]) -> str:
    """A file's media type from its extension: MMS's own names first (``.3gp`` is video,
    ``.smil`` is application/smil), then the system's table."""
    import mimetypes

    ours = {ext: media for media, ext in extensions.items()} | {".smil": "application/smil",
                                                                ".smi": "application/smil"}
    suffix = path.suffix.lower()
    return ours.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


# -- cdr -------------------------------------------------------------------------------------


def _date(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _on_state_store(args: argparse.Namespace, work: Callable[[Any], Awaitable[str]],
                    errors: tuple[type[Exception], ...] = ()) -> str:
    """``work(state)`` on the state store of the configuration (``--config``), opened for
    this command alone: what ``mmsc cdr`` and ``mmsc optout`` do without a running mmsc. A
    configuration, a store or one of ``errors`` that fails is one line (CliError)."""
    from .config import ConfigError, load
    from .state import StateError
    from .state.location import open_store

    try:
        config = load(args.config)
        kind, target = config.state_location
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    if kind == "sqlite" and not Path(target).exists():
        raise CliError(f"{target}: no state store there")

    async def run() -> str:
        state = await open_store(config.state.url, pool_size=1,
                                 connect_timeout=config.state.connect_timeout)
        try:
            return await work(state)
        finally:
            await state.close()

    try:
        return asyncio.run(run())
    except (StateError, *errors) as exc:  # a database unreachable, or one it cannot use
        raise CliError(str(exc)) from None


def _cdr_command(args: argparse.Namespace) -> int:
    from .relay.cdr import export

    if args.end < args.start:
        raise CliError("--to is before --from")
    text = _on_state_store(args, lambda state: export(
        state, args.start.timestamp(), (args.end + timedelta(days=1)).timestamp()))
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8", newline="")
    else:
        sys.stdout.write(text)
    return 0


def _optout_command(args: argparse.Namespace) -> int:
    """``mmsc optout``: straight to the state store of the configuration, as ``mmsc cdr``
    (no running mmsc needed; with one, the steps read the list from the same store)."""
    import time

    from .relay.optout import describe, operator_optout, optouts_csv

    async def work(state: Any) -> str:
        if args.action == "list":
            found = await state.list_optouts(args.vasp)
            if args.csv:
                return optouts_csv(found)
            return "".join(" ".join(describe(o).values()) + "\n" for o in found)
        out = args.action == "add"
        changed = await operator_optout(state, args.vasp, args.number, now=time.time(),
                                        out=out)
        return f"{args.number} {'opted out of' if out else 'opted back in to'} " \
            f"{args.vasp}'s advertising{'' if changed else ' (already)'}\n"

    sys.stdout.write(_on_state_store(args, work, (ValueError, LookupError)))
    return 0


# -- serve -----------------------------------------------------------------------------------


def _serve_command(args: argparse.Namespace) -> int:
    from .config import ConfigError, load

    try:
        config = load(args.config)
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    counts = None
    if config.http.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # before prometheus-client is first imported (by .serve): every process, the workers
        # included (they inherit it), then writes its metrics to files that a scrape adds up
        counts = tempfile.mkdtemp(prefix="mmsc-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = counts
    from . import loops
    from .serve import run
    from .state import StateError

    if args.host:
        config.http.host = args.host
    if args.port is not None:
        config.http.port = args.port
    logging.basicConfig(level=config.log.number, format="%(asctime)s %(name)s %(message)s",
                        datefmt="%H:%M:%S")
    try:
        loops.run(run(config, demo=args.demo), config.http.event_loop)
    except KeyboardInterrupt:
        pass
    except StateError as exc:  # at start: a database unreachable, or one it cannot use
        raise CliError(str(exc)) from None
    finally:
        if counts is not None:
            shutil.rmtree(counts, ignore_errors=True)
    return 0
