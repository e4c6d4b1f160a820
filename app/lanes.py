"""The lanes of the event follow-up pool (``app.slack.background``), named where every layer may see them.

Each lane has its own threads, so that one kind of work cannot starve another: ``PAGES`` takes the
mentions that ask to page (recorded and handed to a page worker within milliseconds, never behind a Slack
call), ``MENTIONS`` the other mentions, thread replies and button presses, ``DEFAULT`` the rest (App Home
views, profile caching).
"""

DEFAULT, MENTIONS, PAGES = "default", "mentions", "pages"
