"""`usage-report alerts` on the demo data, as a user runs it: the planted customers and no
others, the JSON contract, the daily message once per day and recipient list (aiosmtpd);
and the pack's bridge of the month against the oracle."""

from __future__ import annotations

import email
import json
import os
import subprocess
from datetime import UTC, date, datetime, time, timedelta
from email import policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import oracle
import pytest
from mailbox_server import SMTP_PASSWORD, Mailbox
from pymongo import MongoClient
from support import BIN

from usage_lib.cli import main
from usage_lib.demo.data import SILENT_ORG, SPIKE_ORG
from usage_lib.demo.server import free_port
from usage_lib.paths import EXAMPLE_CONFIG

AS_OF = "2026-11-05"  # the session's demo data is anchored to Oct 2026: watched 2-4 Nov
CONFIG_TO = ["leadership@example.com"]  # usage.example.toml's [email] to
ZONE = "UTC"  # usage.example.toml's [report] timezone


def as_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["alerts", "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def started(name: str, days: list[str]) -> int:
    """Conversations of `name` started on those local days, not tests: counted directly."""
    with MongoClient(os.environ["USAGE_MONGODB_URI"]) as client:
        db = client.tiledesk
        org = db.organizations.find_one({"name": name})
        assert org is not None
        zone = ZoneInfo(ZONE)
        first = datetime.combine(date.fromisoformat(days[0]), time(), zone).astimezone(UTC)
        end = datetime.combine(date.fromisoformat(days[-1]) + timedelta(days=1), time(), zone)
        query = {
            "id_organization": {"$in": [org["_id"], str(org["_id"])]},
            "createdAt": {
                "$gte": first.replace(tzinfo=None),
                "$lt": end.astimezone(UTC).replace(tzinfo=None),
            },
            "isTestMode": {"$ne": True},
        }
        return db.requests.count_documents(query)


def test_the_planted_customers_and_no_others(capsys: pytest.CaptureFixture[str]) -> None:
    out = as_json(capsys, "--as-of", AS_OF)
    assert out["as_of"] == AS_OF and out["days"] == ["2026-11-02", "2026-11-03", "2026-11-04"]
    assert out["baseline_weeks"] == 8 and out["watched"] == 20  # the 20 customers
    found = [(a["kind"], a["name"], a["agent_id"]) for a in out["alerts"]]
    assert found == [("silent", SILENT_ORG, None), ("spike", SPIKE_ORG, None)]
    silent, spike = out["alerts"]
    assert silent["observed"] == 0 and silent["z"] is None and silent["change_pct"] == -100.0
    assert silent["tenant"] == "organization" and silent["expected"] > 5 * 3
    assert spike["observed"] == started(SPIKE_ORG, out["days"])
    assert spike["observed"] >= 2 * spike["expected"] and spike["z"] >= 3
    assert started(SILENT_ORG, out["days"]) == 0


def test_text_says_what_was_watched_and_the_month_so_far(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["alerts", "--as-of", AS_OF]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{SILENT_ORG}: silent for 3 days (usually ")
    assert lines[0].endswith(" a day on these weekdays)")
    assert lines[1].startswith(f"{SPIKE_ORG}: ") and "x the usual" in lines[1]
    assert lines[2].startswith("Watched: conversations started (any status and length")
    assert "2 Nov – 4 Nov 2026" in lines[2]
    assert lines[3].startswith("November 2026 through 4 Nov: ") and "October 2026" in lines[3]


def test_a_quiet_day_has_no_alerts(capsys: pytest.CaptureFixture[str]) -> None:
    out = as_json(capsys, "--as-of", "2026-10-20")
    assert out["alerts"] == []
    assert out["watched"] == 19  # Granite Builders began in September: too little history


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[alerts]\ndays = 0\n", "alerts.days"),
        ("[alerts]\nweeks = 2\n", "alerts.weeks"),
        ("[alerts]\nmin_daily = 0\n", "alerts.min_daily"),
        ('[alerts]\nto = ["nobody"]\n', "alerts.to"),
        ("[alerts]\nhours = 3\n", "alerts.hours"),
    ],
)
def test_bad_settings_name_the_key(
    tmp_path: Path, toml: str, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "usage.toml"
    config.write_text(toml)
    assert main(["alerts", "--config", str(config), "--as-of", AS_OF]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and key in err


# -- the daily message ------------------------------------------------------------------------


def alerts(out: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full_env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(out),
        "USAGE_CONFIG": str(EXAMPLE_CONFIG),
        "USAGE_MONGODB_URI": os.environ["USAGE_MONGODB_URI"],
        # the session's local store (conftest.py), as the tests above use it: the daily run
        # is warm, as a user's cron run is (a cold first read is test_warm's subject)
        "USAGE_CACHE_DIR": os.environ["USAGE_CACHE_DIR"],
        **env,
    }
    return subprocess.run(
        [str(BIN), "alerts", "--out", str(out), *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def records(out: Path, day: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(
        (out / "alerts" / day / "manifest.json").read_text()
    ).get("sent", [])
    return found


def test_the_daily_message_goes_once_per_day_and_recipients(
    tmp_path: Path, smtp: tuple[Mailbox, dict[str, str]]
) -> None:
    box, env = smtp
    first = alerts(tmp_path, env, "--as-of", AS_OF, "--email")
    assert first.returncode == 0, first.stderr
    assert len(box.received) == 1
    sender, rcpt, raw = box.received[0]
    assert sender == "usage-reports@example.com" and rcpt == CONFIG_TO
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message["Subject"].startswith(f"Usage alerts, 5 Nov: {SILENT_ORG}: silent for 3 days")
    assert message["Subject"].endswith("(and 1 more)")
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    for body in (text, html):
        assert SILENT_ORG in body and SPIKE_ORG in body and "The month so far" in body
        assert "on course for about" in body
    assert SMTP_PASSWORD not in raw.decode() + first.stdout + first.stderr
    saved = json.loads((tmp_path / "alerts" / AS_OF / "alerts.json").read_text())
    assert [a["name"] for a in saved["alerts"]] == [SILENT_ORG, SPIKE_ORG]
    assert len(records(tmp_path, AS_OF)) == 1

    again = alerts(tmp_path, env, "--as-of", AS_OF, "--email")
    assert again.returncode == 0 and "Already sent" in again.stderr and len(box.received) == 1
    forced = alerts(tmp_path, env, "--as-of", AS_OF, "--email", "--force")
    assert forced.returncode == 0 and len(box.received) == 2
    other = alerts(tmp_path, env, "--as-of", AS_OF, "--email", "--to", "ops@example.com")
    assert other.returncode == 0 and box.received[2][1] == ["ops@example.com"]
    assert len(records(tmp_path, AS_OF)) == 3

    quiet = alerts(tmp_path, env, "--as-of", "2026-10-20", "--email")
    assert quiet.returncode == 0 and "No alerts: nothing sent." in quiet.stderr
    assert len(box.received) == 3 and not (tmp_path / "alerts" / "2026-10-20").exists()


def test_a_failed_delivery_exits_4_and_records_nothing(
    tmp_path: Path, smtp: tuple[Mailbox, dict[str, str]]
) -> None:
    _, env = smtp
    done = alerts(
        tmp_path, {**env, "USAGE_SMTP_PORT": str(free_port())}, "--as-of", AS_OF, "--email"
    )
    said = done.stderr.splitlines()  # what was read, then the failure: one line
    assert done.returncode == 4 and len(said) == 2 and said[0].startswith("Read: "), done.stderr
    assert records(tmp_path, AS_OF) == []
    retried = alerts(tmp_path, env, "--as-of", AS_OF, "--email")
    assert retried.returncode == 0 and len(records(tmp_path, AS_OF)) == 1


def test_a_dry_run_writes_the_message(tmp_path: Path) -> None:
    done = alerts(tmp_path, {}, "--as-of", AS_OF, "--dry-run")
    assert done.returncode == 0 and "Dry run: wrote" in done.stderr
    eml = tmp_path / "alerts" / AS_OF / f"alerts-{AS_OF}.eml"
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["To"] == ", ".join(CONFIG_TO) and message["From"] == "usage-reports@example.com"


# -- the month's bridge, in the pack ------------------------------------------------------------


def test_the_bridge_adds_up_to_the_change_per_the_oracle(
    pack: Path, read_only: tuple[str, list[dict[str, Any]], list[str]]
) -> None:
    _, docs, excluded = read_only
    manifest = json.loads((pack / "manifest.json").read_text())
    zone = manifest["timezone"]
    by = oracle.counts(docs, date(2026, 9, 1), date(2026, 10, 31), zone, "month", set(excluded))
    before = {org: months.get("2026-09", 0) for org, months in by.items()}
    after = {org: months.get("2026-10", 0) for org, months in by.items()}
    parts = {"new": 0, "lost": 0, "growth": 0, "decline": 0, "unchanged": 0}
    tenants = dict.fromkeys(parts, 0)
    for org in by:
        b, a = before[org], after[org]
        part = (
            None
            if b == a == 0
            else "unassigned"  # no organization: a row of its own, no customer
            if org == oracle.UNASSIGNED
            else "new"
            if b == 0 and a
            else "lost"
            if a == 0 and b
            else "growth"
            if a > b
            else "decline"
            if a < b
            else "unchanged"
        )
        if part == "unassigned":
            parts.setdefault(part, 0)
            tenants.setdefault(part, 0)
        if part:
            parts[part] += a - b
            tenants[part] += 1
    bridge = manifest["bridge"]
    assert bridge["before"] == sum(before.values()) and bridge["after"] == sum(after.values())
    assert {p: v["change"] for p, v in bridge["parts"].items()} == parts
    assert {p: v["tenants"] for p, v in bridge["parts"].items()} == tenants
    assert (
        sum(parts.values())
        == bridge["after"] - bridge["before"]
        == (manifest["billable"]["month"] - manifest["billable"]["by_month"]["2026-09"])
    )
    index = (pack / "index.html").read_text()
    assert "Why the month moved" in index and "Alerts during the month" in index
    assert manifest["alerts"] == []  # at 6,000 conversations no customer has 5 a day
