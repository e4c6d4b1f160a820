"""``python -m app`` is the oncall-bot command."""

from app.cli import main

raise SystemExit(main())
