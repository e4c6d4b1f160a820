"""The view model: plain, frozen values the services build and app/slack renders (no Slack, pager or ORM)."""
