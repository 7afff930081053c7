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
    "Source": "core.source",
    "connect": "connection",
    "explore": "explorer.widget",
    "load_cube": "core.source",
    "Config": "core.config",
    "ConfigError": "errors",
    "load_config": "core.config",
    "Cube": "core.cube",
    "DateRange": "core.periods",
    "buckets": "core.buckets",
    "default_range": "core.periods",
    "last_n_days": "core.periods",
    "agent_table": "core.tables",
    "organization_table": "core.tables",
    "platform_table": "core.tables",
    "totals": "core.tables",
    "with_totals_row": "core.tables",
}
# The modules analysts and the notebooks use by their old short names.
_MODULES = {
    "adoption": "figures.adoption",
    "charts": "present.charts",
    "checks": "figures.checks",
    "render": "present.html",
    "tables": "core.tables",
}
__all__ = [*_MODULES, *_WHERE]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return import_module(f".{_MODULES[name]}", __name__)
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'usage_lib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
