"""The house by stage, checked on the source itself.

- Every module belongs to one stage, and imports only from its own stage or an
  earlier one (docs/architecture.md lists them); the import graph has no cycles.
- Nothing outside ccmatrix/providers/ (and the emulator's per-provider modules)
  branches on a provider id: a new provider is one module there.
- The benchmark measures through the runner's observer; it patches nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ccmatrix import catalog
from ccmatrix.bundled import CHECKOUT_DIR, PACKAGE_DIR

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
    assert "ccmatrix.recorder.protocol" in GRAPH["ccmatrix.proxy.stack"]
    assert "ccmatrix.run.runner" in GRAPH["ccmatrix.cli"]  # imported inside a function
    assert stage_of("ccmatrix.client.driver") < stage_of("ccmatrix.proxy.stack") < stage_of("ccmatrix.run.runner")
    assert stage_of("ccmatrix.catalog.cells") == stage_of("ccmatrix.catalog")
