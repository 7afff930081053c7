"""Customer statements: for each customer organization, its month, the steps from the
conversations it started to the billed ones, and the conversations behind both, in a folder
that names no other customer.

The counts come from the month's cube (the pack's numbers) and the steps' pass (`explain`);
the conversation rows from one streamed aggregation over the month (`core.conversations`), each billable one into
the customer's conversations.csv/.xlsx and each other one, with the step that left it out,
into its not-billed.csv/.xlsx, written as they arrive, so memory stays flat however large
the month is.
"""

from __future__ import annotations

import csv
import re
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date
from email.message import EmailMessage
from html import escape
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import polars as pl

from usage_lib.core import rule
from usage_lib.core.conversations import conversations, reason
from usage_lib.core.cube import UNASSIGNED, UNATTRIBUTED_NAME, Cube
from usage_lib.core.explain import explain
from usage_lib.core.periods import months_ending, parse_month
from usage_lib.core.query import fork_roots
from usage_lib.core.source import Source, month_cube
from usage_lib.core.tables import organization_table, platform_table, table_buckets
from usage_lib.figures.adoption import agent_quality, handoff_rates, month_users
from usage_lib.present import html
from usage_lib.present.formats import safe
from usage_lib.report import store
from usage_lib.report.smtp import Mailing
from usage_lib.report.store import Sending

COLUMNS = ["_id", "request_id", "started", "agent_id", "agent", "depth", "handed_off"]
NOT_BILLED = [*COLUMNS, "reason"]


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "organization"


@dataclass(frozen=True)
class Statement:
    org_id: str
    name: str
    folder: Path
    conversations: int  # the month's billable conversations (the pack's number)
    rows: int  # conversation rows written


