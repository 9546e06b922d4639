"""The `ccmatrix` command.

Exit codes: 0 ok; 3 a cell regressed (pass -> fail); 2 usage or configuration error
(any CcmatrixError: one line naming what is wrong and where), or a run that could not
judge some cell tiers (a process it started died or hung: those tiers are `error`,
the reports are written with everything else); 130 interrupted.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Callable, List, Optional

import typer
from rich.console import Console
from rich.markup import escape

from ccmatrix import __version__, catalog
from ccmatrix.client.claude_cli import BUNDLED_VERSIONS, CLAUDE_CODE_VERSION
from ccmatrix.errors import CcmatrixError
from ccmatrix.proxy.litellm_env import DEFAULT_LITELLM_VERSION

HELP = """Offline replay tests for the Claude Code x LiteLLM compatibility matrix.

Exit codes: 0 ok; 3 a cell regressed (pass -> fail); 2 bad input or a run that could
not judge some tiers; 130 interrupted."""
app = typer.Typer(add_completion=False, no_args_is_help=True, help=HELP)
console = Console()
err = Console(stderr=True)

def _version(value: bool) -> None:
    if value:
        console.print(f"ccmatrix {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="print ccmatrix's version and exit"),
) -> None:
    # the options before any command; the command's help is HELP
    pass


EXIT_REGRESSION = 3
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_CHECK_ABORT = 128  # `ccmatrix check` on bad input: `git bisect run` aborts on >= 128

FeatureOpt = typer.Option(None, "--feature", "-f", help="feature (row) id; repeatable; default all")
ProviderOpt = typer.Option(None, "--provider", "-p", help="provider id; repeatable; default all")
TierOpt = typer.Option(None, "--tier", "-t", help="tier id (haiku, sonnet, opus) or model alias; repeatable")
LITELLM_FORMS = (f"RELEASE (like 1.83.14; default {DEFAULT_LITELLM_VERSION}; 'latest': the newest final release on "
                 "the package index), CHECKOUT (a LiteLLM git checkout's "
                 "working tree), CHECKOUT@REF (one of its commits, branches or tags) or ENV (a Python environment "
                 "with litellm installed)")
LITELLM_METAVAR = "RELEASE|CHECKOUT|CHECKOUT@REF|ENV"
LiteLLMOpt = typer.Option(None, "--litellm", metavar=LITELLM_METAVAR,
                          help=f"the LiteLLM under test: {LITELLM_FORMS}")
CassettesOpt = typer.Option(None, "--cassettes", help="cassette directory (default: the cassettes bundled with ccmatrix)")


def _fail(message: str) -> "typer.Exit":
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_USAGE)


def command(name: str | None = None) -> Callable:
    """`app.command()`, with the one error boundary every command shares: a
    CcmatrixError is a one-line message and exit 2, Ctrl-C or SIGTERM exit 130 after
    LiteLLM and mitmdump were stopped (every stack is stopped in a `finally`)."""
    from ccmatrix.proxy.process import sigterm_as_interrupt

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def guarded(*args, **kwargs):  # type: ignore[no-untyped-def]
            try:
                with sigterm_as_interrupt():
                    return fn(*args, **kwargs)
            except CcmatrixError as exc:
                raise _fail(str(exc))
            except KeyboardInterrupt:
                err.print("[yellow]interrupted; LiteLLM and mitmdump stopped[/]")
                raise typer.Exit(EXIT_INTERRUPTED)

        # the command list shows one line per command: the docstring's first sentence
        doc = " ".join((fn.__doc__ or "").split("\n\n")[0].split())
        short = doc.split(". ")[0].rstrip(".") + "." if doc else None
        return app.command(name, short_help=short)(guarded)

    return wrap


def _cassettes(given: Optional[Path], *, writing: bool = False) -> Path:
    from ccmatrix.bundled import cassette_dir

    return cassette_dir(given, writing=writing)


def _select(features, providers, tiers, faults: bool = False,
            columns: catalog.Columns = catalog.Columns.PUBLISHED) -> list[catalog.CellTier]:
    cells = catalog.select(features or (), providers or (), tiers or (), faults=faults, columns=columns)
    if not cells:
        raise _fail("the selection has no implemented cell (rows without a client are not run)")
    return cells


def _writable(out: Path) -> Path:
    """--out can take the reports: checked before anything runs, so a whole run is not
    lost to a folder under a file or without write permission at the end."""
    from ccmatrix.fsutil import writable_dir

    problem = writable_dir(out)
    if problem:
        raise _fail(f"--out {out}: {problem}")
    return out


def _user_config(config: Optional[Path], cells) -> None:  # type: ignore[no-untyped-def]
    """A --config whose deployments are not named by published aliases fails here, not
    as a green run of untested cells."""
    if config is not None:
        from ccmatrix.proxy.litellm_config import check_aliases, load_user_config

        check_aliases(load_user_config(config), config, cells)


def _env(spec: Optional[str]):
    from ccmatrix.proxy.litellm_env import resolve

    with err.status(f"preparing LiteLLM {spec or DEFAULT_LITELLM_VERSION} ..."):
        return resolve(spec)


ColumnsOpt = typer.Option(
    catalog.Columns.PUBLISHED.value, "--columns",
    help="published (the five Claude columns of the published matrix; the default) or all (also the live "
         "harness's four GPT-5.6 columns: openai, azure_openai, bedrock_mantle, vertex_ai_gpt; docs/gpt-columns.md)")


def _columns(value: str) -> catalog.Columns:
    try:
        return catalog.Columns(value)
    except ValueError:
        raise _fail(f"--columns must be published or all, not {value!r}") from None


FaultsOpt = typer.Option(
    False, "--faults", help="add the fault rows (the provider fails on purpose, then recovers; emulator only, "
                            "docs/faults.md) to the published rows; -f selects one by id too")
ClientOpt = typer.Option(
    "captured", "--client",
    help="who talks to LiteLLM: captured (what the CLI sent when the cassette was recorded, sent again; fast) "
         "or cli (the pinned Claude Code CLI itself, as the live run)")
ConfigOpt = typer.Option(None, "--config", help="run LiteLLM with this config file instead of ccmatrix's "
                                                 "(deployments named by the published aliases)")


ClaudeCodeOpt = typer.Option(
    None, "--claude-code", metavar="VERSION",
    help=f"the Claude Code release: whose cassette tree is replayed or recorded into (the captured client "
         f"sends its requests), and the CLI --client cli runs, installed with npm into ccmatrix's cache "
         f"(default {CLAUDE_CODE_VERSION}, the newest bundled; bundled: {', '.join(BUNDLED_VERSIONS)}; "
         "'latest': the newest on npm)")


CredentialsOpt = typer.Option(
    None, "--credentials", metavar="MODE|PROVIDER=MODE",
    help="how LiteLLM's deployments authenticate (repeat or comma-separate): a mode for every provider that "
         "has it, or for one; default: the live harness's (Bedrock: api-key; Vertex AI: metadata-server, "
         "global). Bedrock: api-key, sigv4, assumed-role; Vertex AI: metadata-server, service-account (us-east5); "
         "Anthropic and Azure: api-key. 'sigv4,service-account' is the setup ccmatrix used before (docs/credentials.md)")


def _credential_choice(values: Optional[List[str]]):  # type: ignore[no-untyped-def]
    from ccmatrix.providers import CredentialsError, choose

    try:
        return choose(values or [], catalog.ALL_PROVIDERS)
    except CredentialsError as exc:
        raise _fail(str(exc)) from None


RequestTimeoutOpt = typer.Option(
    120.0, "--request-timeout", min=1.0,
    help="seconds each client request to LiteLLM may take before the tier counts as hung")


def _execute(cells, options, litellm):  # type: ignore[no-untyped-def]
    """The run (runner.execute), with a progress bar on a terminal and a line per tenth in a CI log."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ccmatrix.run.runner import RunObserver, execute

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=err, transient=True, disable=not err.is_terminal)
    task = bar.add_task("starting LiteLLM", total=len(cells))

    started, counting = time.monotonic(), threading.Lock()  # the stacks report from threads

    class Progressing(RunObserver):
        done = 0

        def tier_done(self, result) -> None:  # type: ignore[no-untyped-def]
            bar.update(task, advance=1, description=f"{result.feature}/{result.provider}")
            with counting:
                self.done += 1
                tenth = self.done * 10 // len(cells)
                # a CI log: a line each time another tenth is done, instead of the bar
                if not err.is_terminal and tenth > (self.done - 1) * 10 // len(cells):
                    err.print(f"  {self.done}/{len(cells)} tiers ({self.done * 100 // len(cells)}%), {time.monotonic() - started:.0f} s",
                              highlight=False, markup=False)
            if result.status == "fail":  # only what needs attention goes to the log
                err.print(f"  FAIL {result.feature}/{result.provider}/{result.tier}", highlight=False, markup=False)
            elif result.status == "error":
                err.print(f"  RUN ERROR {result.feature}/{result.provider}/{result.tier}", highlight=False, markup=False)

        def stack_restarted(self, why: str) -> None:
            err.print(f"  {why.splitlines()[0]}; LiteLLM and mitmdump restarted", highlight=False, markup=False, soft_wrap=True)

    with bar:
        return execute(cells, litellm, options, observer=Progressing())


