"""Billable-conversation usage analytics over a Tiledesk MongoDB.

import usage_lib as ul
src = ul.connect()                       # USAGE_MONGODB_URI, or the embedded demo database
cube = ul.load_cube(src)                 # the last 6 full months: one pass over `requests`
ul.platform_table(cube)                  # organizations x months, with a total column
ul.organization_table(cube, "<org id>")  # that organization's agents x months
ul.explore(src)                          # the interactive explorer (in JupyterLab)

Names are imported on first use, so that `import usage_lib` (and every command that
needs no chart) loads neither Altair nor papermill.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_WHERE = {
    "Source": "source",
    "connect": "source",
    "explore": "widget",
    "load_cube": "source",
    "Config": "config",
    "ConfigError": "config",
    "load_config": "config",
    "Cube": "cube",
    "DateRange": "periods",
    "buckets": "periods",
    "default_range": "periods",
    "last_n_days": "periods",
    "agent_table": "tables",
    "organization_table": "tables",
    "platform_table": "tables",
    "totals": "tables",
    "with_totals_row": "tables",
}
_MODULES = ("adoption", "charts", "checks", "render")
__all__ = [*_MODULES, *_WHERE]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return import_module(f".{name}", __name__)
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'usage_lib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
