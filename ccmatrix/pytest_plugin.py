"""A pytest plugin over the runner: the compatibility matrix as pytest items.

    pytest --ccmatrix -n 2 --junitxml=ccmatrix.xml

It does nothing unless ``--ccmatrix`` is given. Then it collects one item per
implemented cell tier (feature, provider, tier), named ``ccmatrix[<feature>-<provider>-<tier>]``,
and replays each one with `runner.run_tier` through a Stack (mitmdump + a real
LiteLLM proxy) that each process (each xdist worker) starts once, on its first
cell tier, and stops at the end of the session.

A cell tier fails with its verdict's error and load-bearing differences. One whose
cassette records a failing verdict (a known LiteLLM incompatibility) is an xfail:
XFAIL while it still fails, XPASS once it passes; ``--runxfail`` makes them plain
results. Verdicts travel to the xdist controller on the test reports, which
writes compatibility-matrix.json with ``--ccmatrix-out``.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

from ccmatrix import catalog
from ccmatrix.bundled import DEFAULT_CASSETTE_DIR
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from ccmatrix.errors import CcmatrixError
from ccmatrix.proxy.litellm_env import DEFAULT_LITELLM_VERSION
from ccmatrix.recorder.chunking import DEFAULT_CHUNKING, parse_chunkings

if TYPE_CHECKING:
    from ccmatrix.proxy.litellm_env import LiteLLMEnv
    from ccmatrix.run.runner import Plan, RunOptions, StackRun
    from ccmatrix.verdict.results import TierResult

COLLECTOR_NAME = "ccmatrix"
MARKER = "ccmatrix"
# the verdict a report carries from a worker to the controller (a plain dict)
REPORT_ATTR = "ccmatrix"


def item_name(cell: catalog.CellTier) -> str:
    return f"{COLLECTOR_NAME}[{cell.feature.id}-{cell.provider.id}-{cell.tier.id}]"


# ------------------------------------------------------------------ options
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ccmatrix", "Claude Code x LiteLLM compatibility matrix (ccmatrix)")
    group.addoption("--ccmatrix", action="store_true", default=False,
                    help="collect and replay the ccmatrix cells (one test per feature/provider/tier); "
                         "without paths on the command line, only the matrix is collected")
    group.addoption("--ccmatrix-litellm", metavar="SPEC", default=None,
                    help=f"LiteLLM release (default {DEFAULT_LITELLM_VERSION}) "
                         "or a Python environment path with litellm installed")
    group.addoption("--ccmatrix-cassettes", metavar="DIR", default=None,
                    help=f"cassette directory (default {DEFAULT_CASSETTE_DIR})")
    group.addoption("--ccmatrix-claude-code", metavar="VERSION", default=CLAUDE_CODE_VERSION,
                    help=f"the Claude Code release whose cassette tree is replayed (default {CLAUDE_CODE_VERSION})")
    group.addoption("--ccmatrix-strict", action="store_true", default=False,
                    help="fail cells on drift too (non-load-bearing request differences)")
    group.addoption("--ccmatrix-chunkings", metavar="NAMES", default=DEFAULT_CHUNKING,
                    help="replay streams under these chunkings (comma-separated, or all); a cell fails if any fails")
    group.addoption("--ccmatrix-feature", metavar="ID", action="append", default=[],
                    help="only this feature (row); repeatable")
    group.addoption("--ccmatrix-provider", metavar="ID", action="append", default=[],
                    help="only this provider; repeatable")
    group.addoption("--ccmatrix-tier", metavar="ID", action="append", default=[],
                    help="only this tier (haiku, sonnet, opus) or model alias; repeatable")
    group.addoption("--ccmatrix-out", metavar="DIR", default=None,
                    help="write compatibility-matrix.json of this run into DIR")
    group.addoption("--ccmatrix-faults", action="store_true", default=False,
                    help="add the fault rows (the provider fails on purpose, then recovers; docs/faults.md)")
    group.addoption("--ccmatrix-client", metavar="NAME", default="captured",
                    help="who talks to LiteLLM: captured (the recorded client leg, sent again) or cli "
                         "(the pinned Claude Code CLI itself)")
    group.addoption("--ccmatrix-config", metavar="FILE", default=None,
                    help="run LiteLLM with this config file instead of ccmatrix's")
    group.addoption("--ccmatrix-request-timeout", metavar="SECONDS", type=float, default=120.0,
                    help="seconds each client request to LiteLLM may take before the tier counts as hung")
    group.addoption("--ccmatrix-credentials", metavar="MODE|PROVIDER=MODE", action="append", default=[],
                    help="how LiteLLM's deployments authenticate (as ccmatrix run --credentials); repeatable")
    group.addoption("--ccmatrix-columns", metavar="VIEW", default=catalog.Columns.PUBLISHED.value,
                    choices=[c.value for c in catalog.Columns],
                    help="published (the five columns; default) or all (also the GPT-5.6 columns), as ccmatrix run")


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("ccmatrix"):
        return
    config.addinivalue_line("markers", f"{MARKER}: a ccmatrix cell (added by --ccmatrix)")
    config.pluginmanager.register(MatrixSession(config), "ccmatrix-session")


# ------------------------------------------------------------------ nodes
class MatrixCollector(pytest.Collector):
    """The virtual node under the session that holds the cell tiers (nodeid ``ccmatrix``)."""

    def collect(self) -> Iterator[pytest.Item]:
        matrix = self.config.stash[_SESSION]
        for cell in matrix.cell_tiers:
            yield CellItem.from_parent(self, name=item_name(cell), cell=cell)


class CellItem(pytest.Item):
    def __init__(self, *, cell: catalog.CellTier, **kw: Any) -> None:
        super().__init__(**kw)
        self.cell = cell
        self.result: TierResult | None = None
        self.meta: dict[str, Any] = {}
        self.add_marker(MARKER)
        matrix = self.config.stash[_SESSION]
        recorded = matrix.recorded_status(cell)
        if recorded == "fail":
            # XFAIL while it still fails, XPASS (not a failure) once LiteLLM fixes it
            self.add_marker(pytest.mark.xfail(reason="recorded verdict: fail (known incompatibility)",
                                              strict=False))

    def setup(self) -> None:
        # infrastructure (cassettes, LiteLLM, mitmdump) fails here, as an ERROR;
        # a verdict fails in runtest, as a FAILURE
        self.config.stash[_SESSION].prepare(self)

    def runtest(self) -> None:
        self.config.stash[_SESSION].run(self)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        session = self.config.stash[_SESSION]
        return self.cell.cassette_path(session.root, session.claude_code), None, self.name

    def repr_failure(self, excinfo, style=None):  # type: ignore[no-untyped-def]
        if isinstance(excinfo.value, CcmatrixError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)


_SESSION = pytest.StashKey["MatrixSession"]()


# ------------------------------------------------------------------ the session
class MatrixSession:
    """Registered only with --ccmatrix: every hook below is inert otherwise."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        config.stash[_SESSION] = self
        opt = config.getoption
        self.is_worker = hasattr(config, "workerinput")
        self.spec: str | None = opt("ccmatrix_litellm")
        self.root = Path(opt("ccmatrix_cassettes") or DEFAULT_CASSETTE_DIR).expanduser().resolve()
        self.claude_code: str = opt("ccmatrix_claude_code")
        self.out: str | None = opt("ccmatrix_out")
        try:
            self.cell_tiers = catalog.select(opt("ccmatrix_feature"), opt("ccmatrix_provider"), opt("ccmatrix_tier"),
                                             faults=opt("ccmatrix_faults"),
                                             columns=catalog.Columns(opt("ccmatrix_columns")))
        except catalog.CatalogError as exc:
            raise pytest.UsageError(f"ccmatrix: {exc}") from None
        if not self.cell_tiers:
            raise pytest.UsageError("ccmatrix: the selection has no implemented cell "
                                    "(rows without a client are not run)")
        if not self.root.is_dir():
            raise pytest.UsageError(f"ccmatrix: cassette directory {self.root} does not exist")
        self.options = _run_options(opt, self.root, self.claude_code)
        # with paths on the command line, the matrix runs beside them; otherwise alone
        self.matrix_only = config.args_source != pytest.Config.ArgsSource.ARGS
        self.env: LiteLLMEnv | None = None
        self.plan: Plan | None = None  # every collected cell tier's, loaded on the first
        self.run_on_stack: StackRun | None = None  # this process's stack, started on its first cell tier
        self._stack_error: str | None = None
        self._exit = ExitStack()  # what _stop() undoes: the SIGTERM trap
        self.results: list[TierResult] = []
        self.claude_code_versions: set[str] = set()
        self.litellm_versions: set[str] = set()
        self.written: Path | None = None

    # -------------------------------------------------------------- collection
    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector):  # type: ignore[no-untyped-def]
        report = yield
        if isinstance(collector, pytest.Session) and report.passed:
            node = MatrixCollector.from_parent(collector, name=COLLECTOR_NAME, nodeid=COLLECTOR_NAME)
            if self.matrix_only:
                report.result[:] = [node]
            else:
                report.result.append(node)
        return report

    def recorded_status(self, cell: catalog.CellTier) -> str | None:
        """The verdict stored with the cell's cassette (cheap: no blobs resolved)."""
        try:
            data = json.loads(cell.cassette_path(self.root, self.claude_code).read_text())
            return (data.get("verdict") or {}).get("status")
        except (OSError, ValueError, AttributeError):
            return None

    # -------------------------------------------------------------- session start
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # On the controller (or the only process), before xdist starts workers: make
        # sure the LiteLLM environment and the mitmproxy CA exist, so workers never
        # build them at the same time.
        if self.is_worker or self.config.getoption("collectonly"):
            return
        from ccmatrix.proxy.litellm_env import LiteLLMEnvError, resolve

        try:
            try:
                self.env = resolve(self.spec, install=False)
            except LiteLLMEnvError:
                if self.spec and not self.spec[:1].isdigit():
                    raise  # a Python environment path: nothing to install
                reporter = self.config.pluginmanager.get_plugin("terminalreporter")
                if reporter is not None:
                    release = self.spec or DEFAULT_LITELLM_VERSION
                    reporter.write_line(f"ccmatrix: installing LiteLLM {release} ...")
                self.env = resolve(self.spec)
        except CcmatrixError as exc:
            raise pytest.UsageError(f"ccmatrix: {exc}") from None
        from ccmatrix.proxy.mitmdump import ensure_mitm_ca

        ensure_mitm_ca()  # once, before several workers' mitmdumps could race to make it

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        where = self.env.label if self.env else f"litellm {self.spec or DEFAULT_LITELLM_VERSION}"
        return [f"ccmatrix: {len(self.cell_tiers)} cell tier(s) against {where}; cassettes {self.root}"]

    # -------------------------------------------------------------- running a cell
    def plan_for(self, item: CellItem) -> "Plan":
        """The run's plan, loaded once for every collected cell tier; a cassette that does not
        load fails its own cell tier only (the others run on a plan without it)."""
        from ccmatrix.run.runner import ConfigError, plan

        if self.plan is None:
            cells = [i.cell for i in item.session.items if isinstance(i, CellItem)]
            try:
                self.plan = plan(cells, self.options)
            except ConfigError:
                loadable = []
                for cell in cells:
                    try:
                        plan([cell], self.options)
                    except ConfigError:
                        continue
                    loadable.append(cell)
                self.plan = plan(loadable, self.options)
        if item.cell in self.plan.cell_tiers or item.cell.not_applicable_reason:
            return self.plan
        try:
            plan([item.cell], self.options)
            error = "not in the run's plan"
        except ConfigError as exc:
            error = str(exc)
        pytest.fail(f"ccmatrix: {error}", pytrace=False)

    def stack_for(self, item: CellItem) -> "StackRun":
        from ccmatrix.proxy.litellm_env import resolve
        from ccmatrix.proxy.process import sigterm_as_interrupt
        from ccmatrix.run.runner import StackRun

        if self.run_on_stack is not None:
            return self.run_on_stack
        if self._stack_error:
            pytest.fail(f"ccmatrix: the LiteLLM stack failed to start earlier in this process:\n{self._stack_error}",
                        pytrace=False)
        # so a SIGTERM (CI cancel) unwinds pytest and stops LiteLLM and mitmdump, as Ctrl-C does
        self._exit.enter_context(sigterm_as_interrupt())
        try:
            if self.env is None:
                self.env = resolve(self.spec)
            assert self.plan is not None
            on_stack = StackRun(self.plan, self.env, self.options)
            on_stack.start()
            self.run_on_stack = on_stack
        except CcmatrixError as exc:
            self._stack_error = str(exc)
            self._exit.close()
            pytest.fail(f"ccmatrix: {self._stack_error}", pytrace=False)
        return on_stack

    def prepare(self, item: CellItem) -> None:
        if not item.cell.not_applicable_reason:
            self.plan_for(item)
            self.stack_for(item)

    def run(self, item: CellItem) -> None:
        cell = item.cell
        reason = cell.not_applicable_reason
        if reason:
            from ccmatrix.verdict.results import TierResult

            item.result = TierResult.not_applicable(cell)
            _record_properties(item)
            pytest.skip(f"not applicable: {reason}")
        the_plan = self.plan_for(item)
        result = self.stack_for(item).run(cell)
        recorded = the_plan.cassettes.get(cell.id)
        item.result = result
        assert self.env is not None
        item.meta = {"litellm_version": self.env.version,
                     "claude_code_version": recorded.provenance.claude_code_version if recorded else None}
        _record_properties(item)
        if result.status == "changed":
            import warnings

            warnings.warn(CassetteBehind(f"{cell.id}: " + "; ".join(c.describe() for c in result.changes)))
        if result.status == "error":  # the run broke: LiteLLM was not judged, and the item says so
            pytest.fail(f"run error (no verdict on LiteLLM): {result.error}", pytrace=False)
        if result.status == "fail":
            if result.recorded_status == "fail":
                pytest.xfail(f"known failure (recorded verdict: fail): {failure_message(result, recorded=False)}")
            pytest.fail(failure_message(result), pytrace=False)

    # -------------------------------------------------------------- reports
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
        report = yield
        if call.when == "call" and isinstance(item, CellItem) and item.result is not None:
            # a plain dict, so xdist carries it from the worker to the controller
            setattr(report, REPORT_ATTR, {"result": item.result.model_dump(mode="json"), **item.meta})
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, REPORT_ATTR, None)
        if self.is_worker or report.when != "call" or not isinstance(data, dict):
            return
        from ccmatrix.verdict.results import TierResult

        self.results.append(TierResult.model_validate(data["result"]))
        if data.get("litellm_version"):
            self.litellm_versions.add(data["litellm_version"])
        if data.get("claude_code_version"):
            self.claude_code_versions.add(data["claude_code_version"])

    # -------------------------------------------------------------- session end
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._stop()
        if self.is_worker or not self.out or self.config.getoption("collectonly"):
            return
        from ccmatrix.report.matrix_json import write_matrix

        self.written = write_matrix(self.run_result(), self.out)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self._stop()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or not self.results:
            return
        run = self.run_result()
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        regressions = [f"{r.feature}/{r.provider}/{r.tier}" for r in self.results if r.regressed]
        terminalreporter.write_sep("-", "ccmatrix")
        terminalreporter.write_line(
            f"{len(self.results)} cell tier(s) against litellm {run.litellm_version}: {summary}")
        if regressions:
            terminalreporter.write_line(f"regressed (recorded pass, now fail): {', '.join(sorted(regressions))}")
        if self.written:
            terminalreporter.write_line(f"wrote {self.written}")

    def run_result(self):  # type: ignore[no-untyped-def]
        from ccmatrix.run.runner import assemble

        litellm_version = (", ".join(sorted(self.litellm_versions))
                           or (self.env.version if self.env else self.spec or DEFAULT_LITELLM_VERSION))
        return assemble(self.results, self.options, litellm_version=litellm_version,
                        claude_code_version=", ".join(sorted(self.claude_code_versions)) or CLAUDE_CODE_VERSION)

    # -------------------------------------------------------------- process hygiene
    def _stop(self) -> None:
        if self.run_on_stack is not None:
            on_stack, self.run_on_stack = self.run_on_stack, None
            on_stack.close()
        self._exit.close()


