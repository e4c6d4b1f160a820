"""The catalog workflow: extract message ids from the code, merge them into each ``.po``, check them.

After adding or changing a message in the code::

    python -m app.i18n.extract          # new ids appear untranslated (or fuzzy, near an old one) in the .po
    $EDITOR app/locale/ja/LC_MESSAGES/messages.po
    python -m app.i18n.extract --check  # what tests/i18n asserts: every id translated, placeholders kept
"""

from __future__ import annotations

import argparse
import re
import string
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import write_po

from app.i18n import LANGUAGES, SOURCE_LANGUAGE
from app.i18n.catalog import DOMAIN, catalog_file, read_catalog

# ``t("…")`` in the renderers, ``t.ngettext(singular, plural, n)``, ``N_("…")`` for tables.
KEYWORDS = {"t": None, "ngettext": (1, 2), "N_": None}
TRANSLATOR_COMMENT = "TRANSLATORS:"
APP = Path(__file__).resolve().parents[1]
# Text that must come through translation unchanged: /oncall's words (Slack cannot localize a slash
# command, and its subcommands stay English) and emoji codes.
_COMMAND = re.compile(r"`(/oncall[^`]*)`")
_EMOJI = re.compile(r":[a-z0-9_+-]+:")
UPDATE = "run python -m app.i18n.extract"
# Slack's mrkdwn reads *bold*, _italic_ and `code` only where the marks stand apart from the words
# around them: "は*太字*です" stays plain. Japanese has no spaces, so a translation must add them.
_SPAN = re.compile(r"([*_`])(?=\S)(.+?)(?<=\S)\1")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def _glued_marks(text: str) -> list[str]:
    """The mrkdwn spans of ``text`` touching a letter or digit outside them (Slack would not format them)."""
    bare = _PLACEHOLDER.sub(" ", _EMOJI.sub(" ", text))
    glued = []
    for span in _SPAN.finditer(bare):
        before = bare[span.start() - 1] if span.start() else " "
        after = bare[span.end()] if span.end() < len(bare) else " "
        if unicodedata.category(before)[0] in "LN" or unicodedata.category(after)[0] in "LN":
            glued.append(span.group(0))
    return glued


def template() -> Catalog:
    """Every message id the code asks for, with where it is used."""
    catalog = Catalog(domain=DOMAIN, project="oncall-bot", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        APP, keywords=KEYWORDS, comment_tags=(TRANSLATOR_COMMENT,), strip_comment_tags=True
    ):
        catalog.add(message, None, [(f"app/{filename}", lineno)], auto_comments=comments, context=context)
    return catalog


def update(language: str) -> Catalog:
    """Merge the code's ids into ``language``'s catalog (kept translations stay) and write it back."""
    catalog = read_catalog(language)
    catalog.update(template(), update_creation_date=False)
    catalog.obsolete.clear()  # git keeps the history; a dead entry would only mislead a translator
    path = Path(str(catalog_file(language)))
    with path.open("wb") as handle:
        # No line numbers: a catalog that changes only when messages do keeps merges quiet.
        write_po(handle, catalog, width=110, sort_output=False, include_previous=True, include_lineno=False)
    return catalog


def fields(text: str) -> set[str]:
    """The ``{placeholders}`` of a message, with their format specs."""
    found = set()
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is not None:
            found.add(name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else ""))
    return found


def _kept(source: str, translated: str, what: re.Pattern[str]) -> bool:
    return sorted(what.findall(source)) == sorted(what.findall(translated))


def _forms(message: Message) -> tuple[list[str], list[str]]:
    """(ids, translations) of a message, one id for a plain message, two for a plural one."""
    ids = list(message.id) if isinstance(message.id, tuple | list) else [message.id]
    strings = message.string
    texts = list(strings) if isinstance(strings, tuple | list) else [strings or ""]
    return ids, [text or "" for text in texts]


def _entry_problems(message: Message, plurals: int) -> Iterable[str]:
    ids, texts = _forms(message)
    name = repr(ids[0])
    if message.fuzzy:
        yield f"{name}: marked fuzzy (review the translation, then remove the fuzzy flag)"
    if len(ids) > 1 and len(texts) != plurals:
        yield f"{name}: has {len(texts)} plural forms, the language has {plurals}"
    if not all(texts):
        yield f"{name}: not translated"
        return
    for text in texts:
        # One plural form serves every count, so it must say all the plural id says ({n} too).
        wanted = fields(ids[-1]) if len(ids) == 1 or plurals == 1 else None
        if wanted is not None and fields(text) != wanted:
            yield f"{name}: placeholders {sorted(fields(text))} differ from the id's {sorted(wanted)}"
        elif wanted is None and not fields(text) <= fields(ids[0]) | fields(ids[-1]):
            yield f"{name}: placeholders {sorted(fields(text))} are not the id's"
        if not _kept(ids[-1], text, _COMMAND):
            yield f"{name}: a /oncall command must stay as it is: {_COMMAND.findall(ids[-1])}"
        if not _kept(ids[-1], text, _EMOJI):
            yield f"{name}: emoji codes must stay as they are: {_EMOJI.findall(ids[-1])}"
        if glued := _glued_marks(text):
            yield f"{name}: Slack will not format {glued}: put a space between the marks and the words"


def problems(language: str) -> list[str]:
    """Everything wrong with ``language``'s catalog against the code; empty when it is complete."""
    return [f"{language}: {line}" for line in catalog_problems(read_catalog(language), template())]


def catalog_problems(catalog: Catalog, wanted: Catalog) -> list[str]:
    """What ``catalog`` lacks or breaks against the ids ``wanted`` by the code."""
    found: list[str] = []
    for message in wanted:
        if not message.id:
            continue
        entry = catalog.get(message.id, context=message.context)
        if entry is None:
            found.append(f"{message.id!r}: missing ({UPDATE})")
            continue
        found += _entry_problems(entry, catalog.num_plurals)
    for entry in catalog:
        if entry.id and wanted.get(entry.id, context=entry.context) is None:
            found.append(f"{_forms(entry)[0][0]!r}: no longer used by the code ({UPDATE})")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Update every catalog from the code, or with --check only report what is missing."""
    parser = argparse.ArgumentParser(prog="python -m app.i18n.extract", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 when a catalog is not complete"
    )
    args = parser.parse_args(argv)
    found: list[str] = []
    for language in LANGUAGES:
        if language == SOURCE_LANGUAGE:
            continue
        if not args.check:
            update(language)
        found += problems(language)
    for line in found:
        print(line)
    print(f"{len(found)} problem(s)" if found else "every message is translated")
    return 1 if found and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
