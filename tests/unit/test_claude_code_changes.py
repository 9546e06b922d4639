"""What changed in Claude Code: per row, the traits of two releases' client legs compared.
The "new release" here is a recorded cassette changed in code (a beta added, a tool
deferred, a field dropped, a content block type added), as a new CLI would send it."""

from __future__ import annotations

from ccmatrix import catalog
from ccmatrix.cassette import store as cassettes
from ccmatrix.cassette.models import Body, RecordedRequest
from ccmatrix.cli import app
from ccmatrix.client.changes import changes, render, request_traits

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


def _newer_release(root, tmp_path):
    """A copy of the row's cassettes as a newer CLI would have recorded them."""
    new_root = tmp_path / "new"
    for cell in catalog.select(features=[ROW]):
        cassette = cassettes.load(cell.cassette_path(root), root)
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
        cassettes.save(cassette, cell.cassette_path(new_root), new_root)
    return new_root


def test_a_newer_release_s_changes_are_named_per_row(tmp_path):
    old_root = catalog.DEFAULT_CASSETTE_DIR
    new_root = _newer_release(old_root, tmp_path)
    [row] = changes(old_root, new_root, [catalog.feature(ROW)])
    assert row.row == ROW and row.versions[1] == "9.9.9"
    assert set(row.added) == {"beta newer-beta-2027-01-01", "tool Bash (deferred)", "block container_upload"}
    assert "tool Bash" in row.removed and "field body.temperature=1" in row.removed
    assert row.requests[0] == row.requests[1]
    text = render([row])
    assert "-> 9.9.9" in text and "  + beta newer-beta-2027-01-01" in text and "  - tool Bash" in text
    # the same release on both sides is no version change
    assert changes(old_root, old_root, [catalog.feature(ROW)]) == []


def test_the_command_compares_two_trees_and_refuses_bad_input(tmp_path):
    from typer.testing import CliRunner

    new_root = _newer_release(catalog.DEFAULT_CASSETTE_DIR, tmp_path)
    runner = CliRunner()
    done = runner.invoke(app, ["claude-code-changes", str(catalog.DEFAULT_CASSETTE_DIR), str(new_root), "-f", ROW])
    assert done.exit_code == 0, done.output
    assert f"{ROW}:" in done.output and "+ beta newer-beta-2027-01-01" in done.output
    missing = runner.invoke(app, ["claude-code-changes", str(tmp_path / "nothing"), str(new_root)])
    assert missing.exit_code == 2 and "no such cassette tree" in missing.output
    same = runner.invoke(app, ["claude-code-changes", str(new_root), str(new_root)])
    assert same.exit_code == 2 and "no row recorded by different Claude Code releases" in same.output


def test_a_release_replays_only_the_cassettes_it_recorded():
    import pytest

    from ccmatrix.run import runner
    from ccmatrix.run.runner import ConfigError

    cells = catalog.select(features=["thinking"], providers=["bedrock_invoke"])
    with pytest.raises(ConfigError, match="recorded with Claude Code 2.1.126; replaying with the CLI of 9.9.9"):
        runner.plan(cells, catalog.DEFAULT_CASSETTE_DIR, "replay", "cli", "9.9.9")
    with pytest.raises(ConfigError, match="picks the CLI that --client cli runs"):
        runner.plan(cells, catalog.DEFAULT_CASSETTE_DIR, "replay", "captured", "9.9.9")


def test_a_row_that_needs_a_newer_release_is_not_run_by_an_older_cli():
    from ccmatrix.run import runner

    stall = catalog.select(features=["fault_stream_stall"], providers=["anthropic"])
    older = runner.plan(stall, catalog.DEFAULT_CASSETTE_DIR, "replay", "cli", "2.1.126")
    assert older.cli is None  # nothing to run, so nothing installed
    assert set(older.too_old) == {c.id for c in stall}
    assert "needs Claude Code 2.1.332 or newer" in older.too_old[stall[0].id]
    assert runner._too_old(stall, "2.1.332") == {} and runner._too_old(stall, "2.1.400") == {}
    # the captured client replays the newer release's client leg whatever CLI is pinned
    assert runner.plan(stall, catalog.DEFAULT_CASSETTE_DIR, "replay", "captured").too_old == {}


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
