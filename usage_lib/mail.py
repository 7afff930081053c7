"""The monthly email: composed from a published pack, sent through SMTP at most once per
month and recipient list.

The message is multipart/mixed: a text/plain and an HTML alternative (inline styles, the
trend chart as a `cid:` PNG, no scripts, no external resources, 600 px wide), and the pack's
HTML pages as one zip. SMTP settings come from the environment only (`Smtp.from_env`).
"""

from __future__ import annotations

import io
import os
import smtplib
import socket
import ssl
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid, parseaddr
from html import escape
from pathlib import Path
from typing import Any

import polars as pl

from .adoption import Headline, headline
from .charts import trend_chart
from .checks import Finding, all_checks
from .config import ConfigError
from .cube import Cube
from .formats import table_text
from .render import FONT, counted_line, counted_text, headline_cards, usage_table
from .tables import platform_table, table_buckets, top_rows

SECURITY_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
TIMEOUT_S = 30
TOP_ORGANIZATIONS = 25  # the email's table; the rest are one row (the attached pages have all)
PREVIEW_TO = "undisclosed-recipients:;"
PREVIEW_FROM = "usage-report@localhost"
CHART_CID = "trend-chart"


class MailError(RuntimeError):
    """The message was not sent (exit code 4); nothing is recorded, the same command retries."""


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    security: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Smtp | None:
        """USAGE_SMTP_HOST/PORT/SECURITY/USER/PASSWORD; None when no host is set."""
        env = os.environ if env is None else env
        host = env.get("USAGE_SMTP_HOST", "").strip()
        if not host:
            return None
        security = env.get("USAGE_SMTP_SECURITY", "starttls").strip().lower() or "starttls"
        if security not in SECURITY_PORTS:
            raise ConfigError(
                f"USAGE_SMTP_SECURITY: {security!r} is not one of starttls, ssl, none"
            )
        raw_port = env.get("USAGE_SMTP_PORT", "").strip()
        if raw_port and not (raw_port.isdigit() and 0 < int(raw_port) < 65536):
            raise ConfigError(f"USAGE_SMTP_PORT: {raw_port!r} is not a port number")
        user = env.get("USAGE_SMTP_USER", "").strip() or None
        password = env.get("USAGE_SMTP_PASSWORD") or None
        if bool(user) != bool(password):
            raise ConfigError("USAGE_SMTP_USER and USAGE_SMTP_PASSWORD: set both, or neither")
        port = int(raw_port) if raw_port else SECURITY_PORTS[security]
        return cls(host, port, security, user, password)

    def describe(self) -> str:
        return f"{self.host}:{self.port} ({self.security})"


def check_address(value: str, key: str) -> str:
    _, address = parseaddr(value)
    if "@" not in address or " " in address or address.startswith("@") or address.endswith("@"):
        raise ConfigError(f"{key}: {value!r} is not an email address")
    return value


def eml_path(pack: Path, month: str) -> Path:
    return pack / f"usage-report-{month}.eml"


def zip_name(month: str) -> str:
    return f"usage-report-{month}.zip"


# -- composing -----------------------------------------------------------------------------------


def subject(h: Headline) -> str:
    text = f"Usage report, {h.label}: {h.billable:,} billable conversations"
    if h.change is not None and h.previous_label:
        same_year = h.previous_label[-4:] == h.label[-4:]
        before = h.previous_label.split()[0] if same_year else h.previous_label
        text += f" ({h.change:+.0%} vs {before})"
    return text


