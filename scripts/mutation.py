"""Mutation testing with mutmut, one module at a time, each against the narrowest selection of
tests that cover it (``make mutation``; not part of ``make test``: it takes a long while).

For each module this makes a scratch copy of the tree under ``.cache/mutation/<module>/``
with a ``pyproject.toml`` that gives mutmut that module and its tests, runs
``mutmut run --max-children 1`` there (the caller runs this under ``nice -n 19``), and prints
the module's score: killed (a test failed, or the mutant timed out) over the mutants run (all
of them, unless the run was stopped: then it says "partial"), and the names of the survivors
and of the mutants no selected test reaches. ``mutmut show <name>`` in the module's scratch
folder shows one.

    python scripts/mutation.py            # every module
    python scripts/mutation.py sms wsp    # some
    python scripts/mutation.py --results plan   # the verdicts so far (of a run stopped early)

The scores and the list of survivors with the reason each is harmless (or the test that
now kills it) are kept in docs/testing.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".cache" / "mutation"
MUTMUT = Path(sys.executable).with_name("mutmut")
#: The tree the tests need (sources, fixtures); copied, never the .venv or the caches.
TREE = ("mmsc", "wap_push", "adaptation", "web_viewer", "fixtures", "tests", "pyproject.toml")
PYTEST_ARGS = ["-p", "no:cacheprovider", "-x", "-q", "--hypothesis-profile=mutation",
               "--hypothesis-seed=0"]


@dataclass(frozen=True)
class Module:
    """What is mutated (mutmut's ``only_mutate`` globs, and optionally the mutant names to
    run, when only some functions of a file are in scope) and the tests that cover it."""

    files: tuple[str, ...]
    tests: tuple[str, ...]
    names: tuple[str, ...] = ()


MODULES = {
    "pdu": Module(("mmsc/pdu/*",),
                  ("tests/test_pdu.py", "tests/test_known_answers.py", "tests/test_jsonform.py",
                   "tests/test_vectors.py")),
    "wsp": Module(("wap_push/wsp.py",),
                  ("tests/test_wsp.py", "tests/test_known_answers.py", "tests/test_pdu.py",
                   "tests/test_vectors.py")),
    "sms": Module(("wap_push/sms.py",),
                  ("tests/test_sms.py", "tests/test_known_answers.py", "tests/test_push.py")),
    "mm7-soap": Module(("mmsc/mm7/soap.py",),
                       ("tests/test_mm7.py", "tests/test_interop_captures.py")),
    # the recipient state machine: the transition rules of the engine (spread over the modules
    # the Engine class is put together from), not its plumbing
    "state-machine": Module(
        ("mmsc/relay/engine.py", "mmsc/relay/scheduler.py", "mmsc/relay/reports.py",
         "mmsc/relay/requests.py", "mmsc/relay/retrieval.py", "mmsc/relay/delivery.py"),
        ("tests/test_boundaries.py", "tests/test_loop.py", "tests/test_mm1.py",
         "tests/test_mm7.py", "tests/test_viewer.py::test_a_view_is_a_delivery"),
        tuple(f"mmsc.relay.{module}.xǁ{cls}ǁ{name}__mutmut_*" for module, cls, name in (
            ("scheduler", "Scheduler", "_step"), ("reports", "Reports", "_finish"),
            ("requests", "Requests", "notify_response"), ("requests", "Requests", "acknowledge"),
            ("requests", "Requests", "cancel"), ("retrieval", "Retrieval", "fetch"),
            ("delivery", "Delivery", "_send_link"), ("delivery", "Delivery", "viewed"),
            ("engine", "Engine", "expiry"), ("engine", "Engine", "_backoff")))),
    "plan": Module(("adaptation/plan.py",),
                   ("tests/test_boundaries.py",
                    "tests/test_media_adaptation.py::test_a_whole_campaign_message",
                    "tests/test_media_adaptation.py::"
                    "test_a_media_share_under_the_minimum_is_not_tried",
                    "tests/test_media_adaptation.py::"
                    "test_broken_or_mislabelled_parts_become_the_explanatory_text",
                    "tests/test_media_adaptation.py::"
                    "test_a_fault_in_adaptation_costs_the_part_not_the_message",
                    "tests/test_cli.py::test_adapt_previews_a_device_class")),
}


def prepare(name: str, module: Module) -> Path:
    """A fresh scratch tree for ``name``, with mutmut's settings in its pyproject.toml."""
    folder = WORK / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for entry in TREE:
        source = ROOT / entry
        if source.is_dir():
            shutil.copytree(source, folder / entry,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, folder / entry)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    packages = sorted({f.split("/")[0] for f in module.files})
    settings = "\n".join([
        "", "[tool.mutmut]",
        f"source_paths = {packages!r}",
        f"only_mutate = {list(module.files)!r}",
        f"also_copy = {[p for p in ('mmsc', 'wap_push', 'adaptation', 'web_viewer', 'fixtures') if p not in packages]!r}",
        f"pytest_add_cli_args = {PYTEST_ARGS!r}",
        f"pytest_add_cli_args_test_selection = {list(module.tests)!r}",
        "timeout_multiplier = 5.0", "timeout_constant = 10.0", ""])
    assert "mutmut" not in project.get("tool", {})
    with open(folder / "pyproject.toml", "a", encoding="utf-8") as out:
        out.write(settings)
    return folder


