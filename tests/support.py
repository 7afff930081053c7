"""Constants shared by the test modules and tests/conftest.py."""

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from pymongo import monitoring

from usage_lib.core.cube import Cube
from usage_lib.core.periods import DateRange

BIN = Path(sys.executable).with_name("usage-report")  # the installed command line
PASSWORD = "s3cret-PW-42"  # the read-only database user's; must appear in no output


class Commands(monitoring.CommandListener):
    """The names of the commands a client sent (pass it as an event listener)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def billable_cube(rows: list[tuple[Any, ...]], start: date, end: date, rule: str = "rule") -> Cube:
    """A cube from (org_id, org_name, agent_id, agent_name, day, billable) rows: no test mode,
    nothing excluded, every agent exists; read the day after `end`."""
    frame = pl.DataFrame(
        rows,
        schema={
            "org_id": pl.String,
            "org_name": pl.String,
            "agent_id": pl.String,
            "agent_name": pl.String,
            "day": pl.Date,
            "billable": pl.Int64,
        },
        orient="row",
    ).with_columns(
        test_mode=pl.lit(0, pl.Int64),
        excluded=pl.lit(0, pl.Int64),
        depth_sum=pl.lit(0, pl.Int64),
        depth_n=pl.col("billable"),
        handoffs=pl.lit(0, pl.Int64),
        agent_exists=pl.lit(True),
    )
    after = end + timedelta(days=1)
    read_at = datetime(after.year, after.month, after.day, tzinfo=UTC)
    return Cube(frame, DateRange(start, end), rule, (), read_at)
