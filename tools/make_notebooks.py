"""Write the report notebooks' sources (run once when their cells change, then execute them).

`python tools/make_notebooks.py [NAME ...]` rewrites the named notebooks (default: all)
without outputs; `make notebooks` then executes them again for nbval.

The notebooks stay thin: a literal-only parameters cell, then calls into usage_lib.
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent / "notebooks"
SETUP = "import usage_lib as ul\nfrom usage_lib import notebook as nb\n\ncube = nb.report_cube(month, cube_path, config_path)\nmonth = nb.month_key(month)"
PARAMS = (
    "# Parameters (literals only; secrets come from the environment)\n"
    'month = "2026-10"  # the report month, YYYY-MM ("last" for the last full month)\n'
    'cube_path = ""  # set by `usage-report run`: the cube it read once for the whole pack\n'
    'config_path = ""  # a TOML config; empty: $USAGE_CONFIG or the defaults\n'
    "top = 50  # customers listed by name, the rest in one row (`usage-report run`: [report] top)"
)
FOOT = "nb.show(ul.render.rule_section(cube))  # the counting rule in full"

NOTEBOOKS = {
    "1_platform": [
        new_markdown_cell("# Platform usage\nBillable conversations per customer, by month."),
        new_code_cell(PARAMS, metadata={"tags": ["parameters"]}),
        new_code_cell(SETUP),
        new_code_cell("nb.show(ul.render.rule_line(cube))"),
        new_markdown_cell("## Headline"),
        new_code_cell("nb.show(ul.render.headline_cards(ul.adoption.headline(cube, month)))"),
        new_markdown_cell(
            "## End users and hand-offs\nThe report month against the month before: distinct "
            "end users, and the share of agent conversations handed to a human."
        ),
        new_code_cell("nb.show(ul.render.engagement_table(cube, month, top))"),
        new_code_cell('nb.heading(cube, "## {Tenants} by month")'),
        new_code_cell(
            "nb.show(ul.render.usage_table(ul.platform_table(cube, 'month'), cube, 'month', top=top))"
        ),
        new_markdown_cell("## Trend"),
        new_code_cell("ul.charts.trend_chart(cube, top=6)"),
        new_code_cell(FOOT),
    ],
    "2_agents": [
        new_markdown_cell(
            "# Agents\nBillable conversations per agent, by month, for each customer; "
            "then each agent's hand-off rate and average depth over the months shown."
        ),
        new_code_cell(
            PARAMS + '\norg_id = ""  # one organization or project (24 hex); empty: every one',
            metadata={"tags": ["parameters"]},
        ),
        new_code_cell(SETUP),
        new_code_cell("nb.show(ul.render.rule_line(cube))"),
        new_code_cell("nb.show(ul.render.agent_sections(cube, org_id, top))"),
        new_code_cell(FOOT),
    ],
    "3_adoption": [
        new_markdown_cell(
            "# Adoption and trends\nActive, new, returning and dormant customers; growth; movers."
        ),
        new_code_cell(PARAMS, metadata={"tags": ["parameters"]}),
        new_code_cell(SETUP),
        new_code_cell("nb.show(ul.render.rule_line(cube))"),
        new_markdown_cell(
            "## Activity by month\nNew: first active in the window. Returning: active again after a "
            "month without. Dormant: active the month before, not this month."
        ),
        new_code_cell("nb.show(ul.render.activity_table(cube))"),
        new_code_cell("ul.charts.adoption_chart(cube)"),
        new_markdown_cell("## Biggest movers against the previous month"),
        new_code_cell("nb.show(ul.render.movers_table(cube, month))"),
        new_code_cell('nb.heading(cube, "## {Tenants} that started within the window")'),
        new_code_cell("nb.show(ul.render.starters_table(cube, top))"),
        new_code_cell(FOOT),
    ],
    "5_reconciliation": [
        new_markdown_cell(
            "# Reconciliation with billing\nBillable conversations counted against the billed "
            "quantities, per customer and month; differences beyond the tolerance first."
        ),
        new_code_cell(
            PARAMS
            + '\nreconciliation_path = ""  # set by `usage-report run` when [reconcile] is configured'
            + '\nreconciliation_error = ""  # set by `usage-report run` when billing could not be read',
            metadata={"tags": ["parameters"]},
        ),
        new_code_cell(SETUP),
        new_code_cell("nb.show(ul.render.rule_line(cube))"),
        new_code_cell(
            "nb.show(nb.reconciliation(reconciliation_path, reconciliation_error, cube.Tenant, top))"
        ),
        new_code_cell(FOOT),
    ],
    "4_data_checks": [
        new_markdown_cell("# Data checks\nWhat a reader must know before trusting the numbers."),
        new_code_cell(
            PARAMS
            + '\nrestatements_path = ""  # set by `usage-report run`: months restated since published'
            + '\nsteps_path = ""  # set by `usage-report run`: the month, step by step',
            metadata={"tags": ["parameters"]},
        ),
        new_code_cell(SETUP),
        new_code_cell("nb.show(ul.render.rule_line(cube))"),
        new_code_cell("nb.show(nb.steps(month, steps_path, config_path))"),
        new_code_cell(
            "restated = nb.restatements(restatements_path)\n"
            "nb.show(ul.render.findings(ul.checks.all_checks(cube, restated), top))"
        ),
        new_code_cell(FOOT),
    ],
    "explore": [
        new_markdown_cell(
            "# Usage explorer\nBillable conversations (or another metric) per customer and "
            "agent, for any range. Live in JupyterLab: pick a range, the buckets, the zone and "
            "the metric; click a customer to open its agents, an agent for its own row; "
            "download the table shown. `usage-report page` writes any view as a static page."
        ),
        new_code_cell(
            "# Parameters (literals only; secrets come from the environment)\n"
            'start = ""  # YYYY-MM-DD, with end: a custom range\n'
            'end = ""  # YYYY-MM-DD, included\n'
            "last_days = 0  # instead: the last N days including today\n"
            'granularity = "auto"  # auto (over 31 days months, 8-31 weeks, else days), month, week, day\n'
            'tz = ""  # IANA time zone; empty: the config\'s\n'
            'org = ""  # an organization (or project) id: open its agents (default: the last 30 days)\n'
            'metrics = "conversations"  # comma-separated: conversations, users, depth_avg, handoffs; or all\n'
            'as_of = ""  # YYYY-MM-DD the presets count back from; empty: today ($USAGE_AS_OF pins it)\n'
            'config_path = ""  # a TOML config; empty: $USAGE_CONFIG or the defaults',
            metadata={"tags": ["parameters"]},
        ),
        new_code_cell(
            "from usage_lib import notebook as nb\n\n"
            "views = nb.views(start, end, last_days, granularity, tz, org, metrics)"
        ),
        new_code_cell(
            "# The live explorer, opened on the first view\nnb.explorer(views, as_of, config_path)"
        ),
    ],
}


def strip_timing(path: Path) -> None:
    """Drop per-cell execution timestamps, which only make noisy diffs."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(notebook, path)


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--strip-timing"]:
        for path in sys.argv[2:]:
            strip_timing(Path(path))
    else:  # only the notebooks named (default: all); each loses its outputs until re-executed
        names = sys.argv[1:] or list(NOTEBOOKS)
        unknown = [n for n in names if n not in NOTEBOOKS]
        if unknown:
            sys.exit(f"unknown notebook(s): {', '.join(unknown)} (known: {', '.join(NOTEBOOKS)})")
        for name in names:
            notebook = new_notebook(cells=NOTEBOOKS[name])
            for i, cell in enumerate(notebook.cells):
                cell.id = f"{name}-{i}"  # stable ids: regenerating makes no noisy diffs
            notebook.metadata["kernelspec"] = {
                "name": "usage-lib",
                "display_name": "usage-lib",
                "language": "python",
            }
            notebook.metadata["language_info"] = {"name": "python"}
            nbformat.write(notebook, ROOT / f"{name}.ipynb")
            print("wrote", ROOT / f"{name}.ipynb")
