"""Billable-conversation usage analytics over a Tiledesk MongoDB.

import usage_lib as ul
src = ul.connect()                       # USAGE_MONGODB_URI, or the embedded demo database
cube = ul.load_cube(src)                 # the last 6 full months: one pass over `requests`
ul.platform_table(cube)                  # organizations x months, with a total column
ul.organization_table(cube, "<org id>")  # that organization's agents x months
ul.explore(src)                          # the interactive explorer (in JupyterLab)

The notebooks also use the stages by short names: `ul.render` (HTML), `ul.charts`,
`ul.checks`, `ul.adoption`, `ul.tables`. Names are imported on first use, so that
`import usage_lib` (and every command that needs no chart) loads neither Altair nor
papermill; type checkers and IDEs see the real ones.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from usage_lib.connection import connect as connect
    from usage_lib.core import tables as tables
    from usage_lib.core.source import load_cube as load_cube
    from usage_lib.core.tables import organization_table as organization_table
    from usage_lib.core.tables import platform_table as platform_table
    from usage_lib.explorer.widget import explore as explore
    from usage_lib.figures import adoption as adoption
    from usage_lib.figures import checks as checks
    from usage_lib.present import charts as charts
    from usage_lib.present import html as render  # noqa: F401 (in __all__ through _MODULES)

_WHERE = {
    "connect": "connection",
    "load_cube": "core.source",
    "platform_table": "core.tables",
    "organization_table": "core.tables",
    "explore": "explorer.widget",
}
_MODULES = {
    "adoption": "figures.adoption",
    "charts": "present.charts",
    "checks": "figures.checks",
    "render": "present.html",
    "tables": "core.tables",
}
__all__ = [*_WHERE, *_MODULES]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return import_module(f".{_MODULES[name]}", __name__)
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'usage_lib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
