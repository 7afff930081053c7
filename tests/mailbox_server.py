"""A real SMTP server (aiosmtpd) on loopback for the mail tests: STARTTLS with a private CA,
then AUTH; the fixtures `tls` and `smtp` are in tests/report/conftest.py."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from usage_lib.demo.server import free_port

SMTP_USER, SMTP_PASSWORD = "mailer", "smtp-PW-9f3k"


class Mailbox:
    """Delivers every accepted message into a list; refuses RCPT to nobody@."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 <nobody>: no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        )
        return "250 Message accepted"


def _login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


def make_tls(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A private CA and a certificate for 127.0.0.1; the client trusts the CA via SSL_CERT_FILE."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return context, ca_file


def serve(tls: tuple[ssl.SSLContext, Path]) -> Iterator[tuple[Mailbox, dict[str, str]]]:
    """STARTTLS required, then AUTH; yields the mailbox and the sender's SMTP environment."""
    box = Mailbox()
    port = free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        tls_context=tls[0],
        require_starttls=True,
        authenticator=_login,
        auth_required=True,
    )
    controller.start()
    try:
        yield (
            box,
            {
                "USAGE_SMTP_HOST": "127.0.0.1",
                "USAGE_SMTP_PORT": str(port),
                "USAGE_SMTP_SECURITY": "starttls",
                "USAGE_SMTP_USER": SMTP_USER,
                "USAGE_SMTP_PASSWORD": SMTP_PASSWORD,
                "SSL_CERT_FILE": str(tls[1]),
            },
        )
    finally:
        controller.stop()
