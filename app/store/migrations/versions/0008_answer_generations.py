"""Answer generations: counters the database bumps in every transaction that changes what /oncall shows.

The bot memoises rendered /oncall answers (app/slack/answer_memo.py); a memo is good only while the
data it was read from is unchanged, in every process and replica sharing the database. Triggers make
that true whoever writes (a sync, the CLI, another replica, a migration): the counter changes in the
same transaction as the data, so a reader that sees the counter unchanged sees the same data.
(Revision 0008, on 0007; 2026-12-01.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# scope → its row's id and the tables whose rows an answer is made of. SQLite runs a trigger per row, so
# it finds the counter by rowid (a timeline of 10,000 shifts rewritten is 20,000 updates of it).
SCOPES = {
    "roster": (1, ("shifts", "oncall_snapshots", "team_state", "people")),
    "profiles": (2, ("slack_users",)),
}
OPERATIONS = ("insert", "update", "delete")
COLUMNS = (("id", sa.Integer()), ("scope", sa.String(length=20)), ("value", sa.Integer()))
revision = "0008"
down_revision = "0007"

# PostgreSQL: a deferred constraint trigger bumps the counter at commit, after the transaction took
# every other lock it needs (a counter updated mid-transaction could deadlock two syncs writing a
# shared person), and only once per transaction (a timeline of 10,000 rows is one bump, not 10,000).
PG_FUNCTION = """
CREATE FUNCTION bump_answer_generation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    flag text := 'oncall.bumped_' || TG_ARGV[0];
BEGIN
    IF current_setting(flag, true) IS DISTINCT FROM txid_current()::text THEN
        UPDATE answer_generations SET value = value + 1 WHERE id = TG_ARGV[0]::integer;
        PERFORM set_config(flag, txid_current()::text, true);
    END IF;
    RETURN NULL;
END
$$
"""


def _name(table: str, operation: str) -> str:
    return f"answer_generation_{table}_{operation}"


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "answer_generations",
        *(sa.Column(name, kind, nullable=False) for name, kind in COLUMNS),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope"),
    )
    op.bulk_insert(
        sa.table("answer_generations", *(sa.column(name, kind) for name, kind in COLUMNS)),
        [{"id": key, "scope": scope, "value": 0} for scope, (key, _) in SCOPES.items()],
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(PG_FUNCTION)
    for key, tables in SCOPES.values():
        for table in tables:
            for operation in OPERATIONS:
                if postgres:
                    op.execute(
                        f"CREATE CONSTRAINT TRIGGER {_name(table, operation)} AFTER {operation.upper()} "
                        f"ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                        f"EXECUTE FUNCTION bump_answer_generation('{key}')"
                    )
                else:  # SQLite writes one transaction at a time: a row-level UPDATE is all it takes
                    # every name in it is one of this file's constants
                    op.execute(
                        f"CREATE TRIGGER {_name(table, operation)} AFTER {operation.upper()} ON {table} "  # noqa: S608
                        f"BEGIN UPDATE answer_generations SET value = value + 1 WHERE id = {key}; END"
                    )


def downgrade() -> None:
    """Revert this revision."""
    postgres = op.get_bind().dialect.name == "postgresql"
    for _, tables in SCOPES.values():
        for table in tables:
            for operation in OPERATIONS:
                suffix = f" ON {table}" if postgres else ""
                op.execute(f"DROP TRIGGER IF EXISTS {_name(table, operation)}{suffix}")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS bump_answer_generation()")
    op.drop_table("answer_generations")
