"""What changed in Claude Code: per row, the traits of two releases' client legs compared.
The "new release" here is a recorded cassette changed in code (a beta added, a tool
deferred, a field dropped, a content block type added), as a new CLI would send it."""

from __future__ import annotations

from ccmatrix import catalog
from ccmatrix.cassette import store as cassettes
from ccmatrix.cassette.models import Body, RecordedRequest
from ccmatrix.cli import app
from ccmatrix.client.changes import changes, previous_release, render, request_traits
from ccmatrix.client.claude_cli import BUNDLED_VERSIONS

ROW = "tool_use"


def _request(headers: dict, body: dict) -> RecordedRequest:
    return RecordedRequest(method="POST", url="/v1/messages?beta=true", headers=headers, body=Body(json_=body))


def test_a_request_s_traits_are_what_a_proxy_forwards():
    traits = request_traits(_request(
        {"anthropic-beta": "a-2025,b-2026", "x-app": "cli", "user-agent": "claude-cli/9", "content-length": "9"},
        {"model": "m", "max_tokens": 32000, "thinking": {"type": "adaptive", "display": "updates"},
         "output_config": {"effort": "high"}, "context_management": {"edits": [{"type": "clear"}]},
         "system": [{"type": "text", "text": "long prompt"}], "metadata": {"user_id": "u"},
         "tools": [{"name": "Bash", "input_schema": {}}, {"name": "WebSearch", "defer_loading": True},
                   {"type": "web_search_20250305", "name": "web_search"}],
         "messages": [{"role": "user", "content": [
             {"type": "tool_result", "content": [{"type": "tool_reference", "tool_name": "WebSearch"}]}]}]}))
    assert traits == {
        "beta a-2025", "beta b-2026", "header x-app",
        "field body.max_tokens=32000", "field body.thinking.type=adaptive", "field body.thinking.display=updates",
        "field body.output_config.effort=high", "field body.context_management.edits[*].type=clear",
        "tool Bash", "tool WebSearch (deferred)", "tool web_search (web_search_20250305)",
        "block tool_result", "block tool_reference",
    }


OLD = "2.1.126"  # a bundled release's tree: the one the "newer release" is derived from


def _newer_release(tmp_path):
    """A cassette root holding the row's cassettes of release OLD, and the same as a newer
    CLI (9.9.9) would have recorded them, in a tree of its own."""
    root, bundled = tmp_path / "cassettes", catalog.DEFAULT_CASSETTE_DIR
    for cell in catalog.select(features=[ROW]):
        cassette = cassettes.load(cell.cassette_path(bundled, OLD), bundled)
        cassettes.save(cassette, cell.cassette_path(root, OLD), root)
        cassette.provenance.claude_code_version = "9.9.9"
        for request in cassette.client:
            request.headers["anthropic-beta"] += ",newer-beta-2027-01-01"
            body = request.body.value()
            body.pop("temperature", None)
            for tool in body.get("tools") or []:
                if tool.get("name") == "Bash":
                    tool["defer_loading"] = True
            body["messages"][-1]["content"] = [*body["messages"][-1]["content"], {"type": "container_upload"}] \
                if isinstance(body["messages"][-1]["content"], list) else body["messages"][-1]["content"]
            request.body = Body(json_=body)
        cassettes.save(cassette, cell.cassette_path(root, "9.9.9"), root)
    return root


def test_a_newer_release_s_changes_are_named_per_row(tmp_path):
    root = _newer_release(tmp_path)
    [row] = changes(root, OLD, "9.9.9", [catalog.feature(ROW)])
    assert row.row == ROW and row.versions == (OLD, "9.9.9")
    assert set(row.added) == {"beta newer-beta-2027-01-01", "tool Bash (deferred)", "block container_upload"}
    assert "tool Bash" in row.removed and "field body.temperature=1" in row.removed
    assert row.requests[0] == row.requests[1]
    text = render([row])
    assert "-> 9.9.9" in text and "  + beta newer-beta-2027-01-01" in text and "  - tool Bash" in text
    # the same release on both sides is no version change
    assert changes(root, OLD, OLD, [catalog.feature(ROW)]) == []
    # the release a new one is compared with: the newest older tree
    assert previous_release(root, "9.9.9") == OLD and previous_release(root, OLD) is None
    # between bundled trees: the newest older one, not the oldest
    assert previous_release(catalog.DEFAULT_CASSETTE_DIR, "2.1.332") == "2.1.228"
    assert previous_release(catalog.DEFAULT_CASSETTE_DIR, "2.1.228") == "2.1.126"