def _run_options(opt, root: Path, claude_code: str) -> "RunOptions":  # type: ignore[no-untyped-def]
    """The run's options from the command line (what `ccmatrix run` takes, under --ccmatrix-*)."""
    from ccmatrix.providers import CredentialsError, choose
    from ccmatrix.run.runner import ConfigError, RunOptions, Timeouts

    try:
        return RunOptions(root=root, claude_code=claude_code, strict=opt("ccmatrix_strict"),
                          chunkings=tuple(parse_chunkings(opt("ccmatrix_chunkings"))), client=opt("ccmatrix_client"),
                          config=Path(opt("ccmatrix_config")) if opt("ccmatrix_config") else None,
                          timeouts=Timeouts(request=opt("ccmatrix_request_timeout")),
                          credentials=choose(opt("ccmatrix_credentials"), catalog.ALL_PROVIDERS),
                          columns=catalog.Columns(opt("ccmatrix_columns")))
    except (ValueError, ConfigError, CredentialsError) as exc:
        raise pytest.UsageError(f"ccmatrix: {exc}") from None


class CassetteBehind(UserWarning):
    """A cell tier passed, but LiteLLM sent a request its cassette has no counterpart for:
    re-record it (the tier's state is `changed`; --ccmatrix-strict fails it)."""


