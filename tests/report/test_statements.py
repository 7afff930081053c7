"""Customer statements: the rows the billing rule counts, each customer's folder alone."""

import csv
import json
import re
import zipfile
from dataclasses import replace
from datetime import date
from typing import Any

import oracle
import pytest
from limits import serving
from pymongo import MongoClient, monitoring

from usage_lib.core.config import load_config
from usage_lib.core.source import Source
from usage_lib.demo.data import generate
from usage_lib.demo.server import EmbeddedMongo, load
from usage_lib.paths import EXAMPLE_CONFIG
from usage_lib.present.formats import safe
from usage_lib.report.statements import write_statements

FORMULA_NAME = '=HYPERLINK("http://x","click")'


class Finds(monitoring.CommandListener):
    def __init__(self) -> None:
        self.on_requests: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command.get(event.command_name) == "requests":
            self.on_requests.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Any:
    data = generate((2026, 10), size=6_000)
    folder = tmp_path_factory.mktemp("statements")
    with EmbeddedMongo(":memory:") as raw, serving(raw) as server:
        load(server.uri, data, journal=False)
        with MongoClient(server.uri) as client:  # a customer names an agent like a formula
            bot = data.faq_kbs[0]["_id"]
            client.tiledesk.faq_kbs.update_one({"_id": bot}, {"$set": {"name": FORMULA_NAME}})
        config = load_config(EXAMPLE_CONFIG, env={"USAGE_MONGODB_URI": server.uri})
        finds = Finds()
        with MongoClient(server.uri, event_listeners=[finds]) as client:
            source = Source(client.tiledesk, config, demo=False, key="t")
            statements = write_statements(source, "2026-10", folder)
        yield data, statements, finds, str(bot)


def rows_of(statement: Any) -> list[dict[str, str]]:
    with open(statement.folder / "conversations.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_not_billed_holds_the_oracles_left_out_conversations_with_their_reasons(
    made: Any,
) -> None:
    """Every conversation of the customer's month the rule leaves out, once, with the first
    step that leaves it out; nothing of another customer; the steps on the page add up."""
    from usage_lib.core.explain import status_name

    data, statements, _, _ = made
    excluded = {e["id"] for e in data.exclusions}
    october = [
        d
        for d in data.requests
        if date(2026, 10, 1) <= oracle.local_day(d, "UTC") <= date(2026, 10, 31)
    ]
    seen: set[str] = set()
    for s in statements:
        want = {}
        for d in october:
            if oracle.org_of(d) != s.org_id:
                continue
            step = oracle.left_out_step(d, excluded)
            if step == "billable":
                continue
            if step == "status":
                step = f"status: {status_name(d.get('status'))}"
            if step == "depth":
                step = (
                    "depth: missing"
                    if oracle.number(d.get("depth")) is None
                    else "depth: too short"
                )
            want[str(d["_id"])] = step
        with open(s.folder / "not-billed.csv", newline="", encoding="utf-8") as f:
            got = {r["_id"]: r["reason"] for r in csv.DictReader(f)}
        assert got == want  # exactly the left-out ones, each once
        seen.update(want.values())
        manifest = json.loads((s.folder / "manifest.json").read_text())
        steps = manifest["steps"]
        assert steps[0]["count"] == len(want) + s.conversations  # what it started
        assert steps[-1] == {"step": "billable", "count": s.conversations}
        page = (s.folder / "statement.html").read_text()
        assert "From the conversations started to the billed ones" in page
        assert "not-billed.csv" in page
    assert {"test", "depth: missing", "depth: too short"} <= seen  # not vacuous
    assert any(reason.startswith("status: ") for reason in seen)


def test_rows_are_exactly_what_the_rule_counts(made: Any) -> None:
    data, statements, finds, _ = made
    excluded = {e["id"] for e in data.exclusions}
    expected = {
        d["_id"].__str__(): d
        for d in data.requests
        if oracle.is_billable(d, excluded)
        and date(2026, 10, 1) <= oracle.local_day(d, "UTC") <= date(2026, 10, 31)
    }
    by_org = oracle.counts(
        data.requests, date(2026, 10, 1), date(2026, 10, 31), "UTC", "month", excluded
    )
    assert {s.org_id for s in statements} == set(by_org) - {"unassigned"}
    for s in statements:
        rows = rows_of(s)
        assert s.rows == len(rows) == s.conversations == by_org[s.org_id]["2026-10"]
        for row in rows:
            doc = expected[row["_id"]]
            assert oracle.org_of(doc) == s.org_id
            assert row["agent_id"] == (
                "" if oracle.agent_of(doc) == "unattributed" else oracle.agent_of(doc)
            )
            assert row["handed_off"] == ("yes" if oracle.handed_off(doc) else "no")
            assert int(row["depth"]) == doc["depth"]
    handed = [s for s in statements if any(r["handed_off"] == "yes" for r in rows_of(s))]
    assert handed  # customers whose conversations went to humans
    assert finds.on_requests == ["aggregate"] * 3  # the pass, the steps, one streamed query