class _Writer:
    """One customer's <name>.csv and <name>.xlsx, written as rows arrive."""

    def __init__(
        self,
        folder: Path,
        stack: ExitStack,
        name: str = "conversations",
        columns: list[str] = COLUMNS,
        title: str = "Billable conversations",
    ) -> None:
        import xlsxwriter

        folder.mkdir(parents=True, exist_ok=True)
        handle: TextIO = stack.enter_context(
            open(folder / f"{name}.csv", "w", newline="", encoding="utf-8")  # noqa: SIM115
        )  # closed by the stack, with the workbook
        self.csv = csv.writer(handle)
        self.csv.writerow(columns)
        self.book = xlsxwriter.Workbook(
            str(folder / f"{name}.xlsx"),
            {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
        )
        stack.callback(self.book.close)
        self.book.set_properties({"title": title, "author": "usage-report"})
        self.sheet = self.book.add_worksheet(name)
        for col, column in enumerate(columns):
            self.sheet.write_string(0, col, column)
        self.rows = 0

    def add(self, values: list[Any]) -> None:
        self.rows += 1
        self.csv.writerow([safe(v) if isinstance(v, str) else v for v in values])
        for col, value in enumerate(values):
            if isinstance(value, str):
                self.sheet.write_string(self.rows, col, value)  # text, never a formula
            elif value is not None:
                self.sheet.write_number(self.rows, col, value)


def write_statements(
    source: Source, month: str, out: Path, org: str | None = None
) -> list[Statement]:
    """out/<month>/customers/<slug>-<id>/ for every organization with billable conversations
    in `month` (or only `org`): statement.html, conversations.csv, conversations.xlsx and a
    manifest. Each folder is staged and swapped in whole, keeping its record of sendings."""
    cube = month_cube(source, month)
    table = platform_table(cube, "month").filter((pl.col("id") != UNASSIGNED) & (pl.col(month) > 0))
    if org is not None:
        table = table.filter(pl.col("id") == org.lower())
    one = months_ending(*parse_month(month, "month"), 1, cube.range.timezone)
    explained = explain(source.db, one, source.config, None if org is None else org.lower())
    steps = {t.id: t for t in explained.tenants}
    store.clear_stale(out)
    # Staged beside the packs, not inside out/<month>, which a pack rebuild swaps; each
    # customer's folder is then swapped in whole under the month's lock.
    with store.staging(out, f"{month}-customers") as staging:
        folders = {
            r["id"]: staging / f"{slug(r['name'])}-{r['id']}" for r in table.iter_rows(named=True)
        }
        rows, left_out = _write_rows(source, cube, month, org, folders)
        made = []
        for history in table.iter_rows(named=True):
            o, name, staged = history["id"], history["name"], folders[history["id"]]
            own = steps[o].to_json(explained.steps, explained.dashboard)["steps"]
            (staged / "statement.html").write_text(
                statement_html(cube, history, month, own), encoding="utf-8"
            )
            manifest = {
                "month": month,
                "organization": {"id": o, "name": name},
                "conversations": history[month],
                "rows": rows[o],
                "not_billed": left_out[o],
                "steps": own,
                "data_as_of": cube.read_at.isoformat(),
            }
            store.write_manifest(staged, manifest)
            final = store.publish(staged, out, month, out / month / "customers" / staged.name)
            made.append(Statement(o, name, final, history[month], rows[o]))
    return made


def _write_rows(
    source: Source, cube: Cube, month: str, org: str | None, folders: dict[str, Path]
) -> tuple[dict[str, int], dict[str, int]]:
    """Stream the month's conversations, customer after customer, into each one's files (one
    customer's files open at a time): the billable ones into conversations.*, the others into
    not-billed.* with the step that left each out. Rows written per customer, of each."""
    agents = dict(
        zip(cube.frame["agent_id"].to_list(), cube.frame["agent_name"].to_list(), strict=True)
    )
    zone = ZoneInfo(cube.range.timezone)
    profile = source.config.profile
    forks = fork_roots(source.db, source.config)
    rows, left_out = dict.fromkeys(folders, 0), dict.fromkeys(folders, 0)
    customer: str = ""
    billed: _Writer | None = None
    other: _Writer | None = None
    stack = ExitStack()
    with stack:
        one = months_ending(*parse_month(month, "month"), 1, cube.range.timezone)
        tenant = None if org is None else org.lower()
        for doc in conversations(source.db, one, source.config, list(folders), tenant):
            if doc["c"] != customer:
                stack.close()
                customer = doc["c"]
                billed = _Writer(folders[customer], stack)
                other = _Writer(folders[customer], stack, *_NOT_BILLED)
            assert billed is not None and other is not None
            agent = rule.agent_of(doc, profile, forks)
            values = [
                str(doc["_id"]),
                str(doc.get("request_id") or ""),
                doc["createdAt"].replace(tzinfo=UTC).astimezone(zone).isoformat(),
                agent,
                agents.get(agent, agent) if agent else UNATTRIBUTED_NAME,
                _depth(doc.get(profile.depth_field)) if profile.has_depth else None,
                "yes" if agent and rule.handed_off(doc) else "no",
            ]
            if doc["s"] == rule.PASSED:
                billed.add(values)
            else:
                other.add([*values, reason(doc, profile)])
            rows[customer], left_out[customer] = billed.rows, other.rows
    for folder in folders.values():  # a customer the stream did not reach: empty files
        if not (folder / "conversations.csv").exists():
            with ExitStack() as empty:
                _Writer(folder, empty)
                _Writer(folder, empty, *_NOT_BILLED)
    return rows, left_out


_NOT_BILLED = ("not-billed", NOT_BILLED, "Conversations not billed, and why")


def _depth(value: Any) -> int | float | None:
    found = rule.number(value)
    return int(found) if found is not None and found.is_integer() else found


def send_statement(statement: Statement, mailing: Mailing, force: bool = False) -> Sending:
    """Email one customer its statement, once per month and recipient list
    (`store.send_once`: recorded in the folder's manifest.json only once sent)."""
    folder = statement.folder  # out/<month>/customers/<it>
    month = folder.parents[1].name
    return store.send_once(
        folder,
        folder.parents[2],
        month,
        mailing.recipients,
        lambda: mailing.send(statement_message(statement, month)),
        force,
    )


def statement_message(statement: Statement, month: str) -> EmailMessage:
    """The customer's message, not yet addressed: the page, its rows attached."""
    year, m = parse_month(month, "month")
    label = date(year, m, 1).strftime("%b %Y")
    message = EmailMessage()
    message["Subject"] = (
        f"Usage statement, {statement.name}, {label}: {statement.conversations:,} billable conversations"
    )
    message.set_content(
        f"Your usage statement for {label}: {statement.conversations:,} billable conversations.\n"
        "The conversations behind this number are attached as conversations.csv and "
        "conversations.xlsx; those not billed, each with the reason, as not-billed.csv and "
        "not-billed.xlsx.\n"
    )
    page = (statement.folder / "statement.html").read_text(encoding="utf-8")
    message.add_alternative(page, subtype="html")
    xlsx = "vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    for name, subtype in (
        ("conversations.csv", "csv"),
        ("conversations.xlsx", xlsx),
        ("not-billed.csv", "csv"),
        ("not-billed.xlsx", xlsx),
    ):
        maintype = "text" if subtype == "csv" else "application"
        data = (statement.folder / name).read_bytes()
        if maintype == "text":
            message.add_attachment(data.decode("utf-8"), subtype=subtype, filename=name)
        else:
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message


