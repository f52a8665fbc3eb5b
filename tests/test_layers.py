"""The import rules of ARCHITECTURE.md: the libraries never import the MMSC, codecs do no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CODECS = [*sorted((ROOT / "mmsc" / "pdu").glob("*.py")),
          *(ROOT / "mmsc" / name for name in ("message.py", "mime.py", "mms_body.py", "smil.py",
                                              "xmlsafe.py", "mm7/soap.py", "mm7/status.py")),
          *(ROOT / "wap_push" / name for name in ("wsp.py", "push.py", "sms.py", "smpp.py"))]
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