def test_the_command_compares_two_releases_trees_and_refuses_bad_input(tmp_path):
    from typer.testing import CliRunner

    root = _newer_release(tmp_path)
    runner = CliRunner()
    done = runner.invoke(app, ["claude-code-changes", OLD, "9.9.9", "--cassettes", str(root), "-f", ROW])
    assert done.exit_code == 0, done.output
    assert f"{ROW}:" in done.output and "+ beta newer-beta-2027-01-01" in done.output
    missing = runner.invoke(app, ["claude-code-changes", "1.0.0", "9.9.9", "--cassettes", str(root)])
    assert missing.exit_code == 2 and "no cassette tree for Claude Code 1.0.0" in missing.output
    same = runner.invoke(app, ["claude-code-changes", "9.9.9", "9.9.9", "--cassettes", str(root)])
    assert same.exit_code == 2 and "no row recorded by different releases" in same.output


def test_a_release_replays_only_its_own_tree(tmp_path):
    import shutil

    import pytest

    from ccmatrix.run import runner
    from ccmatrix.run.runner import ConfigError

    cells = catalog.select(features=["thinking"], providers=["bedrock_invoke"])
    for client in ("cli", "captured"):
        with pytest.raises(ConfigError, match="no cassettes recorded with Claude Code 9.9.9 "
                                              rf"\(this tree has: {', '.join(BUNDLED_VERSIONS)}\)"):
            runner.plan(cells, runner.RunOptions(root=catalog.DEFAULT_CASSETTE_DIR, client=client, claude_code="9.9.9"))
    # a cassette of another release put in a tree: its client leg is not this release's
    root = tmp_path / "cassettes"
    shutil.copytree(catalog.DEFAULT_CASSETTE_DIR / "blobs", root / "blobs")
    for cell in cells:
        target = cell.cassette_path(root, "9.9.9")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(cell.cassette_path(catalog.DEFAULT_CASSETTE_DIR, OLD), target)
    with pytest.raises(ConfigError, match="recorded with Claude Code 2.1.126, in the tree of 9.9.9"):
        runner.plan(cells, runner.RunOptions(root=root, client="captured", claude_code="9.9.9"))


def test_a_row_that_needs_a_newer_release_is_not_run_for_an_older_one():
    from ccmatrix.run import runner

    stall = catalog.select(features=["fault_stream_stall"], providers=["anthropic"])
    for client in ("cli", "captured"):  # 2.1.126's tree has no cassette for it either (nor 2.1.228's)
        older = runner.plan(stall, runner.RunOptions(root=catalog.DEFAULT_CASSETTE_DIR, client=client, claude_code=OLD))
        assert older.cli is None  # nothing to run, so nothing installed
        assert set(older.too_old) == {c.id for c in stall}
        assert "needs Claude Code 2.1.332 or newer" in older.too_old[stall[0].id]
    # 2.1.228 can set its watchdog to 10 s but ends the run when it fires: too old as well
    assert set(runner.too_old_tiers(stall, "2.1.228")) == {c.id for c in stall}
    assert runner.too_old_tiers(stall, "2.1.332") == {} and runner.too_old_tiers(stall, "2.1.400") == {}
    assert runner.plan(stall, runner.RunOptions()).too_old == {}


def _registry(answer: bytes):
    """npm's registry on loopback, answering every request with `answer`."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.server.paths.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.paths = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_latest_is_the_release_npm_s_registry_tags_latest(monkeypatch):
    from typer.testing import CliRunner

    from ccmatrix.cli import _claude_code
    from ccmatrix.client.claude_cli import latest_release

    registry = _registry(b'{"name": "@anthropic-ai/claude-code", "version": "2.1.400"}')
    monkeypatch.setenv("npm_config_registry", f"http://127.0.0.1:{registry.server_port}/")
    try:
        assert latest_release() == "2.1.400" and _claude_code("latest") == "2.1.400"
        assert registry.paths == ["/@anthropic-ai%2Fclaude-code/latest"] * 2
        assert _claude_code("2.1.126") == "2.1.126" and registry.paths == ["/@anthropic-ai%2Fclaude-code/latest"] * 2
    finally:
        registry.shutdown()
    broken = _registry(b'{"version": "soon"}')
    monkeypatch.setenv("npm_config_registry", f"http://127.0.0.1:{broken.server_port}")
    try:
        done = CliRunner().invoke(app, ["run", "--client", "cli", "--claude-code", "latest", "-f", "thinking"])
        assert done.exit_code == 2 and "answered no release number (version: 'soon')" in done.output, done.output
    finally:
        broken.shutdown()
