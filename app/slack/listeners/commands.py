"""The /oncall slash command: parse, read the cache, answer in the ack itself.

Nothing on the way to ``ack()`` talks to the network: the answer comes from SQLite, and the only Web API
call this command makes (users.info, for a user whose time zone and locale are not cached) starts after
the ack. The answer speaks the reader's Slack language when the bot speaks it, else the language of the
team it is about (of the channel's team, or the top-level default when it spans teams).
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, BoltContext
from sqlalchemy.orm import Session

from app.domain import Team
from app.i18n import Translator, translator
from app.model.oncall import UserZone
from app.runtime import Runtime
from app.services import oncall_view, slack_users
from app.services.answer_validity import Validity
from app.slack import me_blocks, oncall_blocks, oncall_help
from app.slack.after_ack import after_ack
from app.slack.answer_memo import AnswerMemo
from app.slack.limits_check import BlockKitLimitError, validate_message
from app.slack.oncall_reader import PER_TEAM, reader_of
from app.store import reads
from app.store.db import reading
from app.store.reads import generations_now

SUBCOMMANDS = ("now", "next", "week", "me", "help")
STATES = ("team states",)  # the memo's key for every team's refresh state (read by every `me`)


@dataclass(frozen=True, slots=True)
class Query:
    """What the user asked: ``kind`` is a subcommand, "unknown" (a near miss) or "help"."""

    kind: str
    # the team named (None: the channel's, or every team), and what was typed when it was no command
    team: str | None = None
    word: str | None = None
    suggestions: tuple[str, ...] = ()


def _team(word: str, names: list[str]) -> str | None:
    wanted = word.lstrip("#@").lower()
    return next((name for name in names if name.lower() == wanted), None)


def _near(word: str, choices: list[str]) -> tuple[str, ...]:
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lstrip("#@").lower()[:100], list(lowered), n=3, cutoff=0.6)
    return tuple(lowered[c] for c in close)


def _shape(words: list[str], team_names: list[str]) -> tuple[str | None, str | None]:
    """(subcommand, team word) of at most two words; subcommand None when they fit no known pattern."""
    lowered = [w.lower() for w in words]
    if not words:
        return "now", None
    if len(words) == 1:
        return (lowered[0], None) if lowered[0] in SUBCOMMANDS else ("now", words[0])
    if lowered[0] in PER_TEAM:
        return lowered[0], words[1]
    if lowered[1] in PER_TEAM and _team(words[0], team_names) is not None:
        return lowered[1], words[0]
    return None, None


def parse(text: str, team_names: list[str]) -> Query:
    """Read the arguments: ``[now|next|week] [team]``, ``<team> [now|next|week]``, ``me`` or ``help``."""
    words = text.split()
    kind, word = _shape(words, team_names) if len(words) <= 2 else (None, None)
    if kind is None:
        return Query("help", word=text)
    if word is None:
        return Query(kind)
    team = _team(word, team_names)
    if team is not None:
        return Query(kind, team)
    choices = team_names if len(words) == 2 else [*team_names, *SUBCOMMANDS]
    return Query("unknown", word=word, suggestions=_near(word, choices))


def answer(
    session: Session,
    runtime: Runtime,
    query: Query,
    user_id: str,
    channel_id: str,
    now: datetime,
    memo: AnswerMemo | None = None,
) -> tuple[dict[str, Any], UserZone]:
    """The ack payload for ``query``, read from the cache (or ``memo``), and the zone it was rendered in.

    Raises BlockKitLimitError for an answer Slack would refuse (it is not kept).
    """
    return answer_from(lambda: session, runtime, query, (user_id, channel_id), now, memo)


def answer_from(
    session: Callable[[], Session],
    runtime: Runtime,
    query: Query,
    asker: tuple[str, str],
    now: datetime,
    memo: AnswerMemo | None = None,
    generations: Mapping[str, int] | None = None,
) -> tuple[dict[str, Any], UserZone]:
    """``answer`` for ``asker`` (user, channel), opening the reading ``session()`` only when it must read.

    ``generations``: read already, before anything else (``reads.generations_now``); else read first
    in the session. A kept answer, or kept values rendered for another reader, then needs no session.
    """
    user_id, channel_id = asker
    config = runtime.config
    names = [team.name for team in config.teams]
    # Read first: a kept answer or profile is good only at the generations read before it.
    if generations is None:
        generations = oncall_view.generations(session()) if memo is not None else {}
    row = _profile_row(session, user_id, memo, generations, now)
    reader = reader_of(runtime, query.kind, query.team, user_id, channel_id, row, now)
    zone, chosen, key = reader.zone, reader.chosen, reader.key
    t = translator(reader.language)
    if query.kind in ("help", "unknown"):
        if query.kind == "help":
            return _checked(oncall_help.usage(names, query.word, t)), zone
        return _checked(oncall_help.unknown_team(query.word or "", query.suggestions, names, t)), zone
    teams: list[Team] = [chosen] if chosen is not None else list(config.teams)
    mine = query.kind == "me"
    team = None if mine or chosen is None else chosen.name
    kept = memo.get(key, generations, now) if memo is not None else None
    if kept is not None:
        return kept, zone
    if mine:
        # Every team's state is read by every `me`, whoever asks: kept like the views.
        states = memo.view(STATES, generations, now) if memo is not None else None
        if states is None:
            states = oncall_view.team_states(session(), runtime.config, now), Validity(now, ages_apart=True)
            if memo is not None:
                memo.put_view(STATES, states[0], generations, states[1])
        validity = Validity(now)
        payload = _checked(_mine(session(), runtime, user_id, zone, now, t, validity, states[0]))
    else:
        # The values are the same for every reader: kept under the question and the team alone.
        view_key = (query.kind, team)
        found = memo.view(view_key, generations, now) if memo is not None else None
        if found is None:
            read = Validity(now, ages_apart=True)
            found = _read(session(), runtime, query.kind, teams, now, read), read
            if memo is not None:
                memo.put_view(view_key, found[0], generations, read)
        values, read = found
        validity = read.rendered_at(now)
        payload = _checked(_render(runtime, query.kind, values, zone, now, t))
    validity.days_named_in(zone.name)
    if memo is not None:
        memo.put(key, payload, generations, validity)
    return payload, zone


def _profile_row(
    session: Callable[[], Session],
    user_id: str,
    memo: AnswerMemo | None,
    generations: Mapping[str, int],
    now: datetime,
) -> Any:
    """The asker's cached profile row (None: never asked), kept by ``memo`` while profiles are the same."""
    if memo is None:
        return reads.profile(session(), user_id)
    return memo.profile(user_id, generations, now, lambda: reads.profile(session(), user_id))