def _options(request_timeout: float = 120.0, **given):  # type: ignore[no-untyped-def]
    """The run's options as the command line gave them (a client name it does not know: exit 2)."""
    from ccmatrix.proxy.stack import Timeouts
    from ccmatrix.run.options import ConfigError, RunOptions

    try:
        return RunOptions(timeouts=Timeouts(request=request_timeout), **given)
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def _claude_code(version: Optional[str]) -> Optional[str]:
    """A release number as given, or "latest" resolved to the newest release npm has."""
    if version == "latest":
        from ccmatrix.client.claude_cli import latest_release

        version = latest_release()
        err.print(f"Claude Code latest: {version}", highlight=False)
    if version is not None and not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise _fail(f"--claude-code {version!r}: not a Claude Code release number (like {CLAUDE_CODE_VERSION}) "
                    "or 'latest'")
    return version


def _publish(result, out: Path, known_issues, verbose: bool = False) -> None:  # type: ignore[no-untyped-def]
    """A replayed (or merged) run's ending: the table, the reports, then the exit code
    (3 on a regression, 2 when some tiers could not be judged)."""
    from ccmatrix.report import write_reports
    from ccmatrix.report.table import render_table

    render_table(result, console, verbose)
    written = write_reports(result, out, known_issues)
    console.print("wrote " + ", ".join(str(p) for p in written), highlight=False, soft_wrap=True)
    if result.changed:
        # a warning, not a failure: the cells work; --strict makes them fail
        err.print(f"[yellow]warning:[/] {len(result.changed)} cell tier(s) changed: LiteLLM sent requests the "
                  "cassettes have no counterpart for; re-record them (ccmatrix record)", highlight=False)
    if result.regressions:
        raise typer.Exit(EXIT_REGRESSION)
    _run_errors(result)