def _env(folder: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(folder)}
    # the interop captures the tests look for beside the repository, not beside the copy
    interop = ROOT.parent / "shared" / "interop"
    if "MMSC_INTEROP" not in env and interop.is_dir():
        env["MMSC_INTEROP"] = str(interop)
    return env


def run(name: str, module: Module) -> None:
    """Mutate and test one module in a fresh scratch tree."""
    folder = prepare(name, module)
    subprocess.run([str(MUTMUT), "run", "--max-children", "1", *module.names], cwd=folder,
                   env=_env(folder), check=False)


@dataclass(frozen=True)
class Tally:
    """A module's verdicts: mutants killed (a test failed, or timed out), run (all but those
    mutmut has not reached yet, when a run was stopped), in all, and the survivors and the
    mutants no selected test reaches."""

    killed: int
    run: int
    total: int
    survivors: list[str]
    untested: list[str]

    def line(self, name: str) -> str:
        score = f"{100.0 * self.killed / self.run:.1f} %" if self.run else "-"
        partial = f" (partial: {self.run} of {self.total} mutants run)" \
            if self.run < self.total else ""
        return (f"{name}: {self.killed}/{self.run} killed ({score}){partial}, "
                f"{len(self.survivors)} survived, {len(self.untested)} with no test")


def tally(name: str, module: Module) -> Tally:
    """The verdicts so far in ``name``'s scratch tree (during a run, or after one stopped)."""
    folder = WORK / name
    listed = subprocess.run([str(MUTMUT), "results", "--all", "true"], cwd=folder,
                            env=_env(folder), capture_output=True, text=True,
                            check=False).stdout
    verdicts = {}
    for line in listed.splitlines():
        mutant, _, verdict = line.strip().rpartition(": ")
        if mutant:
            verdicts[mutant] = verdict
    if module.names:  # only the functions in scope
        verdicts = {m: v for m, v in verdicts.items()
                    if any(fnmatchcase(m, pattern) for pattern in module.names)}
    return Tally(killed=sum(1 for v in verdicts.values() if v in ("killed", "timeout")),
                 run=sum(1 for v in verdicts.values() if v != "not checked"),
                 total=len(verdicts),
                 survivors=sorted(m for m, v in verdicts.items() if v == "survived"),
                 untested=sorted(m for m, v in verdicts.items() if v == "no tests"))


def main(args: list[str]) -> int:
    only_tally = "--results" in args
    names = [a for a in args if a != "--results"]
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        print(f"unknown module(s) {unknown}; known: {', '.join(MODULES)}", file=sys.stderr)
        return 2
    report = []
    for name in names or list(MODULES):
        if not only_tally:
            run(name, MODULES[name])
        result = tally(name, MODULES[name])
        report.append(result.line(name))
        report += [f"  {s}" for s in result.survivors + result.untested]
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
