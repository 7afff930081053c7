"""The monthly email, sent through a real SMTP server (aiosmtpd) on loopback by the real command."""

from __future__ import annotations

import email
import io
import json
import os
import re
import shutil
import ssl
import subprocess
import zipfile
from contextlib import redirect_stderr, redirect_stdout
from datetime import date
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import oracle
import pytest
from aiosmtpd.controller import Controller
from mailbox_server import SMTP_PASSWORD, Mailbox
from support import BIN, PASSWORD

from usage_lib.cli import main
from usage_lib.demo.server import free_port
from usage_lib.errors import ConfigError
from usage_lib.paths import EXAMPLE_CONFIG
from usage_lib.report.smtp import Smtp

CONFIG_TO = ["leadership@example.com"]  # usage.example.toml's [email] to


@pytest.fixture
def month(pack: Path, tmp_path: Path) -> Path:
    """A copy of the session's pack for Oct 2026, so each test starts with nothing sent."""
    copy = tmp_path / "reports" / pack.name
    shutil.copytree(pack, copy)
    return copy


def user_env(month: Path, env: dict[str, str]) -> dict[str, str]:
    """The environment a user runs `send` with: the database URI (with its password) is in it."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(month.parent),
        "USAGE_CONFIG": str(EXAMPLE_CONFIG),
        "USAGE_MONGODB_URI": f"mongodb://reader:{PASSWORD}@127.0.0.1:1/tiledesk",
        **env,
    }


def send(month: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`usage-report send` as a user runs it, the installed command in a process of its own."""
    return subprocess.run(
        [str(BIN), "send", "--month", month.name, "--out", str(month.parent), *args],
        env=user_env(month, env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def send_here(month: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`send` called in this process (`cli.main`), in only the environment `send` gets: what
    it returns and prints. For the tests of what the command decides (which exit code, which
    line, what is recorded); the real process is the subject of the tests that use `send`."""
    argv = ["send", "--month", month.name, "--out", str(month.parent), *args]
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(out), redirect_stderr(err):
        for name in list(os.environ):
            if name.startswith(("USAGE_", "SSL_")):
                patch.delenv(name)
        for name, value in user_env(month, env).items():
            patch.setenv(name, value)
        code = main(argv)
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def sent_records(month: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads((month / "manifest.json").read_text()).get(
        "sent", []
    )
    return records


def test_the_message_arrives_once_and_reads_well(
    month: Path, smtp: tuple[Mailbox, dict[str, str]], read_only: Any
) -> None:
    box, env = smtp
    done = send(month, env)
    assert done.returncode == 0, done.stderr
    assert len(box.received) == 1
    sender, rcpt, raw = box.received[0]
    assert sender == "usage-reports@example.com" and rcpt == CONFIG_TO
    message = parse(raw)

    # The subject names the month and the headline, checked against the independent count.
    _, docs, excluded = read_only
    by_org = oracle.counts(
        docs, date(2026, 9, 1), date(2026, 10, 31), "UTC", "month", set(excluded)
    )
    oct_ = sum(b.get("2026-10", 0) for b in by_org.values())
    sep = sum(b.get("2026-09", 0) for b in by_org.values())
    change = round((oct_ - sep) / sep * 100)
    assert message["Subject"] == (
        f"Usage report, Oct 2026: {oct_:,} billable conversations ({change:+d}% vs Sep)"
    )

    # Both alternatives; the HTML has the table and the chart by cid:, and the chart is a part.
    plain = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    assert plain is not None and html_part is not None
    text, html = plain.get_content(), html_part.get_content()
    assert (
        f"{oct_:,}" in text
        and "Orbit Games" in text
        and "Attached: usage-report-2026-10.zip" in text
    )
    assert "<table" in html and f">{oct_:,}<" in html

    # The end users and the hand-off rate, with their change, from the independent count.
    m = oracle.metrics(docs, date(2026, 9, 1), date(2026, 10, 31), "UTC", "month", set(excluded))
    users, before = m["totals"]["2026-10"]["users"], m["totals"]["2026-09"]["users"]
    assert (
        f"End users:              {users:,} ({(users - before) / before:+.0%} vs Sep 2026)" in text
    )
    by_agent = oracle.metrics(
        docs, date(2026, 10, 1), date(2026, 10, 31), "UTC", "month", set(excluded), by="agent"
    )
    attributed = sum(
        v["total"]["conversations"] for a, v in by_agent["rows"].items() if a != "unattributed"
    )
    rate = by_agent["totals"]["total"]["handoffs"] / attributed
    assert f"Hand-off rate:          {rate:.1%} (" in text and f">{rate:.1%}<" in html
    assert "End users" in html and "distinct requesters" in html
    cids = re.findall(r'src="cid:([^"]+)"', html)
    assert len(cids) == 1
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert [p["Content-ID"] for p in images] == [f"<{cids[0]}>"]
    assert images[0].get_content().startswith(b"\x89PNG\r\n\x1a\n")

    # Nothing a mail client would block or fetch.
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert not re.search(r"<link|@import|url\(", html)
    assert 'width="600"' in html and "max-width:600px" in html

    # The pack's pages, zipped, byte for byte.
    pdf, attachment = list(message.iter_attachments())  # [email] attach: the PDF first
    assert pdf.get_filename() == "usage-report-2026-10.pdf"
    assert pdf.get_content() == (month / "usage-report-2026-10.pdf").read_bytes()
    assert attachment.get_filename() == "usage-report-2026-10.zip"
    archive = zipfile.ZipFile(io.BytesIO(attachment.get_content()))
    manifest = json.loads((month / "manifest.json").read_text())
    expected = ["index.html", *manifest["pages"], *manifest["tables"]]
    assert archive.namelist() == [f"usage-report-2026-10/{n}" for n in expected]
    for name in expected:
        assert archive.read(f"usage-report-2026-10/{name}") == (month / name).read_bytes()

    # No secret anywhere: not in the message, the attached pages, or the command's output.
    unzipped = b"".join(archive.read(n) for n in archive.namelist())
    for secret in (SMTP_PASSWORD, PASSWORD):
        assert secret.encode() not in raw and secret.encode() not in unzipped
        assert secret not in done.stdout + done.stderr

    # The sending is recorded with the message's id.
    [record] = sent_records(month)
    assert record["message_id"] == message["Message-ID"] and record["recipients"] == CONFIG_TO
    assert "Sent" in done.stdout and message["Message-ID"] in done.stdout


def test_a_second_run_sends_nothing_unless_forced(
    month: Path, smtp: tuple[Mailbox, dict[str, str]]
) -> None:
    box, env = smtp
    assert send_here(month, env).returncode == 0
    again = send_here(month, env)
    assert again.returncode == 0 and "Already sent" in again.stdout and "--force" in again.stdout
    assert len(box.received) == 1 and len(sent_records(month)) == 1

    forced = send_here(month, env, "--force")
    assert forced.returncode == 0 and len(box.received) == 2 and len(sent_records(month)) == 2

    other = send_here(
        month, env, "--to", "board@example.com"
    )  # another recipient list is another sending
    assert other.returncode == 0 and len(box.received) == 3
    assert box.received[2][1] == ["board@example.com"]


def test_refused_connection_exits_4_and_records_nothing(month: Path, smtp: Any) -> None:
    _, env = smtp
    before = (month / "manifest.json").read_bytes()
    done = send_here(month, {**env, "USAGE_SMTP_PORT": str(free_port())})
    assert done.returncode == 4
    assert (
        done.stderr.count("\n") == 1
        and "could not talk to the SMTP server 127.0.0.1" in done.stderr
    )
    assert "retry" in done.stderr and "Traceback" not in done.stderr
    assert (month / "manifest.json").read_bytes() == before  # nothing recorded, pack kept
    assert (month / "index.html").exists()


def test_authentication_failure_exits_4_without_the_password(
    month: Path, smtp: tuple[Mailbox, dict[str, str]]
) -> None:
    box, env = smtp
    wrong = "not-the-PW-123"
    done = send_here(month, {**env, "USAGE_SMTP_PASSWORD": wrong})
    assert done.returncode == 4 and "refused the login" in done.stderr and "535" in done.stderr
    assert wrong not in done.stdout + done.stderr and SMTP_PASSWORD not in done.stderr
    assert box.received == [] and sent_records(month) == []


def test_a_rejected_recipient_sends_to_nobody_and_the_same_command_retries(
    month: Path, smtp: tuple[Mailbox, dict[str, str]]
) -> None:
    box, env = smtp
    done = send_here(month, env, "--to", "ceo@example.com", "nobody@example.com")
    assert done.returncode == 4 and "nobody@example.com" in done.stderr and "550" in done.stderr
    assert box.received == [] and sent_records(month) == []  # all or nothing: ceo@ got nothing

    retry = send_here(month, env, "--to", "ceo@example.com")
    assert retry.returncode == 0 and len(box.received) == 1 and len(sent_records(month)) == 1


def test_implicit_tls(month: Path, tls: tuple[ssl.SSLContext, Path]) -> None:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, ssl_context=tls[0])
    controller.start()
    try:
        env = {
            "USAGE_SMTP_HOST": "127.0.0.1",
            "USAGE_SMTP_PORT": str(port),
            "USAGE_SMTP_SECURITY": "ssl",
            "SSL_CERT_FILE": str(tls[1]),
        }
        done = send_here(month, env)
    finally:
        controller.stop()
    assert done.returncode == 0, done.stderr
    assert len(box.received) == 1


def test_dry_run_writes_the_eml_and_sends_nothing(
    month: Path, smtp: tuple[Mailbox, dict[str, str]]
) -> None:
    box, env = smtp
    eml = month / "usage-report-2026-10.eml"
    assert parse(eml.read_bytes())["To"] != "ceo@example.com"
    done = send_here(month, env, "--dry-run", "--to", "ceo@example.com")
    assert done.returncode == 0 and str(eml) in done.stdout
    assert box.received == [] and sent_records(month) == []
    message = parse(eml.read_bytes())
    assert message["To"] == "ceo@example.com" and message.get_body(("html",)) is not None


def test_the_pack_has_the_email_a_new_user_can_open(pack: Path) -> None:
    """`run` (and so `make report`) writes the month's message into the pack, SMTP or not."""
    message = parse((pack / "usage-report-2026-10.eml").read_bytes())
    assert message["Subject"].startswith("Usage report, Oct 2026: ")
    assert message["To"] == ", ".join(CONFIG_TO)
    assert [p.get_content_type() for p in message.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
        "application/pdf",
        "application/zip",
    ]


def test_a_pack_without_its_message_says_so(
    month: Path, smtp: tuple[Mailbox, dict[str, str]]
) -> None:
    box, env = smtp
    (month / "usage-report-2026-10.eml").unlink()
    done = send_here(month, env)
    assert done.returncode == 1 and "usage-report-2026-10.eml is missing" in done.stderr
    assert box.received == [] and sent_records(month) == []


def test_missing_smtp_or_recipients_are_input_errors(month: Path) -> None:
    done = send_here(month, {})
    assert done.returncode == 2 and "USAGE_SMTP_HOST: not set" in done.stderr
    done = send_here(month, {"USAGE_SMTP_HOST": "127.0.0.1"}, "--to", "not-an-address")
    assert done.returncode == 2 and "--to: 'not-an-address' is not an email address" in done.stderr


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"USAGE_SMTP_SECURITY": "tls"}, "USAGE_SMTP_SECURITY"),
        ({"USAGE_SMTP_PORT": "99999"}, "USAGE_SMTP_PORT"),
        ({"USAGE_SMTP_USER": "u"}, "set both"),
        ({"USAGE_SMTP_PASSWORD": "p"}, "set both"),
    ],
)
def test_smtp_settings_are_checked(env: dict[str, str], error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        Smtp.from_env({"USAGE_SMTP_HOST": "mail.example.com", **env})


def test_smtp_defaults_follow_the_security() -> None:
    assert Smtp.from_env({}) is None
    ports = {
        s: Smtp.from_env({"USAGE_SMTP_HOST": "h", "USAGE_SMTP_SECURITY": s})
        for s in ("starttls", "ssl", "none")
    }
    assert {s: p.port for s, p in ports.items() if p} == {"starttls": 587, "ssl": 465, "none": 25}
    hidden = Smtp.from_env(
        {"USAGE_SMTP_HOST": "h", "USAGE_SMTP_USER": "u", "USAGE_SMTP_PASSWORD": "pw-xyz"}
    )
    assert "pw-xyz" not in repr(hidden)


def test_the_monthly_job_rebuilds_the_pack_but_does_not_send_twice(
    month: Path, smtp: tuple[Mailbox, dict[str, str]], read_only: Any
) -> None:
    """`run --month ... --email` as cron runs it, after the month already went out."""
    box, env = smtp
    assert send_here(month, env).returncode == 0
    [record] = sent_records(month)
    generated = json.loads((month / "manifest.json").read_text())["generated_at"]
    done = subprocess.run(
        [str(BIN), "run", "--month", "2026-10", "--out", str(month.parent), "--email", "--quiet"],
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(month.parent),
            "USAGE_CONFIG": str(EXAMPLE_CONFIG),
            "USAGE_MONGODB_URI": read_only[0],
            "USAGE_CACHE_DIR": os.environ["USAGE_CACHE_DIR"],  # the worker's local store
            **env,
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "Already sent" in done.stdout and len(box.received) == 1
    manifest = json.loads((month / "manifest.json").read_text())
    assert manifest["generated_at"] >= generated and manifest["sent"] == [record]


def test_a_statements_message_is_its_page_and_its_files() -> None:
    """A customer's message, composed from what its folder holds: the subject names it, its
    month and its count; the page is the HTML alternative; each file attached in order, CSV as
    text, XLSX as a workbook."""
    from usage_lib.report.mail import statement_message

    files = [("conversations.csv", "_id,agent\n1,Bot é\n".encode()), ("not-billed.xlsx", b"PK")]
    message = statement_message("Acme", "2026-10", 1234, "<h1>Acme</h1>", files)
    assert message["Subject"] == "Usage statement, Acme, Oct 2026: 1,234 billable conversations"
    assert "Oct 2026: 1,234 billable" in message.get_body(("plain",)).get_content()
    assert message.get_body(("html",)).get_content().strip() == "<h1>Acme</h1>"
    attached = [(p.get_filename(), p.get_content_type()) for p in message.iter_attachments()]
    assert attached == [
        ("conversations.csv", "text/csv"),
        ("not-billed.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ]
    csv_part = next(message.iter_attachments())
    assert csv_part.get_content() == "_id,agent\n1,Bot é\n"
