"""Babel's CLDR-wide table (global.dat), kept only for the keys the bot's dates read.

Formatting a first date makes Babel unpickle all of global.dat (zones, currencies, territories: ~33k
objects, 2.1 MiB live, measured with tracemalloc in `python -m app run`) for one small mapping,
``parent_exceptions``. The bot keeps what it reads and drops the rest; any other key (a future Babel, a
zone name) reads the whole table back once, so every lookup answers as Babel's own would.
"""

from __future__ import annotations

import os
import pickle
import threading
from typing import Any, Final, cast

# What the dates ask for (Babel 2.19: localedata.load, under format_skeleton); Locale.parse of a locale
# Babel ships reads nothing of it (likely_subtags, 7,868 entries, only for a locale it has not).
KEPT: Final = frozenset({"parent_exceptions"})
_lock = threading.Lock()


def _read_all() -> dict[str, Any]:
    import babel.core  # noqa: PLC0415 - Babel is loaded on the first date shown, not at start

    with open(os.path.join(os.path.dirname(babel.core.__file__), "global.dat"), "rb") as file:
        data: dict[str, Any] = pickle.load(file)  # noqa: S301 - Babel's own data file, as Babel reads it
    return data


class _Kept(dict[str, Any]):
    """The kept keys; a lookup of any other key fills in the whole table first."""

    complete = False

    def get(self, key: str, default: Any = None) -> Any:
        if not self.complete and key not in self:
            with _lock:
                if not self.complete:
                    self.update(_read_all())
                    self.complete = True
        return super().get(key, default)


def install() -> None:
    """Give Babel the kept part of its global table, before it reads the table itself (idempotent)."""
    import babel.core  # noqa: PLC0415

    with _lock:
        if getattr(babel.core, "_global_data", None) is not None:
            return  # read already (by Babel or by an earlier call): nothing left to save
        full = _read_all()
        babel.core._global_data = cast("Any", _Kept({key: full[key] for key in KEPT if key in full}))
