"""The house's boundaries, read from the source: layers point one way, and Slack has one door.

- No module under app/services, app/providers, app/store, app/domain* or app/model imports app.slack;
  the renderers import view values only, never a service.
- Only the gateway modules import or construct slack_sdk's WebClient.
- Outside the gateway (and the sandbox) no code calls a WebClient method, nor Bolt's say/respond/client.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from slack_sdk import WebClient

from app.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"

GATEWAY = {"app/slack/gateway.py", "app/slack/gateway_client.py"}
# The layers below app/slack: they speak domain values and never reach up into Slack's side.
LOWER = ("app/services/", "app/providers/", "app/store/", "app/domain", "app/model/", "app/chat.py")
# Every Web API method name (chat_postMessage, users_info, api_call, ...), but not Python's own names.
WEB_CLIENT_NAMES = {name for name in dir(WebClient) if not name.startswith("_") and name != "logger"}
BOLT_HELPERS = {"say", "respond", "client"}
# Bolt's decorators that register a listener (``@app.command("/oncall")``, ``@app.event(...)``, ...).
BOLT_REGISTRARS = {"command", "event", "action", "view", "shortcut", "message", "options", "error", "use"}


def modules() -> Iterator[tuple[str, ast.Module]]:
    """(path relative to the repository, parsed module) of every app module outside the sandbox."""
    for path in sorted(APP.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("app/sandbox/"):
            continue
        yield relative, ast.parse(path.read_text(encoding="utf-8"), relative)


def imported(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of every import, ``from a import b`` giving both ``a`` and ``a.b``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def test_the_lower_layers_never_import_app_slack() -> None:
    offenders = [
        f"{path}:{line} imports {name}"
        for path, tree in modules()
        if path.startswith(LOWER)
        for line, name in imported(tree)
        if name == "app.slack" or name.startswith("app.slack.")
    ]
    assert not offenders, "\n".join(offenders)


def test_renderers_import_only_view_values_never_services() -> None:
    renderers = [
        path
        for path, _ in modules()
        if path.startswith("app/slack/")
        and (
            path.endswith("_blocks.py")
            or path.endswith(
                ("notice_text.py", "render.py", "words.py", "oncall_help.py", "person_notices.py")
            )
        )
    ]
    assert "app/slack/handover_blocks.py" in renderers
    offenders = [
        f"{path}:{line} imports {name}"
        for path, tree in modules()
        if path in renderers
        for line, name in imported(tree)
        if name.startswith(("app.services", "app.store", "app.runtime"))
    ]
    assert not offenders, "\n".join(offenders)


def test_only_the_gateway_imports_or_builds_a_web_client() -> None:
    offenders = []
    for path, tree in modules():
        if path in GATEWAY:
            continue
        for line, name in imported(tree):
            if name.split(".")[-1] == "WebClient" or name == "slack_sdk.web":
                offenders.append(f"{path}:{line} imports {name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Name | ast.Attribute) and _name(node) == "WebClient":
                offenders.append(f"{path}:{node.lineno} names WebClient")
    assert not offenders, "\n".join(offenders)


def test_outside_the_gateway_nothing_calls_a_web_api_method() -> None:
    offenders = []
    for path, tree in modules():
        if path in GATEWAY:
            continue
        for node in ast.walk(tree):
            called = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            if called and node.func.attr in WEB_CLIENT_NAMES:  # type: ignore[attr-defined]
                offenders.append(f"{path}:{node.lineno} calls .{node.func.attr}()")  # type: ignore[attr-defined]
    assert not offenders, "\n".join(offenders)


def test_no_listener_takes_bolts_say_respond_or_client() -> None:
    offenders = []
    for path, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _is_listener(node):
                arguments = node.args
                names = [a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]]
                taken = BOLT_HELPERS.intersection(names)
                if taken:
                    offenders.append(f"{path}:{node.lineno} takes {sorted(taken)}")
            called = isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            if path.startswith("app/slack/") and called and node.func.id in BOLT_HELPERS:  # type: ignore[attr-defined]
                offenders.append(f"{path}:{node.lineno} calls {node.func.id}()")  # type: ignore[attr-defined]
    assert not offenders, "\n".join(offenders)


def test_the_scan_sees_what_it_forbids() -> None:
    """The rules above would catch each form they name (so a passing scan means something)."""
    source = (
        "import app.slack.blocks\nfrom app.slack import post\nfrom app import slack\n"
        "from slack_sdk import WebClient\nc = WebClient()\nc.chat_postMessage(channel='C')\n"
        "def listener(ack, say):\n    say('hi')\n"
    )
    tree = ast.parse(source)
    names = [name for _, name in imported(tree)]
    assert {"app.slack.blocks", "app.slack.post", "app.slack"} <= set(names)
    assert "slack_sdk.WebClient" in names
    [listener] = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    assert not _is_listener(listener)
    decorated = ast.parse("@app.event('app_mention')\ndef on(event, say):\n    pass\n").body[0]
    assert isinstance(decorated, ast.FunctionDef)
    assert _is_listener(decorated)
    calls = [
        n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
    ]
    assert {"chat_postMessage", "users_info", "api_call"} <= WEB_CLIENT_NAMES
    assert calls == ["chat_postMessage"]


def _name(node: ast.Name | ast.Attribute) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr


def _is_listener(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """True when a Bolt decorator (``@app.event(...)``, ``@app.error``) registers the function."""
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute) and target.attr in BOLT_REGISTRARS:
            return True
    return False


def test_no_runtime_field_is_patched_in_after_construction() -> None:
    """Listeners, jobs and the demo get their collaborators up front: the Runtime is frozen, and no
    module (the demo included) assigns ``runtime.x = ...``."""
    assert Runtime.__dataclass_params__.frozen  # type: ignore[attr-defined]
    offenders = []
    for path, tree in modules():
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                owner = target.value if isinstance(target, ast.Attribute) else None
                if isinstance(owner, ast.Name) and owner.id == "runtime":
                    offenders.append(f"{path}:{node.lineno} assigns runtime.{target.attr}")  # type: ignore[attr-defined]
    assert not offenders, "\n".join(offenders)


def test_a_socket_mode_client_asks_the_gateway_for_its_websocket_url() -> None:
    """Whatever opens a Socket Mode websocket (the bot's connection, check) gets its URL from the gateway.

    apps.connections.open is a Web API call like any other: a module that speaks websockets or
    slack_sdk's Socket Mode calls the gateway's ``open_connection`` (and, by the rule above, no
    ``apps_connections_open`` of its own).
    """
    speakers = [
        (path, tree)
        for path, tree in modules()
        if any(name.startswith(("websockets", "slack_sdk.socket_mode")) for _, name in imported(tree))
    ]
    assert "app/slack/socket_mode.py" in [path for path, _ in speakers]
    offenders = [
        path
        for path, tree in speakers
        if "open_connection"
        not in [
            n.func.attr
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
        ]
    ]
    assert not offenders, f"these open a websocket without the gateway's open_connection: {offenders}"
