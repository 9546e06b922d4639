"""The house by stage, checked on the source itself.

- Every module belongs to one stage, and imports only from its own stage or an
  earlier one (docs/architecture.md lists them); the import graph has no cycles.
- Nothing outside ccmatrix/providers/ (and the emulator's per-provider modules)
  branches on a provider id: a new provider is one module there.
- The benchmark measures through the runner's observer; it patches nothing.
- The recorder asks the mode (never compares its name); no recorder class outgrows one
  job; the plugin and the benches run cells only through the run core.
- Verdicts are typed: no code takes a verdict's text apart or joins failures by hand.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ccmatrix import catalog
from ccmatrix.bundled import CHECKOUT_DIR, PACKAGE_DIR
from ccmatrix.recorder.mode import Upstream

# Earlier stages first. A module may import from its own stage and the ones above it.
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("ccmatrix", "ccmatrix.errors", "ccmatrix.fsutil", "ccmatrix.bundled", "ccmatrix.wheelhouse")),
    ("wire", ("ccmatrix.wire",)),
    ("providers", ("ccmatrix.providers",)),
    ("catalog", ("ccmatrix.catalog",)),
    ("cassette", ("ccmatrix.cassette",)),
    ("emulator", ("ccmatrix.emulator",)),
    ("client", ("ccmatrix.client",)),
    ("recorder", ("ccmatrix.recorder",)),
    ("proxy", ("ccmatrix.proxy",)),
    ("verdict", ("ccmatrix.verdict",)),
    ("run", ("ccmatrix.run",)),
    ("report", ("ccmatrix.report",)),
    ("export", ("ccmatrix.export",)),
    ("entry points", ("ccmatrix.cli", "ccmatrix.pytest_plugin", "ccmatrix.__main__")),
]
# the emulator's per-provider modules may speak of providers by name
EMULATOR_PROVIDER_MODULES = {"anthropic_messages", "aws", "bedrock", "converse", "vertex", "google_token",
                             "gce_metadata", "sts"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in PACKAGE_DIR.rglob("*.py") if "_bundled" not in p.parts}


def stage_of(module: str) -> int:
    best, rank = -1, None
    for index, (_, prefixes) in enumerate(STAGES):
        for prefix in prefixes:
            matches = module == prefix or (prefix != "ccmatrix" and module.startswith(prefix + "."))
            if matches and len(prefix) > best:
                best, rank = len(prefix), index
    if rank is None:
        raise AssertionError(f"{module} belongs to no stage: add it to STAGES (and docs/architecture.md)")
    return rank


def imports_of(module: str) -> set[str]:
    """ccmatrix modules `module` imports (anywhere in it, lazy imports included)."""
    tree = ast.parse(MODULES[module].read_text())
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            # `from pkg import sub` imports the submodule when there is one
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        found.update(n for n in names if n == "ccmatrix" or n.startswith("ccmatrix."))
    found.discard(module)
    return {n for n in found if n in MODULES}


GRAPH = {m: imports_of(m) for m in MODULES}


def test_every_module_has_a_stage():
    for module in MODULES:
        stage_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_later_stage(module):
    mine = stage_of(module)
    later = sorted(f"{dep} ({STAGES[stage_of(dep)][0]})" for dep in GRAPH[module] if stage_of(dep) > mine)
    assert not later, f"{module} ({STAGES[mine][0]}) imports a later stage: {', '.join(later)}"


def test_the_import_graph_has_no_cycles():
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for dep in sorted(GRAPH[module]):
            # a package's submodule importing its own package's __init__ is how
            # `from ccmatrix.providers import ids` reads; it is not a cycle
            if module.startswith(dep + "."):
                continue
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)


PROVIDER_IDS = {p.id for p in catalog.PROVIDERS}
# ids, and the family words a prefix test would use ("bedrock" for startswith("bedrock"))
PROVIDER_WORDS = PROVIDER_IDS | {pid.split("_")[0] for pid in PROVIDER_IDS}


def _provider_literals(tree: ast.AST) -> list[ast.Constant]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in PROVIDER_WORDS]


def _allowed_place(path: Path) -> bool:
    rel = path.relative_to(PACKAGE_DIR)
    return rel.parts[0] == "providers" or (rel.parts[0] == "emulator" and path.stem in EMULATOR_PROVIDER_MODULES)


def test_no_code_outside_the_providers_branches_on_a_provider_id():
    offenders = []
    files = [p for p in MODULES.values() if not _allowed_place(p)] + sorted((CHECKOUT_DIR / "bench").glob("*.py"))
    for path in files:
        tree = ast.parse(path.read_text())
        literals = _provider_literals(tree)
        if path == PACKAGE_DIR / "catalog" / "features.py":
            # a row's data may name what only one provider must carry: as a dict key, never a branch
            keys = {id(k) for n in ast.walk(tree) if isinstance(n, ast.Dict) for k in n.keys if k is not None}
            literals = [lit for lit in literals if id(lit) not in keys]
        offenders += [f"{path.relative_to(CHECKOUT_DIR)}:{lit.lineno}: {lit.value!r}" for lit in literals]
    assert not offenders, "provider ids outside ccmatrix/providers/:\n" + "\n".join(offenders)


def test_the_branching_check_sees_a_branch():
    """The check above must be able to fail."""
    tree = ast.parse('if provider.id == "vertex_ai":\n    pass\nif name.startswith("bedrock"):\n    pass\n')
    assert [lit.value for lit in _provider_literals(tree)] == ["vertex_ai", "bedrock"]


def _patches(tree: ast.AST) -> list[str]:
    """Assignments to attributes of anything imported from ccmatrix, and setattr calls."""
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ccmatrix"):
            imported.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.Import):
            imported.update((a.asname or a.name).split(".")[0] for a in node.names if a.name.startswith("ccmatrix"))
    found = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AugAssign) else []
        for target in targets:
            base = target
            while isinstance(base, ast.Attribute):
                base = base.value
            if target is not base and isinstance(base, ast.Name) and base.id in imported:
                found.append(f"line {node.lineno}: assigns {ast.unparse(target)}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
            found.append(f"line {node.lineno}: setattr(...)")
    return found


def test_the_bench_patches_nothing():
    for path in sorted((CHECKOUT_DIR / "bench").glob("*.py")):
        assert not _patches(ast.parse(path.read_text())), (path, _patches(ast.parse(path.read_text())))


def test_the_patch_check_sees_a_patch():
    tree = ast.parse("from ccmatrix.run import runner\nfrom ccmatrix.proxy.stack import Stack\n"
                     "runner.send_turns = f\nStack.start = classmethod(g)\n")
    assert len(_patches(tree)) == 2


def test_the_import_graph_is_read_from_the_source():
    """The layering checks must see real edges (lazy imports included), or they prove nothing."""
    assert "ccmatrix.recorder.exchanges" in GRAPH["ccmatrix.proxy.stack"]
    assert "ccmatrix.run.runner" in GRAPH["ccmatrix.cli"]  # imported inside a function
    assert stage_of("ccmatrix.client.driver") < stage_of("ccmatrix.proxy.stack") < stage_of("ccmatrix.run.runner")
    assert stage_of("ccmatrix.catalog.cells") == stage_of("ccmatrix.catalog")


# ---------------------------------------------------------------- the recorder's addons

RECORDER_DIR = PACKAGE_DIR / "recorder"
MODE_NAMES = {m.value for m in Upstream}
LONGEST_ADDON_CLASS = 200  # lines: an addon that outgrows it does more than one job


def _mode_comparisons(tree: ast.AST) -> list[int]:
    """Lines comparing something with a mode's name (`upstream == "replay"`, `mode in
    ("emulate", "live")`): the mode is asked a question instead (Upstream's properties)."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        values = [o for operand in operands
                  for o in (operand.elts if isinstance(operand, (ast.Tuple, ast.List, ast.Set)) else [operand])]
        if any(isinstance(v, ast.Constant) and v.value in MODE_NAMES for v in values):
            lines.append(node.lineno)
    return lines


def _package_offenders(check) -> list[str]:  # type: ignore[no-untyped-def]
    """`path:line` of each line `check` finds in the package's own modules."""
    return [f"{path.relative_to(CHECKOUT_DIR)}:{line}" for path in sorted(PACKAGE_DIR.rglob("*.py"))
            if "_bundled" not in path.parts for line in check(ast.parse(path.read_text()))]


def test_the_recorder_asks_the_mode_instead_of_comparing_its_name():
    """Anywhere in the package: the runner, the stack and the command line ask it too."""
    offenders = _package_offenders(_mode_comparisons)
    assert not offenders, "mode names compared (ask ccmatrix.recorder.mode.Upstream):\n" + "\n".join(offenders)


def test_the_mode_check_sees_a_comparison():
    tree = ast.parse('if self.upstream == "replay":\n    pass\nok = mode != "live" or m in ("emulate", "live")\n')
    assert _mode_comparisons(tree) == [1, 3, 3]


def test_no_recorder_class_outgrows_one_job():
    long = [f"{path.relative_to(CHECKOUT_DIR)}: {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for path in sorted(RECORDER_DIR.rglob("*.py")) for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > LONGEST_ADDON_CLASS]
    assert not long, f"classes over {LONGEST_ADDON_CLASS} lines in ccmatrix/recorder/:\n" + "\n".join(long)


# ---------------------------------------------------------------- one core for every entry point

# What an entry point other than the command line may use of the run and proxy stages: the
# core (ccmatrix.run.runner, which re-exports what a caller needs: RunOptions, plan, StackRun,
# RunObserver, Timeouts) and what resolves a LiteLLM or launches a mitmdump. The stack, the
# cell's life, the guard and the plan's internals are the core's own.
CORE_ONLY = {"ccmatrix.run.runner", "ccmatrix.proxy.litellm_env", "ccmatrix.proxy.mitmdump", "ccmatrix.proxy.process"}


def _beyond_the_core(imported: set[str]) -> list[str]:
    return sorted(m for m in imported if m.startswith(("ccmatrix.run.", "ccmatrix.proxy.")) and m not in CORE_ONLY)


def _imports_in(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ccmatrix"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("ccmatrix"))
    return found


# the benches that run cells (release_sweep.py times LiteLLM's start alone, tree_bench.py a source tree's build)
RUNS_CELLS = [PACKAGE_DIR / "pytest_plugin.py", CHECKOUT_DIR / "bench" / "replay_bench.py",
              CHECKOUT_DIR / "bench" / "bisect_bench.py"]


@pytest.mark.parametrize("path", RUNS_CELLS, ids=lambda p: p.name)
def test_the_plugin_and_the_bench_run_cells_only_through_the_core(path):
    beyond = _beyond_the_core(_imports_in(path))
    assert not beyond, f"{path.name} reaches past the run core: {', '.join(beyond)}"


def test_the_core_check_sees_an_internal():
    assert _beyond_the_core({"ccmatrix.run.runner", "ccmatrix.proxy.stack", "ccmatrix.run.cell"}) == [
        "ccmatrix.proxy.stack", "ccmatrix.run.cell"]


# ---------------------------------------------------------------- verdicts are typed, text only at the end

VERDICT_TEXT = ("error", "failed_checks", "failures", "failure")  # names whose value is a verdict's words
BETWEEN = " | "  # between a tier's failures in its text (results._BETWEEN, written in one place)


def _mentions_verdict_text(node: ast.AST) -> bool:
    return any((isinstance(n, ast.Attribute) and n.attr in VERDICT_TEXT)
               or (isinstance(n, ast.Name) and n.id in VERDICT_TEXT) for n in ast.walk(node))


def _verdict_text_parsed(tree: ast.AST) -> list[int]:
    """Lines that take a verdict's words apart (`t.error.split(":")`, `failure.split(": ", 2)`)
    or join failures with the tier's separator outside its one place (`" | ".join(...)`)."""
    lines = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        receiver, method = node.func.value, node.func.attr
        if method in ("split", "rsplit", "partition", "rpartition") and _mentions_verdict_text(receiver) \
                and any(isinstance(a, ast.Constant) and isinstance(a.value, str) and ":" in a.value for a in node.args):
            lines.append(node.lineno)
        elif method == "join" and isinstance(receiver, ast.Constant) and receiver.value == BETWEEN \
                and _mentions_verdict_text(node):
            lines.append(node.lineno)
    return lines


def test_no_code_takes_a_verdict_s_text_apart():
    """Whatever reads a verdict reads its typed failures (ccmatrix.verdict.results.Failure)."""
    offenders = _package_offenders(_verdict_text_parsed)
    assert not offenders, "verdict text parsed or joined by hand (read Failure values):\n" + "\n".join(offenders)


def test_the_failures_separator_is_written_in_one_place():
    holders = [path.relative_to(CHECKOUT_DIR).as_posix() for path in sorted((PACKAGE_DIR / "verdict").rglob("*.py"))
               for node in ast.walk(ast.parse(path.read_text()))
               if isinstance(node, ast.Constant) and node.value == BETWEEN]
    assert holders == ["ccmatrix/verdict/results.py"]


def test_the_verdict_text_check_sees_a_parse():
    tree = ast.parse('check = t.error.split(":")[0]\n'
                     'last = failure.split(": ", 2)[-1]\n'
                     'text = " | ".join(f.message for f in failures)\n'
                     'cells = " | ".join(header)\n'
                     'host = url.split(":")[0]\n')
    assert sorted(_verdict_text_parsed(tree)) == [1, 2, 3]