def _run_errors(result) -> None:  # type: ignore[no-untyped-def]
    """Exit 2 when some tiers could not be judged (after the reports are written)."""
    if result.run_errors:
        names = ", ".join(f"{t.feature}/{t.provider}/{t.tier}" for t in result.run_errors)
        err.print(f"[red]error:[/] {len(result.run_errors)} cell tier(s) not judged: the run broke during "
                  f"{escape(names)} (see their errors); run them again", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE)


@command()
def run(
    feature: Optional[List[str]] = FeatureOpt,
    provider: Optional[List[str]] = ProviderOpt,
    tier: Optional[List[str]] = TierOpt,
    litellm: Optional[str] = LiteLLMOpt,
    out: Path = typer.Option(Path("out"), "--out", help="folder for compatibility-matrix.json and reports"),
    cassettes: Optional[Path] = CassettesOpt,
    strict: bool = typer.Option(
        False, "--strict", help="fail on drift (non-load-bearing differences) and on changed tiers too"),
    chunkings: str = typer.Option(
        "coalesced", "--chunkings", help="how replayed streams are cut into network writes: "
        "coalesced, recorded, events, mid-event, mid-char (comma-separated), or all; a tier fails if any fails"),
    client: str = ClientOpt,
    config: Optional[Path] = ConfigOpt,
    request_timeout: float = RequestTimeoutOpt,
    shard: Optional[str] = typer.Option(
        None, "--shard", help="K/N: run only shard K of N of the selected cells (whole cells, dealt round-robin); "
                              "join the shards' --out folders with ccmatrix merge"),
    faults: bool = FaultsOpt,
    claude_code: Optional[str] = ClaudeCodeOpt,
    jobs: int = typer.Option(
        min(2, os.cpu_count() or 1), "--jobs", min=1,
        help="with the captured client, replay on this many LiteLLM and mitmdump stacks side by side, each "
             "its share of whole cells (default: 2 where there are 2 cores; the CLI client runs one)"),
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="list every finding, those on passing tiers too (they are counted otherwise)"),
    credentials: Optional[List[str]] = CredentialsOpt,
    columns: str = ColumnsOpt,
) -> None:
    """Replay the bundled cassettes against a LiteLLM and print the matrix (the main job)."""
    from ccmatrix.recorder.chunking import parse_chunkings
    from ccmatrix.report.known_issues import load_known_issues

    known_issues = load_known_issues()
    claude_code = _claude_code(claude_code)
    try:
        chunking_names = parse_chunkings(chunkings)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    view = _columns(columns)
    cells = _select(feature, provider, tier, faults, view)
    choice = _credential_choice(credentials)
    if shard is not None:
        from ccmatrix.run.shards import shard as shard_of

        cells = shard_of(cells, shard)
        if not cells:
            raise _fail(f"--shard {shard}: this shard has no cell (the selection has fewer cells than shards)")
    root = _cassettes(cassettes)
    _writable(out)
    _user_config(config, cells)
    env = _env(litellm)
    err.print(f"replaying {len(cells)} cell tier(s) against {env.label} (client: {client}"
              + (f", shard {shard})" if shard else ")"), highlight=False, soft_wrap=True)
    options = _options(root=root, strict=strict, chunkings=tuple(chunking_names), client=client, config=config,
                       request_timeout=request_timeout, claude_code=claude_code, jobs=jobs, credentials=choice,
                       columns=view)
    result = _execute(cells, options, env)
    _publish(result, out, known_issues, verbose)


