"""The operator's subcommands of oncall-bot: `backup` (a consistent copy of the database) and `init`."""

from __future__ import annotations

import argparse
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from app.config import DEFAULT_DATABASE_URL

EXIT_OK, EXIT_FAILED = 0, 1

# What `init` writes into the working directory: (packaged template, file name written).
STARTER_FILES = (("manifest.yaml", "manifest.yaml"), ("oncall.example.toml", "oncall.toml"))


class _DatabaseSettings(BaseSettings):
    """Only DATABASE_URL (environment or .env): a backup needs no Slack or pager tokens."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL


def template(name: str) -> str:
    """The text of a file shipped inside the package (manifest.yaml, oncall.example.toml)."""
    return files("app").joinpath("templates", name).read_text(encoding="utf-8")


def cmd_backup(args: argparse.Namespace) -> int:
    """Copy the SQLite database consistently (the bot may keep running) to PATH."""
    from app.store.backup import BackupError, backup

    url = _DatabaseSettings().database_url
    try:
        result = backup(url, Path(args.path), overwrite=args.force)
    except BackupError as error:
        print(f"oncall-bot: backup failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"backed up {url} to {result.path} ({result.pages} pages, integrity {result.integrity})")
    return EXIT_OK


def cmd_init(_args: argparse.Namespace) -> int:
    """Write manifest.yaml and a starter oncall.toml into the working directory; never overwrite."""
    existing = [name for _, name in STARTER_FILES if Path(name).exists()]
    if existing:
        names = " and ".join(existing)
        print(f"oncall-bot: {names} already here; nothing was written (move it away first)", file=sys.stderr)
        return EXIT_FAILED
    for source, name in STARTER_FILES:
        Path(name).write_text(template(source), encoding="utf-8")
    print(
        "wrote manifest.yaml (Slack → Your Apps → Create New App → From an app manifest: paste it)\n"
        "wrote oncall.toml (the teams file: edit it, then run `oncall-bot check`)"
    )
    return EXIT_OK


def register(commands: Any) -> None:
    """Add `backup` and `init` to the CLI's subcommands."""
    backup = commands.add_parser("backup", help="copy the SQLite database consistently while the bot runs")
    backup.add_argument("path", help="where to write the copy (a new file)")
    backup.add_argument("--force", action="store_true", help="replace PATH if it exists")
    backup.set_defaults(func=cmd_backup)
    commands.add_parser("init", help="write manifest.yaml and a starter oncall.toml here").set_defaults(
        func=cmd_init
    )