def test_each_folder_names_no_other_customer(made: Any) -> None:
    data, statements, _, _ = made
    names = {str(o["_id"]): o["name"] for o in data.organizations}
    agents = {str(b["_id"]): (b["name"], str(b["id_organization"])) for b in data.faq_kbs}
    for s in statements:
        others = [n for o, n in names.items() if o != s.org_id] + [
            o for o in names if o != s.org_id
        ]
        others += [n for b, (n, o) in agents.items() if o != s.org_id and n != FORMULA_NAME]
        for path in s.folder.iterdir():
            texts = [path.read_text(errors="replace")]
            if path.suffix == ".pdf":
                texts = [pdf_text(path)]
            elif path.suffix == ".xlsx":
                with zipfile.ZipFile(path) as book:
                    texts = [book.read(n).decode("utf-8", "replace") for n in book.namelist()]
            for text in texts:
                leaked = [o for o in others if o in text]
                assert not leaked, (s.name, path.name, leaked[:3])


def pdf_text(path: Any) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_each_statement_pdf_shows_its_own_numbers(made: Any) -> None:
    """statement.pdf beside statement.html: the customer's name and month total as text, and
    the footer (the month, the rule, the data's time, page N of M) on every page."""
    from pypdf import PdfReader

    _, statements, _, _ = made
    for s in statements:
        manifest = json.loads((s.folder / "manifest.json").read_text())
        assert "pdf_note" not in manifest
        pages = [p.extract_text() for p in PdfReader(s.folder / "statement.pdf").pages]
        text = "\n".join(pages)
        assert s.name in text and f"{s.conversations:,} billable conversations" in text
        for n, page in enumerate(pages, 1):
            assert "Usage statement, Oct 2026" in page and "status 1000" in page
            assert re.search(rf"page\s*{n} of {len(pages)}\b", page), page[-120:]
            assert f"Data as of {manifest['data_as_of']}" in page


def test_a_formula_like_agent_name_stays_text(made: Any) -> None:
    _, statements, _, bot = made
    s = next(s for s in statements if any(r["agent_id"] == bot for r in rows_of(s)))
    assert {r["agent"] for r in rows_of(s) if r["agent_id"] == bot} == {safe(FORMULA_NAME)}
    with zipfile.ZipFile(s.folder / "conversations.xlsx") as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        strings = (
            book.read("xl/sharedStrings.xml").decode()
            if "xl/sharedStrings.xml" in book.namelist()
            else sheet
        )
    assert "<f>" not in sheet  # no formula cell anywhere
    assert "HYPERLINK" in strings  # the name is there, as a string


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def test_each_customer_is_emailed_its_own_statement_once(made: Any) -> None:
    import email
    from email import policy

    from aiosmtpd.controller import Controller

    from usage_lib.demo.server import free_port
    from usage_lib.report.smtp import Mailing, Smtp
    from usage_lib.report.statements import send_statement

    data, statements, _, _ = made
    names = {str(o["_id"]): o["name"] for o in data.organizations}
    first, second = statements[0], statements[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        smtp = Smtp("127.0.0.1", controller.port, "none")
        one = Mailing("usage@example.com", ("a@one.example",), smtp)
        for s, mailing in ((first, one), (second, replace(one, recipients=("b@two.example",)))):
            assert send_statement(s, mailing).status == "sent"
        assert send_statement(first, one).status == "already sent"
        assert send_statement(first, one, force=True).status == "sent"
    finally:
        controller.stop()
    assert [m[0] for m in inbox.messages] == [
        ["a@one.example"],
        ["b@two.example"],
        ["a@one.example"],
    ]
    message = email.message_from_bytes(inbox.messages[1][1], policy=policy.default)
    assert second.name in message["Subject"] and f"{second.conversations:,}" in message["Subject"]
    attached = {p.get_filename() for p in message.iter_attachments()}
    assert attached == {
        "statement.pdf",
        "conversations.csv",
        "conversations.xlsx",
        "not-billed.csv",
        "not-billed.xlsx",
    }
    raw = inbox.messages[1][1].decode("utf-8", "replace")
    assert not [n for o, n in names.items() if o != second.org_id and n in raw]  # its own alone
    sent = json.loads((first.folder / "manifest.json").read_text())["sent"]
    assert [r["recipients"] for r in sent] == [["a@one.example"], ["a@one.example"]]
