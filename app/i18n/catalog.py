"""The message catalogs shipped in app/locale/: read from the installed package, compiled when loaded.

The ``.po`` files are the only form in the repository and the wheel: compiling them here (a few
milliseconds, once per language and process) means no build step can forget them and an editable
install reads the file a translator just saved.
"""

from __future__ import annotations

import gettext
import io
from importlib import resources
from importlib.resources.abc import Traversable

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DOMAIN = "messages"


class CatalogMissing(Exception):
    """A language's catalog is not in the installed package (a broken install)."""


def catalog_file(language: str) -> Traversable:
    """Where ``language``'s catalog lives inside the installed package."""
    return resources.files("app") / "locale" / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(language: str) -> Catalog:
    """The parsed ``.po`` catalog of ``language``; CatalogMissing when the package lacks it."""
    source = catalog_file(language)
    if not source.is_file():
        raise CatalogMissing(
            f"the {language} message catalog ({DOMAIN}.po) is missing from the installed package: "
            "reinstall oncall-bot"
        )
    with source.open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


def load_translations(language: str) -> gettext.GNUTranslations:
    """``language``'s catalog compiled in memory; fuzzy (unreviewed) entries are left out, as msgfmt does."""
    compiled = io.BytesIO()
    write_mo(compiled, read_catalog(language), use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)
