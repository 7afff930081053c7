"""Billable-conversation usage analytics over a Tiledesk MongoDB.

import usage_lib as ul
src = ul.connect()                       # USAGE_MONGODB_URI, or the embedded demo database
cube = ul.load_cube(src)                 # the last 6 full months: one pass over `requests`
ul.platform_table(cube)                  # organizations x months, with a total column
ul.organization_table(cube, "<org id>")  # that organization's agents x months
"""

from . import adoption, charts, checks, render
from .api import Source, connect, load_cube
from .config import Config, ConfigError, load_config
from .cube import Cube
from .periods import DateRange, buckets, default_range, last_n_days
from .tables import agent_table, organization_table, platform_table, totals, with_totals_row

__version__ = "0.1.0"
__all__ = [
    "adoption",
    "charts",
    "checks",
    "render",
    "Config",
    "ConfigError",
    "Cube",
    "DateRange",
    "Source",
    "agent_table",
    "buckets",
    "connect",
    "default_range",
    "last_n_days",
    "load_config",
    "load_cube",
    "organization_table",
    "platform_table",
    "totals",
    "with_totals_row",
]
