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
    python scripts/mutation.py --sample 300 wsp  # 300 of its mutants, drawn with a fixed seed
    python scripts/mutation.py --again state-machine  # its survivors again, with the tests now

A module whose mutants cannot all be run in the time there is gets ``--sample N``: N mutants
drawn at random with the fixed seed :data:`SEED` (the same N mutants every time), and its
score is printed as a sampled estimate of that size, never as a full run. ``--again`` copies
the tests (and the sources, if changed) into the module's scratch tree and runs its
survivors again, keeping the other verdicts.

The scores and the list of survivors with the reason each is harmless (or the test that
now kills it) are kept in docs/testing.md.
"""

from __future__ import annotations

import contextlib
import os
import random
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
#: The seed of ``--sample``: a sample is the same mutants from one run to the next.
SEED = 20
#: The file in a module's scratch tree that lists the mutants of a sampled run.
SAMPLE = "sample.txt"
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
                   "tests/test_vectors.py",
                   "tests/test_cli.py::test_json_round_trip_through_encode")),
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
        ("tests/test_state_machine_mutants.py",
         "tests/test_boundaries.py::test_retrieval_just_before_and_at_the_expiry",
         "tests/test_boundaries.py::test_viewer_link_just_before_and_at_its_expiry",
         "tests/test_boundaries.py::test_renotification_at_each_backoff_step_then_the_link",
         "tests/test_mm7.py", "tests/test_viewer.py::test_a_view_is_a_delivery",
         "tests/test_receipts.py::test_delivered_pushes_and_a_phone_that_never_fetches"),
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
                    "test_a_media_part_the_phone_takes_as_it_is_is_left_alone",
                    "tests/test_media_adaptation.py::"
                    "test_broken_or_mislabelled_parts_become_the_explanatory_text",
                    "tests/test_media_adaptation.py::"
                    "test_a_fault_in_adaptation_costs_the_part_not_the_message",
                    "tests/test_media_adaptation.py::"
                    "test_a_video_is_made_as_large_as_the_phones_screen_and_budget_allow",
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


def all_mutants(folder: Path, module: Module) -> list[str]:
    """The names of every mutant mutmut makes of ``module`` (in scope), without running any:
    mutmut's own mutation of each file, read with the settings of the scratch tree."""
    from mutmut.configuration import reset_config
    from mutmut.mutation.file_mutation import mutate_file_contents
    from mutmut.utils.format_utils import get_mutant_name

    names = []
    with contextlib.chdir(folder):
        reset_config()
        for pattern in module.files:
            for path in sorted(Path().glob(pattern)):
                if path.suffix == ".py":
                    mutated = mutate_file_contents(str(path), path.read_text("utf-8"))
                    names += [get_mutant_name(path, m) for m in mutated.mutant_names]
    if module.names:
        names = [m for m in names if any(fnmatchcase(m, p) for p in module.names)]
    return names


def run(name: str, module: Module, sample: int | None = None) -> None:
    """Mutate and test one module in a fresh scratch tree (``sample`` of its mutants only,
    drawn with :data:`SEED`, when given)."""
    folder = prepare(name, module)
    chosen = list(module.names)
    if sample is not None:
        everything = all_mutants(folder, module)
        chosen = sorted(random.Random(SEED).sample(everything, min(sample, len(everything))))
        (folder / SAMPLE).write_text("\n".join(chosen) + "\n", "utf-8")
    subprocess.run([str(MUTMUT), "run", "--max-children", "1", *chosen], cwd=folder,
                   env=_env(folder), check=False)


def again(name: str, module: Module) -> None:
    """Run the survivors (and the mutants no test reached) of ``name``'s last run again,
    with the tests (and sources) as they are now; the other verdicts stand."""
    folder = WORK / name
    for entry in TREE:
        source = ROOT / entry
        if source.is_dir():
            shutil.copytree(source, folder / entry, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    before = tally(name, module)
    survivors = before.survivors + before.untested
    if survivors:
        subprocess.run([str(MUTMUT), "run", "--max-children", "1", *survivors], cwd=folder,
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
    timeouts: int = 0
    sampled: int | None = None  # the sample's size, when the run was of a sample

    def line(self, name: str) -> str:
        score = f"{100.0 * self.killed / self.run:.1f} %" if self.run else "-"
        if self.sampled is not None:
            how = (f" (sampled estimate: a random sample of {self.sampled} of the "
                   f"{self.total} mutants, seed {SEED}"
                   f"{f', {self.run} of them run' if self.run < self.sampled else ''})")
        elif self.run < self.total:
            how = f" (partial: {self.run} of {self.total} mutants run)"
        else:
            how = " (full run)"
        return (f"{name}: {self.killed}/{self.run} killed ({score}){how}, "
                f"{self.timeouts} of them by timeout, {len(self.survivors)} survived, "
                f"{len(self.untested)} with no test")


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
    total = len(verdicts)
    sampled = None
    if (folder / SAMPLE).exists():  # a sampled run: its verdicts only
        chosen = set((folder / SAMPLE).read_text("utf-8").split())
        verdicts = {m: v for m, v in verdicts.items() if m in chosen}
        sampled = len(chosen)
    return Tally(killed=sum(1 for v in verdicts.values() if v in ("killed", "timeout")),
                 run=sum(1 for v in verdicts.values() if v != "not checked"),
                 total=total,
                 survivors=sorted(m for m, v in verdicts.items() if v == "survived"),
                 untested=sorted(m for m, v in verdicts.items() if v == "no tests"),
                 timeouts=sum(1 for v in verdicts.values() if v == "timeout"),
                 sampled=sampled)


def main(args: list[str]) -> int:
    sample = None
    if "--sample" in args:
        at = args.index("--sample")
        try:
            sample = int(args[at + 1])
        except (IndexError, ValueError):
            print("--sample wants a number of mutants", file=sys.stderr)
            return 2
        args = args[:at] + args[at + 2:]
    only_tally, rerun = "--results" in args, "--again" in args
    names = [a for a in args if a not in ("--results", "--again")]
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        print(f"unknown module(s) {unknown}; known: {', '.join(MODULES)}", file=sys.stderr)
        return 2
    report = []
    for name in names or list(MODULES):
        if rerun:
            again(name, MODULES[name])
        elif not only_tally:
            run(name, MODULES[name], sample)
        result = tally(name, MODULES[name])
        report.append(result.line(name))
        report += [f"  {s}" for s in result.survivors + result.untested]
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
