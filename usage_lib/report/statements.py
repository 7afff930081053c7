"""Customer statements: for each customer organization, its month, the steps from the
conversations it started to the billed ones, and the conversations behind both, in a folder
that names no other customer.

The counts come from the month's cube (the pack's numbers) and the steps' pass (`explain`);
the conversation rows from one streamed aggregation over the month (`core.conversations`),
each billable one into the customer's conversations.csv/.xlsx and each other one, with the
step that left it out, into its not-billed.csv/.xlsx, written as they arrive, so memory
stays flat however large the month is.

This module writes the files and sends them: the page is `present.statement`, the message
`report.mail.statement_message`.
"""

from __future__ import annotations

import csv
import re
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date
from email.message import EmailMessage
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
from usage_lib.core.rows import CUSTOMER, STEP
from usage_lib.core.source import Source, month_cube
from usage_lib.core.tables import platform_table
from usage_lib.core.warm import Read
from usage_lib.paths import write_atomic
from usage_lib.present.formats import safe
from usage_lib.present.statement import statement_html
from usage_lib.report import store
from usage_lib.report.mail import statement_message
from usage_lib.report.pdf import Footer, PdfUnavailable, statement_pdf
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
    pdf_note: str = ""  # why there is no statement.pdf beside statement.html; "" when there is
    read: Read | None = None  # the history's days from the local store and read (`warm`)


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
            note = _statement_pdf(staged, cube, label_of(month), source.config.paper)
            if note:
                manifest["pdf_note"] = note
            store.write_manifest(staged, manifest)
            final = store.publish(staged, out, month, out / month / "customers" / staged.name)
            made.append(Statement(o, name, final, history[month], rows[o], note, cube.read))
    return made


def label_of(month: str) -> str:
    year, m = parse_month(month, "month")
    return date(year, m, 1).strftime("%b %Y")


def _statement_pdf(folder: Path, cube: Cube, label: str, paper: str) -> str:
    """statement.pdf beside statement.html, from it: the same page, with a footer naming only
    the month, the rule and the data's time. "" when made, else why not (one line)."""
    footer = Footer(f"Usage statement, {label}", cube.rule, cube.read_at.isoformat())
    try:
        data = statement_pdf(folder, footer, paper)
    except PdfUnavailable as exc:
        return f"no PDF made: {exc}"
    write_atomic(folder / "statement.pdf", data)
    return ""


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
            if doc[CUSTOMER] != customer:
                stack.close()
                customer = doc[CUSTOMER]
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
            if doc[STEP] == rule.PASSED:
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
    found = rule.numeric(value)
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
        lambda: mailing.send(_message(statement, month)),
        force,
    )


ATTACHED = (
    "statement.pdf",
    "conversations.csv",
    "conversations.xlsx",
    "not-billed.csv",
    "not-billed.xlsx",
)


def _message(statement: Statement, month: str) -> EmailMessage:
    """The customer's message, not yet addressed, from what its folder holds now."""
    folder = statement.folder
    return statement_message(
        statement.name,
        month,
        statement.conversations,
        (folder / "statement.html").read_text(encoding="utf-8"),
        [(name, (folder / name).read_bytes()) for name in ATTACHED if (folder / name).exists()],
    )