@command()
def gate(
    base: str = typer.Option(..., "--base", metavar=LITELLM_METAVAR,
                             help=f"the LiteLLM the change starts from (a pull request's base): {LITELLM_FORMS}"),
    head: str = typer.Option(..., "--head", metavar=LITELLM_METAVAR,
                             help="the LiteLLM with the change (a pull request's head), in the same forms"),
    feature: Optional[List[str]] = FeatureOpt,
    provider: Optional[List[str]] = ProviderOpt,
    tier: Optional[List[str]] = TierOpt,
    out: Path = typer.Option(Path("out"), "--out", help="folder for summary.md, gate.html, ccmatrix-gate.json and "
                                                         "each run's reports (base/, head/)"),
    cassettes: Optional[Path] = CassettesOpt,
    client: str = ClientOpt,
    config: Optional[Path] = ConfigOpt,
    request_timeout: float = RequestTimeoutOpt,
    claude_code: Optional[str] = ClaudeCodeOpt,
    jobs: int = typer.Option(min(2, os.cpu_count() or 1), "--jobs", min=1,
                             help="LiteLLM stacks side by side for each replay (see run)"),
    credentials: Optional[List[str]] = CredentialsOpt,
    columns: str = ColumnsOpt,
) -> None:
    """Judge a head LiteLLM against its base: exit 3 only for what the head breaks.

    Both are replayed (a base whose tree is unchanged is taken from the last gate that
    ran it; a head that is the base is replayed once). A cell tier that passes on the
    base and fails on the head, or a load-bearing field the head loses, is a
    regression; what fails on both is listed as pre-existing. docs/ci.md."""
    from ccmatrix.report.gate import render_text, write_gate_reports
    from ccmatrix.report.known_issues import load_known_issues
    from ccmatrix.run.gate import run_gate

    known_issues = load_known_issues()
    claude_code = _claude_code(claude_code)
    view = _columns(columns)
    cells = _select(feature, provider, tier, columns=view)
    choice = _credential_choice(credentials)
    root = _cassettes(cassettes)
    _writable(out)
    _user_config(config, cells)
    base_env, head_env = _env(base), _env(head)

    def replay(env, which):  # type: ignore[no-untyped-def]
        err.print(f"replaying {len(cells)} cell tier(s) on the {which}: {env.label}", highlight=False,
                  markup=False, soft_wrap=True)
        return _execute(cells, run_options, env)

    run_options = _options(root=root, client=client, config=config, request_timeout=request_timeout,
                           claude_code=claude_code, jobs=jobs, credentials=choice, columns=view)

    options = {"client": client, "claude_code": claude_code, "request_timeout": request_timeout,
               "config": config.read_text() if config is not None else None, "credentials": choice.encode(),
               "columns": view.value}
    verdict = run_gate(cells, base_env, head_env, root, replay, options,
                       base_label=base_env.source or f"litellm {base_env.version}",
                       head_label=head_env.source or f"litellm {head_env.version}")
    for line in render_text(verdict):
        console.print(line, highlight=False, markup=False)
    write_gate_reports(verdict, out, known_issues)
    console.print(f"wrote {out}/summary.md, {out}/gate.html, {out}/ccmatrix-gate.json, {out}/base/, {out}/head/",
                  highlight=False, soft_wrap=True)
    if verdict.regressions:
        raise typer.Exit(EXIT_REGRESSION)
    if verdict.of("not judged"):
        err.print("[red]error:[/] some cell tiers could not be judged (a process died or hung); run again",
                  highlight=False)
        raise typer.Exit(EXIT_USAGE)


