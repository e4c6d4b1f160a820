"""The sandbox Web API, driven by the real slack_sdk WebClient over loopback HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from app.sandbox.slack_web import DEFAULT_SCOPES, SlackSandbox

BOT = "xoxb-sandbox"
APP = "xapp-sandbox"


@pytest.fixture
def slack() -> Iterator[SlackSandbox]:
    with SlackSandbox() as sandbox:
        sandbox.add_user("U1", name="alice", email="Alice@Example.com", real_name="Alice A", tz="Asia/Tokyo")
        sandbox.add_user("U2", name="bob", email="bob@example.com")
        sandbox.add_user("UGONE", name="gone", email="gone@example.com", deleted=True)
        sandbox.add_user("UGUEST", name="guest", is_restricted=True)
        sandbox.add_user("UBOT2", name="otherbot", is_bot=True)
        sandbox.add_channel("C1", name="ops")
        sandbox.add_channel("COUT", name="elsewhere", bot_is_member=False)
        sandbox.add_channel("COLD", name="old", is_archived=True)
        sandbox.add_channel("GPRIV", name="secret", is_private=True, bot_is_member=False)
        sandbox.add_usergroup("S1", handle="ops-oncall", name="Ops on call", users=["U1"])
        sandbox.add_usergroup("S2", handle="old-group", enabled=False)
        yield sandbox


@pytest.fixture
def client(slack: SlackSandbox) -> WebClient:
    return WebClient(token=BOT, base_url=slack.api_url)


def api_error(call: object) -> SlackApiError:
    """Run a zero-argument call that must fail and return the SlackApiError."""
    with pytest.raises(SlackApiError) as info:
        call()  # type: ignore[operator]
    return info.value


# ---- auth and scopes ------------------------------------------------------------------------------


def test_auth_test_answers_identity_and_scope_header(slack: SlackSandbox, client: WebClient) -> None:
    response = client.auth_test()
    assert response.data == {
        "ok": True,
        "url": "https://sandbox.slack.com/",
        "team": "Sandbox",
        "user": "oncall-bot",
        "team_id": "T0SANDBOX",
        "user_id": "UBOT",
        "bot_id": "BSANDBOX",
        "is_enterprise_install": False,
    }
    assert response.headers["x-oauth-scopes"] == ",".join(DEFAULT_SCOPES)
    assert slack.api_url.startswith("http://127.0.0.1:")
    assert slack.api_url.endswith("/api/")


def test_scope_header_follows_set_scopes_and_rides_on_errors(slack: SlackSandbox, client: WebClient) -> None:
    slack.set_scopes(["chat:write", "users:read"])
    error = api_error(lambda: client.users_info(user="UNOPE"))
    assert error.response.headers["x-oauth-scopes"] == "chat:write,users:read"


def test_not_authed_without_token(slack: SlackSandbox) -> None:
    error = api_error(lambda: WebClient(base_url=slack.api_url).auth_test())
    assert error.response["error"] == "not_authed"


def test_invalid_auth_with_unknown_token(slack: SlackSandbox) -> None:
    error = api_error(lambda: WebClient(token="xoxb-nope", base_url=slack.api_url).auth_test())
    assert error.response["error"] == "invalid_auth"


def test_token_types_are_not_interchangeable(slack: SlackSandbox, client: WebClient) -> None:
    app_client = WebClient(token=APP, base_url=slack.api_url)
    assert api_error(lambda: app_client.users_info(user="U1")).response["error"] == "not_allowed_token_type"
    error = api_error(lambda: client.apps_connections_open(app_token=BOT))
    assert error.response["error"] == "not_allowed_token_type"


def test_apps_connections_open_issues_a_loopback_ws_url(slack: SlackSandbox, client: WebClient) -> None:
    url = client.apps_connections_open(app_token=APP)["url"]
    assert url.startswith(f"ws://127.0.0.1:{slack.socket.port}/link/?ticket=")


def test_missing_scope_names_needed_and_provided(slack: SlackSandbox, client: WebClient) -> None:
    slack.set_scopes(["chat:write"])
    error = api_error(lambda: client.users_lookupByEmail(email="bob@example.com"))
    assert error.response.data == {
        "ok": False,
        "error": "missing_scope",
        "needed": "users:read.email",
        "provided": "chat:write",
    }


def test_unknown_method_is_404(client: WebClient) -> None:
    error = api_error(lambda: client.api_call("nope.nothing"))
    assert error.response.status_code == 404
    assert error.response["error"] == "unknown_method"


# ---- users and conversations ------------------------------------------------------------------


def test_lookup_by_email_is_case_insensitive(client: WebClient) -> None:
    assert client.users_lookupByEmail(email="alice@example.COM")["user"]["id"] == "U1"
    error = api_error(lambda: client.users_lookupByEmail(email="nobody@example.com"))
    assert error.response["error"] == "users_not_found"


def test_users_info_shape_and_changes(slack: SlackSandbox, client: WebClient) -> None:
    user = client.users_info(user="U1")["user"]
    assert user["tz"] == "Asia/Tokyo"
    assert user["tz_offset"] == 9 * 3600
    assert user["tz_label"] == "JST"
    assert user["profile"] == {
        "email": "Alice@Example.com",
        "real_name": "Alice A",
        "display_name": "alice",
        "real_name_normalized": "Alice A",
        "display_name_normalized": "alice",
    }
    assert (user["deleted"], user["is_bot"], user["is_restricted"]) == (False, False, False)
    slack.set_user("U1", deleted=True, tz="UTC")
    changed = client.users_info(user="U1")["user"]
    assert (changed["deleted"], changed["tz_offset"]) == (True, 0)
    assert api_error(lambda: client.users_info(user="UNOPE")).response["error"] == "user_not_found"


def test_conversations_info(client: WebClient) -> None:
    channel = client.conversations_info(channel="C1")["channel"]
    assert (channel["id"], channel["name"], channel["is_member"]) == ("C1", "ops", True)
    error = api_error(lambda: client.conversations_info(channel="CNOPE"))
    assert error.response["error"] == "channel_not_found"


# ---- chat ---------------------------------------------------------------------------------------


def test_post_message_records_and_returns_increasing_ts(slack: SlackSandbox, client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    first = client.chat_postMessage(channel="C1", text="hi", blocks=blocks)
    second = client.chat_postMessage(channel="C1", text="reply", thread_ts=first["ts"], username="pager")
    assert first["channel"] == "C1"
    assert first["message"]["text"] == "hi"
    assert float(second["ts"]) > float(first["ts"])
    posted = slack.messages("C1")
    assert [(m["text"], m["thread_ts"], m["blocks"]) for m in posted] == [
        ("hi", None, blocks),
        ("reply", first["ts"], None),
    ]
    assert posted[1]["username"] == "pager"
    assert slack.messages("COUT") == []


def test_post_message_to_a_user_goes_to_their_dm(slack: SlackSandbox, client: WebClient) -> None:
    response = client.chat_postMessage(channel="U2", text="you are on call")
    assert response["channel"].startswith("D")
    [message] = slack.messages("U2")
    assert (message["channel"], message["user"]) == (response["channel"], "U2")
    assert slack.messages(response["channel"]) == [message]


@pytest.mark.parametrize(
    ("channel", "text", "error"),
    [
        ("CNOPE", "x", "channel_not_found"),
        ("UNOPE", "x", "channel_not_found"),
        ("GPRIV", "x", "channel_not_found"),
        ("COUT", "x", "not_in_channel"),
        ("COLD", "x", "is_archived"),
        pytest.param("C1", "", "no_text", marks=pytest.mark.filterwarnings("ignore:The top-level `text`")),
    ],
)
def test_post_message_errors(client: WebClient, channel: str, text: str, error: str) -> None:
    assert api_error(lambda: client.chat_postMessage(channel=channel, text=text)).response["error"] == error


def test_post_ephemeral(slack: SlackSandbox, client: WebClient) -> None:
    response = client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    [ephemeral] = slack.ephemerals("C1")
    assert (ephemeral["ts"], ephemeral["user"]) == (response["message_ts"], "U1")
    assert ephemeral["text"] == "only you"
    assert slack.messages() == []


def test_update_and_permalink(slack: SlackSandbox, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="old")["ts"]
    reply_ts = client.chat_postMessage(channel="C1", text="in thread", thread_ts=ts)["ts"]
    client.chat_update(channel="C1", ts=ts, text="new")
    assert slack.messages("C1")[0]["text"] == "new"
    link = client.chat_getPermalink(channel="C1", message_ts=ts)["permalink"]
    assert link == f"https://sandbox.slack.com/archives/C1/p{ts.replace('.', '')}"
    reply_link = client.chat_getPermalink(channel="C1", message_ts=reply_ts)["permalink"]
    assert reply_link.endswith(f"?thread_ts={ts}&cid=C1")
    error = api_error(lambda: client.chat_getPermalink(channel="C1", message_ts="1.000001"))
    assert error.response["error"] == "message_not_found"
    assert api_error(lambda: client.chat_update(channel="C1", ts="1.1", text="x")).response["error"] == (
        "message_not_found"
    )


def test_views_publish_accepts_object_and_json_string(slack: SlackSandbox, client: WebClient) -> None:
    view = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "home"}}]}
    published = client.views_publish(user_id="U1", view=view)["view"]
    assert published["id"].startswith("V")
    assert published["blocks"] == view["blocks"]
    client.api_call("views.publish", params={"user_id": "U1", "view": '{"type": "home", "blocks": []}'})
    assert [v["view"]["blocks"] for v in slack.views("U1")] == [view["blocks"], []]
    assert slack.views("U2") == []


# ---- usergroups ---------------------------------------------------------------------------------


def test_usergroups_list_flags(client: WebClient) -> None:
    enabled_only = client.usergroups_list()["usergroups"]
    assert [g["id"] for g in enabled_only] == ["S1"]
    assert "users" not in enabled_only[0]
    everything = client.usergroups_list(include_users=True, include_disabled=True)["usergroups"]
    assert [(g["id"], g["handle"], g["users"], g["user_count"]) for g in everything] == [
        ("S1", "ops-oncall", ["U1"], 1),
        ("S2", "old-group", [], 0),
    ]
    assert everything[0]["is_usergroup"] is True
    assert everything[0]["date_delete"] == 0
    assert everything[1]["date_delete"] > 0


def test_usergroups_users_list_and_update(slack: SlackSandbox, client: WebClient) -> None:
    assert client.usergroups_users_list(usergroup="S1")["users"] == ["U1"]
    group = client.usergroups_users_update(usergroup="S1", users=["U2", "U1"])["usergroup"]
    assert group["users"] == ["U2", "U1"]
    assert slack.usergroup_members("S1") == ["U2", "U1"]
    assert slack.usergroup_members("ops-oncall") == ["U2", "U1"]
    assert api_error(lambda: client.usergroups_users_list(usergroup="SNOPE")).response["error"] == (
        "subteam_not_found"
    )


def test_update_with_no_users_is_refused(client: WebClient) -> None:
    error = api_error(lambda: client.usergroups_users_update(usergroup="S1", users=""))
    assert error.response["error"] == "no_users_provided"


@pytest.mark.parametrize("bad_user", ["UGONE", "UBOT2", "UGUEST", "UNOPE"])
def test_update_refuses_deleted_bot_guest_unknown(
    slack: SlackSandbox, client: WebClient, bad_user: str
) -> None:
    error = api_error(lambda: client.usergroups_users_update(usergroup="S1", users=["U2", bad_user]))
    assert error.response["error"] == "invalid_users"
    assert slack.usergroup_members("S1") == ["U1"]


def test_update_unknown_group(client: WebClient) -> None:
    error = api_error(lambda: client.usergroups_users_update(usergroup="SNOPE", users=["U1"]))
    assert error.response["error"] == "subteam_not_found"


def test_admin_only_setting_denies_writes_not_reads(slack: SlackSandbox, client: WebClient) -> None:
    slack.settings.usergroups_admin_only = True
    error = api_error(lambda: client.usergroups_users_update(usergroup="S1", users=["U2"]))
    assert error.response["error"] == "permission_denied"
    assert client.usergroups_users_list(usergroup="S1")["users"] == ["U1"]


def test_free_plan_has_no_usergroups(slack: SlackSandbox, client: WebClient) -> None:
    slack.settings.paid_plan = False
    assert api_error(client.usergroups_list).response["error"] == "plan_upgrade_required"
    error = api_error(lambda: client.usergroups_users_update(usergroup="S1", users=["U2"]))
    assert error.response["error"] == "plan_upgrade_required"


def test_disable_and_enable(client: WebClient) -> None:
    assert client.usergroups_disable(usergroup="S1")["usergroup"]["date_delete"] > 0
    assert client.usergroups_list()["usergroups"] == []
    assert client.usergroups_enable(usergroup="S1")["usergroup"]["date_delete"] == 0
    assert [g["id"] for g in client.usergroups_list()["usergroups"]] == ["S1"]


# ---- faults, latency and the request log ---------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after(slack: SlackSandbox, client: WebClient) -> None:
    slack.rate_limit("usergroups.users.update", retry_after=7)
    error = api_error(lambda: client.usergroups_users_update(usergroup="S1", users=["U2"]))
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "7"
    assert error.response["error"] == "ratelimited"
    assert client.usergroups_users_update(usergroup="S1", users=["U2"])["ok"] is True


def test_rate_limit_retry_handler_succeeds_on_retry(slack: SlackSandbox) -> None:
    client = WebClient(
        token=BOT, base_url=slack.api_url, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)]
    )
    slack.rate_limit("users.info", retry_after=0)
    assert client.users_info(user="U1")["user"]["id"] == "U1"
    assert [r.status for r in slack.requests("users.info")] == [429, 200]


def test_fail_injects_errors_in_order(slack: SlackSandbox, client: WebClient) -> None:
    slack.fail("chat.postMessage", "fatal_error", times=2)
    slack.fail("chat.postMessage", "msg_too_long")
    errors = [
        api_error(lambda: client.chat_postMessage(channel="C1", text="x")).response["error"] for _ in range(3)
    ]
    assert errors == ["fatal_error", "fatal_error", "msg_too_long"]
    assert client.chat_postMessage(channel="C1", text="x")["ok"] is True


def test_latency_is_added_to_every_call(slack: SlackSandbox, client: WebClient) -> None:
    slack.latency = 0.05
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started >= 0.05


def test_request_log_records_calls_in_order(slack: SlackSandbox, client: WebClient) -> None:
    client.auth_test()
    client.chat_postMessage(channel="C1", text="hi")
    api_error(lambda: client.users_info(user="UNOPE"))
    calls = slack.requests()
    assert [(c.method, c.status, c.ok, c.error) for c in calls] == [
        ("auth.test", 200, True, None),
        ("chat.postMessage", 200, True, None),
        ("users.info", 200, False, "user_not_found"),
    ]
    assert calls[1].params == {"channel": "C1", "text": "hi"}
    assert {c.token for c in calls} == {BOT}
    assert calls[0].at <= calls[1].at <= calls[2].at
    assert abs(calls[0].wall - time.time()) < 5
    assert [c.method for c in slack.requests("users.info")] == ["users.info"]
    slack.clear_requests()
    assert slack.requests() == []


def test_get_with_query_and_token_param_are_accepted(slack: SlackSandbox) -> None:
    query = {"email": "bob@example.com", "token": BOT}
    response = httpx.get(f"{slack.api_url}users.lookupByEmail", params=query)
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json()["user"]["id"] == "U2"
    form = httpx.post(f"{slack.api_url}users.info?user=U1", data={"token": BOT, "include_locale": "true"})
    assert form.json()["user"]["id"] == "U1"
    [get_call, post_call] = slack.requests()
    assert get_call.params == {"email": "bob@example.com", "token": BOT}
    assert post_call.params == {"user": "U1", "token": BOT, "include_locale": "true"}


def test_response_url_posts_are_recorded(slack: SlackSandbox) -> None:
    url = f"{slack.base_url}commands/T0SANDBOX/1/abc"
    assert httpx.post(url, json={"text": "later", "response_type": "ephemeral"}).json() == {"ok": True}
    assert slack.responses() == [
        {"url": "/commands/T0SANDBOX/1/abc", "payload": {"text": "later", "response_type": "ephemeral"}}
    ]


def test_stop_is_idempotent() -> None:
    sandbox = SlackSandbox().start()
    sandbox.stop()
    sandbox.stop()
