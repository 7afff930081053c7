"""SMTP delivery: settings from the environment, and all-or-nothing sending of one message.

`Smtp.from_env` reads USAGE_SMTP_HOST/PORT/SECURITY/USER/PASSWORD; the password never
appears in a message, a log or an error.
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import parseaddr

from usage_lib.core.config import Config
from usage_lib.errors import ConfigError, MailError

SECURITY_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
TIMEOUT_S = 30


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
                "USAGE_SMTP_SECURITY", f"{security!r} is not one of starttls, ssl, none"
            )
        raw_port = env.get("USAGE_SMTP_PORT", "").strip()
        if raw_port and not (raw_port.isdigit() and 0 < int(raw_port) < 65536):
            raise ConfigError("USAGE_SMTP_PORT", f"{raw_port!r} is not a port number")
        user = env.get("USAGE_SMTP_USER", "").strip() or None
        password = env.get("USAGE_SMTP_PASSWORD") or None
        if bool(user) != bool(password):
            raise ConfigError("USAGE_SMTP_USER and USAGE_SMTP_PASSWORD", "set both, or neither")
        port = int(raw_port) if raw_port else SECURITY_PORTS[security]
        return cls(host, port, security, user, password)

    def describe(self) -> str:
        return f"{self.host}:{self.port} ({self.security})"


def check_address(value: str, key: str) -> str:
    _, address = parseaddr(value)
    if "@" not in address or " " in address or address.startswith("@") or address.endswith("@"):
        raise ConfigError(key, f"{value!r} is not an email address")
    return value


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


@dataclass(frozen=True)
class Mailing:
    """A sending's settings, checked before any work is done: who from, to whom, through
    which server (None only for a dry run)."""

    sender: str
    recipients: tuple[str, ...]
    smtp: Smtp | None

    def send(self, message: EmailMessage) -> EmailMessage:
        """The message addressed to this sending and delivered (all or nothing)."""
        from usage_lib.report.mail import addressed

        assert self.smtp is not None, "a dry run sends nothing"
        sent = addressed(message, self.sender, self.recipients)
        deliver(sent, self.smtp, self.sender, self.recipients)
        return sent


def mailing(
    config: Config,
    to: Sequence[str] = (),
    dry_run: bool = False,
    env: Mapping[str, str] | None = None,
) -> Mailing:
    """The one check of the mailing settings: recipients (`to`, else [email] to), the sender
    ([email] from), SMTP from the environment (not needed for a dry run)."""
    recipients = tuple(check_address(a, "to") for a in (to or config.email_to))
    if not recipients:
        raise ConfigError(
            "email.to", "no recipients; list them under [email] in the config or pass --to"
        )
    if not config.email_from:
        raise ConfigError("email.from", "no sender; set it under [email] in the config")
    smtp = Smtp.from_env(env)
    if smtp is None and not dry_run:
        raise ConfigError(
            "USAGE_SMTP_HOST",
            "not set: configure SMTP in the environment (docs/configuration.md), "
            "or use send --dry-run to write the .eml",
        )
    return Mailing(config.email_from, recipients, smtp)