def _mine(
    session: Session,
    runtime: Runtime,
    user_id: str,
    zone: UserZone,
    now: datetime,
    t: Translator,
    validity: Validity,
    states: oncall_view.TeamStates,
) -> dict[str, Any]:
    """``/oncall me`` read from the cache and rendered; ``validity`` learns until when it holds."""
    config, source = runtime.config, runtime.providers.label
    mine = oncall_view.my_shifts(session, config, user_id, now, validity, states)
    known = slack_users.profile_known(session, user_id)
    return me_blocks.me_answer(mine, zone, now, source, profile_known=known, t=t)


def _read(
    session: Session, runtime: Runtime, kind: str, teams: list[Team], now: datetime, validity: Validity
) -> Sequence[Any]:
    """What a ``now``, ``next`` or ``week`` answer shows, read from the cache (the same for every reader)."""
    config = runtime.config
    if kind == "next":
        return oncall_view.next_on_call(session, config, teams, now, validity)
    if kind == "week":
        return oncall_view.week_ahead(session, config, teams, now, validity)
    return oncall_view.on_call_now(session, config, teams, now, validity)


def _render(
    runtime: Runtime, kind: str, values: Sequence[Any], zone: UserZone, now: datetime, t: Translator
) -> dict[str, Any]:
    """The answer to a ``now``, ``next`` or ``week`` question for one reader (zone, language)."""
    source = runtime.providers.label
    if kind == "next":
        return oncall_blocks.next_answer(values, zone, now, source, t)
    if kind == "week":
        return oncall_blocks.week_answer(values, zone, now, source, t)
    return oncall_blocks.now_answer(values, zone, now, source, t)


def _checked(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` once Block Kit's limits are checked (BlockKitLimitError if Slack would refuse it)."""
    validate_message(payload.get("text"), payload.get("blocks"))
    return payload


def register(app: App, runtime: Runtime) -> None:
    """Attach the /oncall listener to the Bolt app."""
    zones = slack_users.ZoneFetcher(runtime)
    memo = AnswerMemo()
    engine = runtime.sessions.kw["bind"]

    @app.command("/oncall")
    def oncall(ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
        user_id, channel_id = str(command.get("user_id") or ""), str(command.get("channel_id") or "")
        try:
            query = parse(str(command.get("text") or ""), [team.name for team in runtime.config.teams])
            # The generations first, in a statement of their own: a kept answer (or kept values to render
            # for this reader) then needs no transaction, whose begin and commit were ~0.7 ms of an ack.
            generations = generations_now(engine)
            with ExitStack() as opened:  # the ack never waits for the write lock: a reading transaction
                session = functools.cache(lambda: opened.enter_context(reading(runtime.sessions)))
                asker = (user_id, channel_id)
                payload, zone = answer_from(session, runtime, query, asker, runtime.now(), memo, generations)
        except BlockKitLimitError:  # Slack would show the user an error instead: say something true
            ack(**oncall_help.too_big(translator(runtime.config.channel_language(channel_id))))
            raise
        except Exception:  # a broken row or a bug as much as a broken database: never leave silence
            ack(**oncall_help.cache_unreadable(translator(runtime.config.channel_language(channel_id))))
            raise  # the app's error handler logs it; the user already has a sentence
        ack(**payload)
        if zone.needs_fetch and user_id:
            after_ack(context, lambda: zones.fetch_after_ack(user_id))
