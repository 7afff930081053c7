"""Every error the package raises on purpose, each one line a user can act on, and the exit
code the command line gives it. It imports nothing of the package, so that any module may
raise them.
"""

from __future__ import annotations

from pathlib import Path


class ConfigError(ValueError):
    """Bad configuration or input: one line naming the setting (`key`) and what is allowed.

    Keys are settings and values (`report.timezone`, `month`, `last_days`), never
    command-line flags: the command line maps them to its flags."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class DatabaseError(RuntimeError):
    """The database is unreachable or refused the request (exit code 3)."""


class TooBig(DatabaseError):
    """The server reached a limit of its own with this pass (too large, out of memory, out of
    time): the database works, the request was too much (exit code 1)."""


class ReportError(RuntimeError):
    """The pack could not be made (exit code 1); the previous pack is untouched."""


class MailError(RuntimeError):
    """The message was not sent (exit code 4); nothing is recorded, the same command retries."""


class NotebookFailed(RuntimeError):
    """A notebook raised; `path` is its executed copy, with papermill's error banner."""

    def __init__(self, path: Path, ename: str, evalue: str) -> None:
        super().__init__(f"{path.name} failed ({ename}: {evalue})")
        self.path = path


class ReconcileError(RuntimeError):
    """The billed side could not be read; one line naming the source (and the row)."""