@command()
def record(
    upstream: str = typer.Option(..., "--upstream", help="emulate (built-in provider emulator) or live (real clouds)"),
    feature: Optional[List[str]] = FeatureOpt,
    provider: Optional[List[str]] = ProviderOpt,
    tier: Optional[List[str]] = TierOpt,
    litellm: Optional[str] = LiteLLMOpt,
    cassettes: Optional[Path] = CassettesOpt,
    client: str = typer.Option(
        "cli", "--client", help="cli (the pinned Claude Code CLI runs each row; the default) or captured "
                                "(send each cassette's recorded client leg again: re-records the provider leg only)"),
    config: Optional[Path] = ConfigOpt,
    request_timeout: float = RequestTimeoutOpt,
    faults: bool = FaultsOpt,
    claude_code: Optional[str] = ClaudeCodeOpt,
    credentials: Optional[List[str]] = CredentialsOpt,
    columns: str = ColumnsOpt,
) -> None:
    """Re-record cassettes (all, or a selection) through the recorder addon.

    Both legs: what the client sent LiteLLM and what LiteLLM sent the providers. Recorded with
    another Claude Code release than the cassettes held, it prints per row what that
    release sends differently (betas, fields, tools)."""
    from ccmatrix.client import changes
    from ccmatrix.proxy.credentials import live_credentials
    from ccmatrix.recorder.mode import Upstream
    from ccmatrix.report.table import render_table
    from ccmatrix.run import rerecord

    mode = next((m for m in Upstream if m.value == upstream and m.records), None)
    if mode is None:
        raise _fail(f"--upstream must be emulate or live, not {upstream!r}")
    claude_code = _claude_code(claude_code)
    view = _columns(columns)
    cells = _select(feature, provider, tier, faults, view)
    choice = _credential_choice(credentials)
    if not mode.forwards_to_emulator:
        faulty = sorted({c.feature.id for c in cells if c.feature.fault is not None})
        if faulty:
            raise _fail(f"fault rows are emulator-only (a live provider cannot be made to fail on request): "
                        f"{', '.join(faulty)}")
        # names the missing variables before anything starts
        live_credentials(choice=choice, among=sorted({c.provider for c in cells}, key=catalog.ALL_PROVIDERS.index))
    root = _cassettes(cassettes, writing=True)
    env = _env(litellm)
    release = claude_code or CLAUDE_CODE_VERSION
    before = rerecord.snapshot(cells, root, release)
    err.print(f"recording {len(cells)} cell tier(s) ({upstream}, client: {client}) through {env.label}",
              highlight=False, soft_wrap=True)
    result = _execute(cells, _options(mode=mode, root=root, client=client, config=config,
                                      request_timeout=request_timeout, claude_code=claude_code,
                                      credentials=choice, columns=view), env)
    render_table(result, console)
    _name_what_changed(before, cells, root, release, env, complete=not (feature or provider or tier)
                       and config is None and not result.run_errors)
    # what this release sends that the one before it did not (only the CLI client can change it)
    previous = changes.previous_release(root, release) if client == "cli" else None
    if previous is not None:
        rows = list({c.feature.id: c.feature for c in cells}.values())
        changed = changes.changes(root, previous, release, rows)
        if changed:
            console.print(changes.render(changed), highlight=False, markup=False, soft_wrap=True)
    _run_errors(result)


def _name_what_changed(before, cells, root: Path, release: str, env, complete: bool) -> None:  # type: ignore[no-untyped-def]
    """What the re-recording changed; and when it recorded every published cell tier with
    ccmatrix's own config, the LiteLLM release the tree now stands for (the default
    release of the bundled tree: it moves forward with the cassettes)."""
    from ccmatrix.cassette import recorded_with
    from ccmatrix.run import rerecord

    changed = rerecord.changes(before, cells, root, release)
    if changed:
        console.print(f"{len(changed)} cell tier(s) recorded differently from before:", highlight=False)
        for line in rerecord.render(changed):
            console.print(line, highlight=False, markup=False, soft_wrap=True)
    if not complete or env.source is not None:
        return  # a selection, a user's config or a source tree does not say what the tree stands for
    previous = recorded_with.read(root)
    recorded_with.write(root, env.version, release)
    if previous is None or previous.litellm != env.version:
        was = previous.litellm if previous else "none"
        console.print(f"the cassettes under {root} now stand for LiteLLM {env.version} (were {was}): a run with no "
                      "--litellm replays against it; record every bundled Claude Code release's tree with it",
                      highlight=False, soft_wrap=True)


@command("capture-native")
def capture_native(
    feature: Optional[List[str]] = FeatureOpt,
    provider: Optional[List[str]] = ProviderOpt,
    tier: Optional[List[str]] = TierOpt,
    cassettes: Optional[Path] = CassettesOpt,
    faults: bool = FaultsOpt,
    claude_code: Optional[str] = ClaudeCodeOpt,
) -> None:
    """Capture Claude Code's own requests to Bedrock Invoke, Vertex AI and Foundry (the native reference).

    What Claude Code sends those providers when it talks to them itself (no LiteLLM),
    against the emulator: `run` compares LiteLLM's upstream requests with them
    (docs/native-reference.md)."""
    from ccmatrix.catalog import layout
    from ccmatrix.run.native import capture, native_cells

    claude_code = _claude_code(claude_code)
    release = claude_code or CLAUDE_CODE_VERSION
    root = _cassettes(cassettes, writing=True)
    cells = native_cells(_select(feature, provider, tier, faults), release)
    if not cells:
        native = ", ".join(p.id for p in catalog.PROVIDERS if p.native_reference == "capture")
        raise _fail(f"the selection has no CLI row on a provider with a native mode ({native})")
    err.print(f"capturing {len(cells)} native reference(s) with Claude Code {release}", highlight=False)
    failed = []

    def progress(done) -> None:  # type: ignore[no-untyped-def]
        if done.outcome.failure:
            failed.append(done)
            err.print(f"  FAIL {done.cell.id}: {done.outcome.failure[:200]}", highlight=False, markup=False)

    captured = capture(cells, root, release, progress=progress)
    console.print(f"captured {len(captured)} native reference(s) into "
                  f"{layout.release_dir(root, release) / layout.NATIVE_DIR} ({len(failed)} where the CLI itself failed)",
                  highlight=False)


