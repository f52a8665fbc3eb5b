"""The import rules of ARCHITECTURE.md: the libraries never import the MMSC, codecs no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {(path.name, alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add((path.name, node.module))
    return found


@pytest.mark.parametrize("package", ["wap_push", "adaptation"])
def test_libraries_do_not_import_mmsc(package: str) -> None:
    assert {(f, m) for f, m in imports(package) if m.split(".")[0] == "mmsc"} == set()


@pytest.mark.parametrize("package", ["mmsc/pdu", "wap_push"])
def test_codecs_do_no_io(package: str) -> None:
    io_modules = {"socket", "asyncio", "aiohttp", "smpplib", "subprocess", "os", "pathlib"}
    assert {(f, m) for f, m in imports(package) if m.split(".")[0] in io_modules} == set()