def statement_html(
    cube: Cube, history: dict[str, Any], month: str, steps: list[dict[str, Any]] | None = None
) -> str:
    """One customer's page, from its row of the platform table: its own numbers only (no
    other organization, not even the list of excluded ones)."""
    org_id, name, count = history["id"], history["name"], int(history[month])
    agents = organization_table(cube, org_id, "month")
    bks = table_buckets(cube, "month")
    label = next(b.label for b in bks if b.key == month)
    counted = (
        f"Counted: billable conversations ({cube.rule}), by conversation start date, in "
        f"{cube.range.timezone} time. Data as of {cube.read_at.isoformat()}."
    )
    figures = [f"{count:,} billable conversations"]
    users = month_users(cube)
    if users:
        figures.append(f"{users.get((org_id, month), 0):,} end users")
    rate = handoff_rates(cube, by="org_id").get((org_id, month))
    if rate is not None:
        figures.append(f"{rate:.1%} of agent conversations handed to a human")
    quality = agent_quality(cube, org_id)
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(name)}, {escape(label)}'
        f'</title></head><body style="{html.FONT}max-width:900px;margin:24px auto;padding:0 12px;">'
        f"<h1>Usage statement: {escape(name)}, {escape(label)}</h1>"
        f'<p style="{html.FONT}font-size:13px;color:#444;">{escape(counted)}</p>'
        f"<h2>{escape('; '.join(figures))}</h2>"
        "<p>The conversations behind this number are listed in conversations.csv and "
        "conversations.xlsx beside this page.</p>"
        f"{'' if steps is None else html.steps_table(steps, customer=True)}"
        f"<h2>The last {len(bks)} months</h2>"
        f"{html.usage_table(pl.DataFrame([history]), cube, 'month')}"
        f"<h2>By agent</h2>{html.usage_table(agents, cube, 'month', first='Agent')}"
        + (
            html.frame_table(
                quality,
                {
                    "agent": "Agent",
                    "conversations": "Conversations",
                    "handoff_rate": "Hand-off rate",
                    "depth_avg": "Average depth",
                },  # fmt: skip
                percent_columns=("handoff_rate",),
                decimals={"depth_avg": "{:.2f}"},
            )
            if "handoffs" in cube.metrics
            else ""
        )
        + "</body></html>"
    )