@command()
def agreement(
    ours: Path = typer.Argument(..., help="a compatibility-matrix.json from ccmatrix"),
    published: Path = typer.Argument(..., help="the published matrix of the same LiteLLM release (schema v1)"),
) -> None:
    """How often ccmatrix's verdicts agree with a published live matrix, cell by cell.

    Cells whose live error is a fault of the live environment are left out."""
    from ccmatrix.report.agreement import compare, render
    from ccmatrix.report.matrix_json import load_matrix

    console.print(render(compare(load_matrix(ours), load_matrix(published))), highlight=False, markup=False,
                  soft_wrap=True)


@command("claude-code-changes")
def claude_code_changes(
    old: str = typer.Argument(..., help="a Claude Code release with a cassette tree (like 2.1.126)"),
    new: str = typer.Argument(..., help="another"),
    cassettes: Optional[Path] = CassettesOpt,
    feature: Optional[List[str]] = FeatureOpt,
) -> None:
    """Per row, what one Claude Code release's requests to the proxy carry that the
    other's do not (betas, body fields, tools, content block types)."""
    from ccmatrix.catalog import layout
    from ccmatrix.client import changes

    root = _cassettes(cassettes)
    for release in (old, new):
        if not layout.release_dir(root, release).is_dir():
            raise _fail(f"{layout.release_dir(root, release)}: no cassette tree for Claude Code {release} "
                        f"(there are: {', '.join(layout.releases(root)) or 'none'})")
    features = [catalog.feature(f) for f in feature] if feature else None
    rows = changes.changes(root, old, new, features)
    if not rows:
        raise _fail(f"Claude Code {old} and {new}: no row recorded by different releases in both trees")
    console.print(changes.render(rows), highlight=False, markup=False, soft_wrap=True)


MatchOpt = typer.Option(
    None, "--match", help="follow this failure only: a field path (body.output_config.effort), a check name or "
                          "error text; default: what fails at the bad end")


@command()
def bisect(
    feature: List[str] = typer.Option(..., "--feature", "-f", help="feature (row) id; repeatable"),
    provider: List[str] = typer.Option(..., "--provider", "-p", help="provider id; repeatable"),
    tier: Optional[List[str]] = TierOpt,
    good: Optional[str] = typer.Option(None, "--good", help="a LiteLLM release (a commit, with --repo) where the "
                                                         "cells pass"),
    bad: Optional[str] = typer.Option(None, "--bad", help="a LiteLLM release (a commit, with --repo) where they fail"),
    repo: Optional[Path] = typer.Option(
        None, "--repo", help="a LiteLLM git checkout: bisect its first-parent commits from --good to --bad"),
    candidates: Optional[str] = typer.Option(
        None, "--candidates",
        help="comma-separated releases or Python environment paths, in order from good to bad "
             "(e.g. environments built from LiteLLM commits); instead of --good/--bad"),
    match: Optional[str] = MatchOpt,
    cassettes: Optional[Path] = CassettesOpt,
    jobs: int = typer.Option(
        min(os.cpu_count() or 1, 4), "--jobs", "-j", min=1,
        help="candidates probed side by side (each a LiteLLM of ~400 MB on a core of its own); "
             "default: the cores, up to 4"),
) -> None:
    """Find the first LiteLLM release (or candidate) where the selected cells stop passing."""
    from ccmatrix.run import bisect as bisecting

    cells = _select(feature, provider, tier)
    root = _cassettes(cassettes)
    if candidates:
        order = [c.strip() for c in candidates.split(",") if c.strip()]
    elif repo is not None and good and bad:
        from ccmatrix.proxy.litellm_source import commits_between

        order = commits_between(repo, good, bad)
    elif good and bad:
        order = bisecting.releases_between(good, bad, bisecting.index_versions())
    else:
        raise _fail("give --good and --bad releases, or --candidates")
    err.print(f"bisecting {len(order)} candidate(s) over {len(cells)} cell tier(s), {jobs} at a time")
    search = bisecting.LiteLLMBisect(
        cells, root, match,
        on_probe=lambda candidate, verdict, detail: err.print(
            f"  litellm {candidate}: {verdict}  {detail[:160]}", highlight=False, markup=False, soft_wrap=True),
        on_following=lambda followed: err.print(f"  following: {followed}", highlight=False, markup=False,
                                                soft_wrap=True))
    found = search.run(order, jobs)
    bad_probe = next(p for p in found.probes if p.candidate == found.first_bad)
    lines = [f"last good: {_candidate_name(found.last_good)}", f"first bad: {_candidate_name(found.first_bad)}",
             f"  {bad_probe.detail}"]
    lines += [f"  {d}" for d in search.lost_fields(found.first_bad)]
    if found.untestable:
        lines.append(f"could not judge {', '.join(found.untestable)} (between them): "
                     f"the first bad one is {found.first_bad} or one of these")
    for skipped in found.skipped:
        lines.append(f"skipped {skipped.candidate}: {skipped.detail}")
    console.print("\n".join(lines), highlight=False, markup=False, soft_wrap=True)