def failure_message(result: "TierResult", recorded: bool = True) -> str:
    lines = [f"[{result.model_alias}] {result.error or 'failed'}"]
    bearing = [d for d in result.diffs if d.load_bearing]
    if bearing:
        lines.append("load-bearing differences:")
        lines += [f"  {d.describe()}" for d in bearing]
    if result.drift:
        lines.append(f"drift: {len(result.drift)} non-load-bearing difference(s)")
    if recorded and result.recorded_status:
        lines.append(f"recorded verdict: {result.recorded_status}"
                     + (" (regression)" if result.regressed else ""))
    return "\n".join(lines)


def _record_properties(item: CellItem) -> None:
    """JUnit XML properties (pytest writes item.user_properties into each testcase)."""
    r = item.result
    assert r is not None
    props: list[tuple[str, object]] = [("cell", item.cell.id), ("model", r.model_alias), ("status", r.status)]
    if r.recorded_status:
        props.append(("recorded_status", r.recorded_status))
    if r.error:
        props.append(("error", r.error))
    if r.reason:
        props.append(("reason", r.reason))
    bearing = [d.describe() for d in r.diffs if d.load_bearing]
    if bearing:
        props.append(("diff", "; ".join(bearing)))
    if item.meta.get("litellm_version"):
        props.append(("litellm_version", item.meta["litellm_version"]))
    item.user_properties.extend(props)