def pack_zip(pack: Path, manifest: dict[str, Any]) -> bytes:
    """The pack's HTML pages (self-contained, linked from index.html) in one zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in ["index.html", *manifest["pages"]]:
            archive.write(pack / name, f"usage-report-{manifest['month']}/{name}")
    return buffer.getvalue()


def _titles(manifest: dict[str, Any]) -> str:
    return ", ".join(
        p.split("_", 1)[-1].removesuffix(".html").replace("_", " ") for p in manifest["pages"]
    )


@dataclass(frozen=True)
class Digest:
    """What both alternatives show, computed once from the pack."""

    cube: Cube
    headline: Headline
    table: pl.DataFrame  # organizations x months: the top ones, then the rest in one row
    findings: list[Finding]
    manifest: dict[str, Any]
    attachment: str  # the zip's file name

    @classmethod
    def of(cls, pack: Path, manifest: dict[str, Any]) -> Digest:
        cube = Cube.load(pack / "cube.parquet")
        return cls(
            cube=cube,
            headline=headline(cube, manifest["month"]),
            table=top_rows(platform_table(cube, "month"), TOP_ORGANIZATIONS),
            findings=all_checks(cube),
            manifest=manifest,
            attachment=zip_name(manifest["month"]),
        )


def html_body(d: Digest, description: str) -> str:
    """600 px, inline styles only, no scripts, no external resources; the chart is `cid:`."""
    h, manifest = d.headline, d.manifest
    checks = "".join(
        f'<li style="margin:0 0 6px 0;"><b>{escape(f.title)}</b>: {escape(f.sentence)}</li>'
        for f in d.findings
    )
    h2 = f'style="{FONT}font-size:17px;margin:22px 0 6px 0;"'
    text = f'style="{FONT}font-size:13px;color:#333;"'
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(subject(h))}</title></head>"
        '<body style="margin:0;padding:0;background:#f3f3f3;">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f3f3f3;">'
        '<tr><td align="center" style="padding:12px 0;">'
        '<table role="presentation" width="600" cellpadding="0" cellspacing="0" '
        'style="width:100%;max-width:600px;background:#ffffff;border:1px solid #ddd;">'
        '<tr><td style="padding:16px 16px 20px 16px;">'
        f'<h1 style="{FONT}font-size:22px;margin:0 0 4px 0;">Usage report, {escape(h.label)}</h1>'
        f"{counted_line(d.cube)}"
        f"{headline_cards(h, per_row=2)}"
        f"<h2 {h2}>Billable conversations by organization</h2>"
        f'<div style="overflow-x:auto;">{usage_table(d.table, d.cube, "month")}</div>'
        f"<h2 {h2}>Trend</h2>"
        f'<img src="cid:{CHART_CID}" width="568" alt="{escape(description)}" '
        'style="display:block;width:100%;max-width:568px;height:auto;border:0;">'
        f"<h2 {h2}>Data checks</h2>"
        f'<ul {text[:-1]}padding-left:18px;">{checks}</ul>'
        f"<h2 {h2}>Attached</h2>"
        f"<p {text}><b>{escape(d.attachment)}</b>: the full report ({escape(_titles(manifest))}), "
        "self-contained HTML pages with every organization's agents. Unzip it and open "
        "<b>index.html</b> in a browser.</p>"
        f'<p style="{FONT}font-size:11px;color:#777;">Data as of {escape(manifest["data_as_of"])}; '
        f"usage_lib {escape(manifest['library_version'])}.</p>"
        "</td></tr></table></td></tr></table></body></html>"
    )


def text_body(d: Digest) -> str:
    h, manifest = d.headline, d.manifest
    title = f"Usage report, {h.label}"
    new = ", ".join(h.new_organizations) or "none"
    lines = [
        title,
        "=" * len(title),
        "",
        f"Billable conversations: {h.billable:,} ({h.change_text()})",
        f"Active organizations:   {h.active_organizations:,}",
        f"Active agents:          {h.active_agents:,}",
        f"New organizations:      {len(h.new_organizations)} ({new})",
        "",
        table_text(
            d.table,
            table_buckets(d.cube, "month"),
            "Billable conversations by organization",
            counted_text(d.cube),
        ),
        "Data checks",
        *[f"- {f.title}: {f.sentence}" for f in d.findings],
        "",
        f"Attached: {d.attachment}, the full report ({_titles(manifest)}).",
        "Unzip it and open index.html in a browser.",
        "",
        f"Data as of {manifest['data_as_of']}; usage_lib {manifest['library_version']}.",
    ]
    return "\n".join(lines) + "\n"


def compose(
    pack: Path, manifest: dict[str, Any], sender: str, recipients: Sequence[str]
) -> EmailMessage:
    """The month's message from a pack folder (its manifest, cube and HTML pages)."""
    digest = Digest.of(pack, manifest)
    chart = trend_chart(digest.cube)

    message = EmailMessage()
    message["Subject"] = subject(digest.headline)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid("usage-report", domain=domain)
    message.set_content(text_body(digest))
    message.add_alternative(html_body(digest, chart.description), subtype="html")
    html_part = message.get_body(("html",))
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(chart.png(), "image", "png", cid=f"<{CHART_CID}>", filename="trend.png")
    message.add_attachment(
        pack_zip(pack, manifest), maintype="application", subtype="zip", filename=digest.attachment
    )
    return message


def write_eml(pack: Path, month: str, message: EmailMessage) -> Path:
    path = eml_path(pack, month)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(bytes(message))
    os.replace(tmp, path)
    return path


# -- sending -------------------------------------------------------------------------------------


def deliver(message: EmailMessage, smtp: Smtp, sender: str, recipients: Sequence[str]) -> None:
    """Send to every recipient or to none: all recipients are checked before the data goes.

    Raises MailError with one line (never the password) when nothing was sent.
    """
    where = smtp.describe()
    envelope_from = parseaddr(sender)[1]
    envelope_to = [parseaddr(r)[1] for r in recipients]
    try:
        client: smtplib.SMTP
        if smtp.security == "ssl":
            client = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=TIMEOUT_S, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT_S)
        with client:
            client.ehlo()
            if smtp.security == "starttls":
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if smtp.user and smtp.password:
                client.login(smtp.user, smtp.password)
            code, reply = client.mail(envelope_from)
            if code != 250:
                raise MailError(
                    f"{where} refused the sender {envelope_from}: {_reply(code, reply)}"
                )
            refused = []
            for address in envelope_to:
                code, reply = client.rcpt(address)
                if code not in (250, 251):
                    refused.append(f"{address} ({_reply(code, reply)})")
            if refused:
                client.rset()
                raise MailError(f"{where} rejected {', '.join(refused)}; sent to nobody")
            code, reply = client.data(message.as_bytes(policy=SMTP_POLICY))  # CRLF line ends
            if code != 250:
                raise MailError(f"{where} refused the message: {_reply(code, reply)}")
    except MailError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(
            f"{where} refused the login of USAGE_SMTP_USER {smtp.user!r}: "
            f"{_reply(exc.smtp_code, exc.smtp_error)}"
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise MailError(f"{where}: {exc} (check USAGE_SMTP_SECURITY)") from None
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"{where} answered {_reply(exc.smtp_code, exc.smtp_error)}") from None
    except ssl.SSLError as exc:
        raise MailError(
            f"TLS with {where} failed ({exc.reason or exc}); check USAGE_SMTP_SECURITY and "
            "USAGE_SMTP_PORT (ssl is usually 465, starttls 587)"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        reason = (
            "timed out"
            if isinstance(exc, socket.timeout)
            else exc.strerror or str(exc) or type(exc).__name__
        )
        raise MailError(
            f"could not talk to the SMTP server {where}: {reason}; "
            "check USAGE_SMTP_HOST and USAGE_SMTP_PORT"
        ) from None


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {' '.join(text.split())}"
