"""The SMTP server of the mail tests (tests/mailbox_server.py) as fixtures."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from mailbox_server import Mailbox, make_tls, serve


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, Path]:
    return make_tls(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def smtp(tls: tuple[ssl.SSLContext, Path]) -> Iterator[tuple[Mailbox, dict[str, str]]]:
    yield from serve(tls)