def _candidate_name(candidate: str) -> str:
    """A release or environment as given; a source tree (`repo@sha`) with its subject line."""
    from ccmatrix.proxy.litellm_source import source_of

    tree = source_of(candidate)
    return candidate if tree is None else f"{tree.commit[:12]} {tree.subject}"


@command()
def check(
    feature: List[str] = typer.Option(..., "--feature", "-f", help="feature (row) id; repeatable"),
    provider: List[str] = typer.Option(..., "--provider", "-p", help="provider id; repeatable"),
    tier: Optional[List[str]] = TierOpt,
    litellm: Optional[str] = LiteLLMOpt,
    match: Optional[str] = typer.Option(
        None, "--match", help="bad only when a failure shows this (field path, check name, error text); "
                              "default: any failure"),
    cassettes: Optional[Path] = CassettesOpt,
) -> None:
    """Judge one selection against one LiteLLM, for `git bisect run`.

    Exit 0 good, 1 bad, 125 when it cannot be judged (LiteLLM does not build or start,
    or the run broke), 128 on bad input (git bisect run stops there instead of reading
    it as bad)."""
    try:
        cells = _select(feature, provider, tier)
        from ccmatrix.run.bisect import judge_replay, replay_candidate

        replayed = replay_candidate(litellm or DEFAULT_LITELLM_VERSION, cells, _cassettes(cassettes))
        verdict, detail = judge_replay(replayed, match)
    except CcmatrixError as exc:
        _fail(str(exc))
        raise typer.Exit(EXIT_CHECK_ABORT) from None
    except typer.Exit as exc:
        if exc.exit_code == EXIT_USAGE:
            raise typer.Exit(EXIT_CHECK_ABORT) from None
        raise
    console.print(f"{verdict}: {detail}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit({"good": 0, "bad": 1, "skip": 125}[verdict])


@command()
def export(
    cell_tier: str = typer.Argument(..., metavar="FEATURE/PROVIDER/TIER", help="the cell tier, e.g. thinking/bedrock_invoke/opus"),
    to: Path = typer.Option(..., "--to", help="folder for the exported test and its data (created; its files replaced)"),
    litellm: Optional[str] = typer.Option(
        None, "--litellm", metavar=LITELLM_METAVAR,
        help="take the provider's answers from a run of the cell through this LiteLLM (Claude Code's recorded "
             "requests sent again, the emulator answering) instead of the cassette; the expectations stay the "
             f"cassette's. {LITELLM_FORMS}"),
    cassettes: Optional[Path] = CassettesOpt,
    claude_code: Optional[str] = ClaudeCodeOpt,
    credentials: Optional[List[str]] = CredentialsOpt,
) -> None:
    """Write a cell tier's traffic as a LiteLLM unit test: the step after a red cell.

    The provider leg as a vcrpy cassette, Claude Code's requests, and a pytest file that
    calls LiteLLM in-process as the proxy does for the deployment and replays the
    provider's answers with respx: it fails naming a load-bearing field LiteLLM no longer
    sends, or a criterion its answer misses. Run it in a LiteLLM environment with pytest
    and respx (LiteLLM's dev dependencies): python -m pytest DIR. docs/red-cells.md."""
    from ccmatrix.export import export_cell, run_traffic

    try:
        cell = catalog.CellTier.parse(cell_tier)
    except catalog.CatalogError as exc:
        raise _fail(str(exc)) from None
    release = _claude_code(claude_code) or CLAUDE_CODE_VERSION
    root, choice = _cassettes(cassettes), _credential_choice(credentials)
    traffic = run_traffic(cell, _env(litellm), root, release, choice) if litellm is not None else None
    written = export_cell(cell, root, release, to, choice, traffic)
    for path in written:
        console.print(str(path), highlight=False, markup=False, soft_wrap=True)
    err.print(f"run it in a LiteLLM environment with pytest and respx: python -m pytest {to}", highlight=False,
              markup=False, soft_wrap=True)


@command()
def merge(
    shards: List[Path] = typer.Argument(..., help="the --out folders of `ccmatrix run --shard K/N` (or their "
                                                   "ccmatrix-run.json files)"),
    out: Path = typer.Option(Path("out"), "--out", help="folder for the merged matrix and reports"),
) -> None:
    """Join shard results into one matrix, HTML and summary (exit 3 on a regression, as run)."""
    from ccmatrix.report.known_issues import load_known_issues
    from ccmatrix.report.merge import load_run
    from ccmatrix.report.merge import merge as merge_runs

    _publish(merge_runs([(str(path), load_run(path)) for path in shards]), out, load_known_issues())


@command()
def diff(old: Path = typer.Argument(...), new: Path = typer.Argument(...)) -> None:
    """Compare two compatibility-matrix.json files (schema v1); exit 3 on pass -> fail."""
    from ccmatrix.report.matrix_diff import compare_matrices, render_comparison
    from ccmatrix.report.matrix_json import load_matrix

    comparison = compare_matrices(load_matrix(old), load_matrix(new))
    console.print(render_comparison(comparison), highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(comparison.exit_code)


@command()
def html(
    matrix: Path = typer.Argument(..., help="a compatibility-matrix.json (schema v1, from ccmatrix or the docs site)"),
    output: Path = typer.Option(Path("compatibility-matrix.html"), "--output", "-o"),
    known_issues: Optional[Path] = typer.Option(None, "--known-issues", help="known-issues.yaml (default: the bundled one)"),
    review: bool = typer.Option(False, "--review", help="for ccmatrix's maintainers: list every known issue, with "
                                                        "'ready to remove' where all of its cells pass"),
) -> None:
    """Render the HTML matrix page from any schema v1 JSON file."""
    from ccmatrix.report.html import render_html
    from ccmatrix.report.known_issues import load_known_issues
    from ccmatrix.report.matrix_json import load_matrix

    issues = load_known_issues(known_issues) if known_issues else load_known_issues()
    page = render_html(load_matrix(matrix), issues, review=review)
    output.write_text(page, encoding="utf-8")
    console.print(f"wrote {output}", highlight=False)


@command()
def setup(
    litellm: Optional[List[str]] = typer.Option(
        None, "--litellm", help=f"LiteLLM releases to prepare besides the default ({DEFAULT_LITELLM_VERSION}); repeatable"),
    claude_code: bool = typer.Option(False, "--claude-code",
                                     help=f"also install the Claude Code releases the bundled cassettes were recorded "
                                          f"with ({', '.join(BUNDLED_VERSIONS)})"),
    wheelhouse: bool = typer.Option(False, "--wheelhouse",
                                    help="also download ccmatrix's own dependencies as wheels (to install it offline)"),
) -> None:
    """Prepare ccmatrix's cached environments, so later runs and the tests need no network.

    LiteLLM releases with uv, the pinned Claude Code CLI with npm, the mitmproxy CA."""
    from ccmatrix import wheelhouse as wheels
    from ccmatrix.client.claude_cli import install
    from ccmatrix.proxy.litellm_env import resolve
    from ccmatrix.proxy.mitmdump import ensure_mitm_ca

    console.print(f"mitmproxy CA {ensure_mitm_ca()}", highlight=False)
    for spec in dict.fromkeys([DEFAULT_LITELLM_VERSION, *(litellm or [])]):
        console.print(resolve(spec).label, highlight=False, soft_wrap=True)
    if claude_code:
        for version in BUNDLED_VERSIONS:
            console.print(f"claude {install(version)}", highlight=False)
    if wheelhouse:
        console.print(f"wheelhouse {wheels.fill()}", highlight=False)


@command("litellm-config")
def litellm_config_cmd(credentials: Optional[List[str]] = CredentialsOpt) -> None:
    """Print the LiteLLM proxy config ccmatrix runs (real endpoints, credentials from the environment)."""
    import yaml

    from ccmatrix.proxy.litellm_config import build_config

    document = build_config(credentials=_credential_choice(credentials))
    console.print(yaml.safe_dump(document, sort_keys=False), highlight=False, markup=False, soft_wrap=True)


@command()
def version() -> None:
    """Print ccmatrix's version and its pinned LiteLLM and Claude Code versions."""
    console.print(f"ccmatrix {__version__} (LiteLLM default {DEFAULT_LITELLM_VERSION}, "
                  f"Claude Code {CLAUDE_CODE_VERSION})", highlight=False)


def main() -> None:  # pragma: no cover
    sys.exit(app())
