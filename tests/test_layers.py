"""The import rules of ARCHITECTURE.md: the libraries never import the MMSC, codecs do no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CODECS = [*sorted((ROOT / "mmsc" / "pdu").glob("*.py")),
          *(ROOT / "mmsc" / name for name in ("message.py", "mime.py", "mms_body.py", "smil.py",
                                              "xmlsafe.py", "mm7/soap.py", "mm7/status.py",
                                              "mm4/codec.py", "mm4/status.py")),
          *(ROOT / "wap_push" / name for name in ("wsp.py", "wsp_tables.py", "push.py", "sms.py",
                                                  "smpp.py"))]
IO_MODULES = {"socket", "asyncio", "aiohttp", "smpplib", "subprocess", "os", "pathlib", "io"}


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", ["wap_push", "adaptation"])
def test_libraries_do_not_import_mmsc(package: str) -> None:
    assert [p.name for p in (ROOT / package).rglob("*.py") if "mmsc" in imports(p)] == []


@pytest.mark.parametrize("path", CODECS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_codecs_do_no_io(path: Path) -> None:
    assert imports(path) & IO_MODULES == set()


def _mmsc_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mmsc."):
            found.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level and node.module:
            found.add(f"{path.parent.name}.{node.module}")
    return found


@pytest.mark.parametrize("package", ["relay", "state", "store", "emulator"])
def test_engine_and_services_do_not_import_interfaces(package: str) -> None:
    """Imports point down (ARCHITECTURE.md): the engine and the services never reach up
    into the interfaces (mm1, mm7, mm4, web viewer) or the composition layer."""
    upward = ("mmsc.mm1", "mmsc.mm7", "mmsc.mm4", "mmsc.server", "mmsc.serve", "mmsc.cli",
              "mmsc.config", "web_viewer")
    for path in (ROOT / "mmsc" / package).glob("*.py"):
        bad = {m for m in _mmsc_imports(path) | imports(path) if m.startswith(upward)}
        assert bad == set(), f"{path.name} imports {bad}"


def test_the_viewer_reads_through_the_engine() -> None:
    """ARCHITECTURE.md: the web viewer never writes state itself (its PIN attempts go through
    ``mmsc.relay.links``): it imports neither the state store nor the object store."""
    for path in (ROOT / "web_viewer").glob("*.py"):
        bad = {m for m in _mmsc_imports(path) if m.startswith(("mmsc.state", "mmsc.store"))}
        assert bad == set(), f"{path.name} imports {bad}"
