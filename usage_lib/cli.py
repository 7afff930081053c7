"""`usage-report`, the command line.

Exit codes: 0 ok, 1 the pack failed (or the database reached a limit of its own: too large,
out of memory, out of time), 2 bad input, 3 database unreachable or refused, 4 the email was
not sent (nothing recorded; the same command retries).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from .config import Config, ConfigError, check_object_id, check_timezone
from .periods import GRANULARITIES

if TYPE_CHECKING:  # the commands import what they use, so that --help starts fast
    from .cube import Cube
    from .periods import DateRange
    from .report import Pack
    from .smtp import Smtp
    from .source import Source

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_DATABASE, EXIT_MAIL = 0, 1, 2, 3, 4

# The library names settings and values; the command line says which flag set them.
FLAGS = {
    "month": "--month",
    "start": "--start",
    "end": "--end",
    "as_of": "--as-of",
    "last_days": "--last-days",
    "timezone": "--tz",
    "granularity": "--granularity",
    "org": "--org",
    "agent": "--agent",
    "to": "--to",
    "metrics": "--metrics",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="PATH",
        help="TOML config (default: $USAGE_CONFIG, else built-in defaults)",
    )
    p.add_argument("--demo", action="store_true", help="use the embedded demo database")


def _pack_options(p: argparse.ArgumentParser) -> None:
    """What `run` and `send` share, so that `send` finds the pack `run` wrote."""
    p.add_argument(
        "--month", default="last", metavar="YYYY-MM", help="report month (default: last full month)"
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="where packs go (default: $USAGE_REPORTS_DIR, else reports/ of the checkout, "
        "else ./reports)",
    )
    p.add_argument("--quiet", action="store_true", help="print nothing on success")


def _as_of_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--as-of", metavar="YYYY-MM-DD", help="anchor the demo data to this day's last full month"
    )


def _view_options(p: argparse.ArgumentParser) -> None:
    """What `table` and `page` share: the range, its buckets and zone, the metrics."""
    p.add_argument("--start", metavar="YYYY-MM-DD")
    p.add_argument("--end", metavar="YYYY-MM-DD")
    p.add_argument("--last-days", type=int, metavar="N", help="the last N days including today")
    p.add_argument("--as-of", metavar="YYYY-MM-DD", help="the day the default range is relative to")
    p.add_argument("--granularity", choices=GRANULARITIES, default="auto")
    p.add_argument("--tz", metavar="ZONE", help="IANA time zone (default: the config's, else UTC)")
    p.add_argument(
        "--metrics",
        default="conversations",
        metavar="LIST",
        help="comma-separated: conversations, users, depth_avg, handoffs; or all "
        "(default: conversations)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="usage-report", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("table", help="print a usage table (billable conversations)")
    t.add_argument("--scope", choices=("platform", "org", "agent"), default="platform")
    t.add_argument(
        "--org", metavar="ID", help="organization (or project) id, 24 hex, or 'unassigned'"
    )
    t.add_argument("--agent", metavar="ID", help="agent (bot) id (24 hex) or 'unattributed'")
    _view_options(t)
    t.add_argument("--format", choices=("table", "csv", "json"), default="table")
    _common(t)

    pg = sub.add_parser(
        "page", help="write any explorer view as one self-contained HTML page (opens offline)"
    )
    _view_options(pg)
    pg.add_argument(
        "--org",
        metavar="ID",
        help="also show this organization's (or project's) agents (default range: 30 days)",
    )
    pg.add_argument(
        "--out",
        metavar="FILE",
        help="the page (default: views/usage-<start>-<end>.html in the reports folder)",
    )
    pg.add_argument("--quiet", action="store_true", help="print nothing on success")
    _common(pg)

    r = sub.add_parser("run", help="make the monthly report pack (HTML) in reports/<YYYY-MM>/")
    _pack_options(r)
    r.add_argument(
        "--email",
        action="store_true",
        help="then email it to the config's [email] recipients (once per month; see send)",
    )
    _common(r)

    s = sub.add_parser(
        "send", help="email the month's report pack through SMTP (makes the pack if it is missing)"
    )
    _pack_options(s)
    s.add_argument(
        "--to",
        nargs="+",
        action="extend",
        metavar="ADDR",
        help="recipients (default: the config's [email] to)",
    )
    s.add_argument(
        "--dry-run", action="store_true", help="write the .eml into the pack; send nothing"
    )
    s.add_argument(
        "--force", action="store_true", help="send even if this month went to these recipients"
    )
    _common(s)

    st = sub.add_parser(
        "statements",
        help="per-customer statements: the month, its history, and the conversations behind it",
    )
    _pack_options(st)
    st.add_argument("--org", metavar="ID", help="one organization (default: every customer)")
    st.add_argument(
        "--email",
        action="store_true",
        help="then email each [[customer]] its own statement (once per month and recipient list)",
    )
    st.add_argument("--force", action="store_true", help="with --email: send again")
    _common(st)

    b = sub.add_parser(
        "bench", help="benchmark the one-pass design against the other ways (prints figures)"
    )
    b.add_argument(
        "--sizes",
        default="50000,150000,500000",
        metavar="N,N,...",
        help="demo dataset sizes, conversations in the collection (default: 50000,150000,500000)",
    )
    b.add_argument(
        "--wide",
        default="2000,4000",
        metavar="N,N,...",
        help="tenants of the wide shape (2-3 agents, 40 conversations each over 13 months); "
        "'' for none (default: 2000,4000)",
    )
    b.add_argument("--repeat", type=int, default=3, metavar="N", help="runs per case (median)")
    b.add_argument(
        "--per-table-up-to",
        type=int,
        default=50_000,
        metavar="N",
        help="measure one-query-per-table in full up to this size; estimate it above (default 50000)",
    )
    b.add_argument("--out", metavar="FILE", help="also write the figures as JSON")

    ix = sub.add_parser(
        "indexes",
        help="the index that serves the report's $match: is it there? (--create builds it)",
    )
    ix.add_argument(
        "--create",
        action="store_true",
        help="build it: the only command that writes to the source database",
    )
    _common(ix)

    lab = sub.add_parser(
        "lab", help="JupyterLab on the notebooks, with the configured or demo database"
    )
    lab.add_argument(
        "--notebooks",
        metavar="DIR",
        help="your working copy of the notebooks, made once and never overwritten "
        "(default: the checkout's notebooks/, or ./usage-notebooks when installed)",
    )
    lab.add_argument(
        "jupyter_args",
        nargs=argparse.REMAINDER,
        metavar="-- ARGS",
        help="passed on to `jupyter lab` (for example -- --no-browser --port 8890)",
    )
    _as_of_option(lab)
    _common(lab)

    d = sub.add_parser("demo-db", help="run the embedded demo database in the foreground")
    d.add_argument(
        "--profile",
        choices=("custom", "tiledesk"),
        default="custom",
        help="the data's shape: this deployment's (custom) or stock Tiledesk's",
    )
    d.add_argument(
        "--tenants",
        type=int,
        default=0,
        metavar="N",
        help="instead, a wide platform: N customers with 2-3 agents each, 40 conversations "
        "each over 13 months (for example 5000)",
    )
    _as_of_option(d)

    sub.add_parser("example-config", help="print the commented example config (TOML)")
    return parser


# -- resolved once, at the top -------------------------------------------------------------------


def _config(args: argparse.Namespace) -> Config:
    from .source import settings

    return settings(args.config, demo=args.demo)


def _open(
    args: argparse.Namespace, config: Config, anchor: tuple[int, int] | None = None
) -> Source:
    from .source import open_source

    return open_source(config, args.demo, anchor, quiet=getattr(args, "quiet", False))


def _as_of_anchor(args: argparse.Namespace) -> tuple[int, int] | None:
    from .periods import last_full_month, parse_date

    return last_full_month(parse_date(args.as_of, "as_of")) if args.as_of else None


def _out(args: argparse.Namespace) -> Path:
    """The reports folder, absolute, and checked that it is (or can be made) a folder."""
    from .paths import reports_dir, writable_folder

    return writable_folder(Path(args.out) if args.out else reports_dir(), "--out")


def _range(args: argparse.Namespace, timezone: str, months: int) -> DateRange:
    from .periods import DateRange, default_range, last_n_days, parse_date, today_in

    if args.last_days is not None and (args.start or args.end):
        raise ConfigError("--last-days", "give either --last-days or --start/--end, not both")
    if bool(args.start) != bool(args.end):
        raise ConfigError("--start/--end", "give both, or neither for the default range")
    as_of = parse_date(args.as_of, "as_of") if args.as_of else today_in(timezone)
    if args.start:
        return DateRange(parse_date(args.start, "start"), parse_date(args.end, "end"), timezone)
    if args.last_days is not None:
        return last_n_days(args.last_days, as_of, timezone)
    return default_range(as_of, months=months, timezone=timezone)


# -- the commands --------------------------------------------------------------------------------


def cmd_table(args: argparse.Namespace) -> int:
    from .cube import UNASSIGNED, UNATTRIBUTED, query_cube
    from .formats import dumps, table_csv, table_json, table_text
    from .metrics import LEVELS, TITLES, Reading, Users, parse_metrics
    from .periods import buckets, choose_granularity
    from .render import counted_text
    from .tables import Scope, usage_table, usage_totals

    if args.scope == "org" and not args.org:
        raise ConfigError("--scope org", "needs --org ID")
    if args.scope == "agent" and not args.agent:
        raise ConfigError("--scope agent", "needs --agent ID")
    metrics = parse_metrics(args.metrics)
    org = None if not args.org else args.org.lower()
    if org not in (None, UNASSIGNED):
        org = check_object_id(org, "org")
    agent = None if not args.agent else args.agent.lower()
    if agent not in (None, UNATTRIBUTED):
        agent = check_object_id(agent, "agent")
    scope = {
        "platform": Scope("platform"),
        "org": Scope("organization", org),
        "agent": Scope("agent", org, agent),
    }[args.scope]
    config = _config(args)
    zone = check_timezone(args.tz, "timezone") if args.tz else config.timezone
    rng = _range(args, zone, config.months)
    grain = choose_granularity(rng, args.granularity)
    src = _open(args, config, _as_of_anchor(args))
    reading = Reading.of(metrics, Users(grain, LEVELS[scope.users_level]))
    # an organization's (or agent's) table reads that organization (agent) only
    cube = query_cube(
        src.db, rng, src.config, org=scope.org_id, reading=reading, agent=scope.agent_id
    )
    tables = {m: usage_table(cube, scope, grain, m) for m in metrics}
    sums = {m: usage_totals(cube, scope, grain, m) for m in metrics}
    what = {
        "platform": f"by {cube.tenant}",
        "organization": f"by agent of {cube.tenant} {_org_name(cube, org or '')}",
        "agent": f"of agent {agent}",
    }[scope.level]
    bks = buckets(rng, grain)
    if args.format == "json":
        sys.stdout.write(dumps(table_json(tables, sums, bks, cube, grain)))
    elif args.format == "csv":
        sys.stdout.write(table_csv(tables))
    else:
        for i, m in enumerate(metrics):
            title = f"{TITLES[m]} {what}, {rng.describe()}"
            footer = counted_text(cube, metrics) if i == len(metrics) - 1 else ""
            sys.stdout.write(table_text(tables[m], bks, title, footer, sums[m]))
    if tables[metrics[0]].height == 0:
        print("No billable conversations in this range for this selection.", file=sys.stderr)
    return EXIT_OK


def cmd_page(args: argparse.Namespace) -> int:
    """The explorer notebook run headless for one view: the same pass as `table`, then the
    page, written whole or not at all."""
    import tempfile

    from .explorer import page_cube, page_views, range_of
    from .pack import write_file
    from .paths import notebook_dir, reports_dir, writable_folder
    from .periods import parse_date
    from .runner import NotebookFailed, run_notebooks

    if args.last_days is not None and args.last_days < 1:
        raise ConfigError("last_days", f"must be 1 or more, got {args.last_days}")
    views = page_views(
        args.start or "",
        args.end or "",
        args.last_days or 0,
        args.granularity,
        args.tz or "",
        args.org or "",
        args.metrics,
    )
    config = _config(args)
    as_of = parse_date(args.as_of, "as_of") if args.as_of else None
    rng = range_of(views[0], config, as_of)
    out = (
        Path(args.out).expanduser().absolute()
        if args.out
        else reports_dir() / "views" / f"usage-{rng.start}-{rng.end}.html"
    )
    if out.is_dir():
        raise ConfigError("--out", f"{out} is a folder; give the page's file name")
    writable_folder(out.parent, "--out")
    src = _open(args, config, _as_of_anchor(args))
    cube = page_cube(src, views, as_of)
    notebook = notebook_dir() / "explore.ipynb"
    with tempfile.TemporaryDirectory(prefix="usage-page-") as tmp:
        cube.save(Path(tmp) / "cube.parquet")
        parameters = {
            "start": args.start or "",
            "end": args.end or "",
            "last_days": args.last_days or 0,
            "granularity": args.granularity,
            "tz": args.tz or "",
            "org": args.org or "",
            "metrics": args.metrics,
            "as_of": args.as_of or "",
            "interactive": False,
            "cube_path": str(Path(tmp) / "cube.parquet"),
            "config_path": str(config.source or ""),
        }
        try:
            run_notebooks([notebook], Path(tmp), parameters, 1, lambda _: None)
        except NotebookFailed as exc:
            print(f"usage-report: the page failed: {exc}", file=sys.stderr)
            return EXIT_FAILED
        out.parent.mkdir(parents=True, exist_ok=True)
        write_file(out, (Path(tmp) / "explore.html").read_bytes())
    if not args.quiet:
        print(out)
    return EXIT_OK


def _org_name(cube: Cube, org: str) -> str:
    frame = cube.frame
    names = frame.filter(frame["org_id"] == org)["org_name"].head(1).to_list()
    return f"{names[0]} ({org})" if names and names[0] != org else org


def _mailing(args: argparse.Namespace, config: Config) -> tuple[str, list[str], Smtp | None]:
    """Sender, recipients and SMTP settings, checked before any work is done."""
    from .smtp import Smtp, check_address

    recipients = [check_address(a, "to") for a in (getattr(args, "to", None) or config.email_to)]
    if not recipients:
        raise ConfigError(
            "email.to", "no recipients; list them under [email] in the config or pass --to"
        )
    if not config.email_from:
        raise ConfigError("email.from", "no sender; set it under [email] in the config")
    smtp = Smtp.from_env()
    if smtp is None and not getattr(args, "dry_run", False):
        raise ConfigError(
            "USAGE_SMTP_HOST",
            "not set: configure SMTP in the environment (see the README), "
            "or use send --dry-run to write the .eml",
        )
    return config.email_from, recipients, smtp


def _make_pack(args: argparse.Namespace, config: Config, month: str, out: Path) -> Pack | None:
    from .mail import PREVIEW_FROM, PREVIEW_TO
    from .paths import report_notebooks
    from .periods import report_month
    from .report import ReportError, make_pack

    src = _open(args, config, anchor=report_month(month))
    try:
        pack = make_pack(
            src,
            month,
            out,
            report_notebooks(),
            sender=config.email_from or PREVIEW_FROM,
            recipients=config.email_to or [PREVIEW_TO],
            jobs=config.jobs,
            progress=not args.quiet,
        )
    except ReportError as exc:
        print(f"usage-report: error: {exc}", file=sys.stderr)
        return None
    for warning in pack.warnings:
        print(f"usage-report: {warning}", file=sys.stderr)
    if not args.quiet:
        m = pack.manifest
        print(
            f"Report pack for {m['month']}: {m['billable']['month']:,} billable conversations "
            f"({m['source']}).\nOpen {pack.path / 'index.html'}\n"
            f"The month's email, as it will be sent: {pack.eml}"
        )
    return pack


def _send(
    args: argparse.Namespace, folder: Path, mailing: tuple[str, list[str], Smtp | None]
) -> int:
    from .report import ReportError, send_pack
    from .smtp import MailError

    sender, recipients, smtp = mailing
    dry_run = getattr(args, "dry_run", False)
    try:
        done = send_pack(folder, sender, recipients, smtp, getattr(args, "force", False), dry_run)
    except ReportError as exc:
        print(f"usage-report: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except MailError as exc:
        print(
            f"usage-report: email not sent: {exc}. The pack is kept; run the same command to retry.",
            file=sys.stderr,
        )
        return EXIT_MAIL
    r = done.record
    if done.status == "dry run":
        print(f"Dry run: wrote {r['eml']} (to {', '.join(recipients)}); sent nothing.")
    elif done.status == "already sent":
        print(
            f"Already sent on {r['sent_at']} to {', '.join(r['recipients'])} "
            f"(Message-ID {r['message_id']}); sent nothing. Use --force to send it again."
        )
    elif not args.quiet:
        print(
            f'Sent "{r["subject"]}" to {", ".join(r["recipients"])} (Message-ID {r["message_id"]}).'
        )
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from .periods import month_key

    config = _config(args)  # every input is checked before any work is done
    month = month_key(args.month)
    out = _out(args)
    mailing = _mailing(args, config) if args.email else None
    pack = _make_pack(args, config, month, out)
    if pack is None:
        return EXIT_FAILED
    return _send(args, pack.path, mailing) if mailing else EXIT_OK


def cmd_send(args: argparse.Namespace) -> int:
    from .pack import MANIFEST
    from .periods import month_key

    config = _config(args)
    month = month_key(args.month)
    out = _out(args)
    mailing = _mailing(args, config)
    if (out / month / MANIFEST).exists():
        return _send(args, out / month, mailing)
    if not args.quiet:
        print(f"No report pack for {month} in {out}: making it first.", file=sys.stderr)
    pack = _make_pack(args, config, month, out)
    return EXIT_FAILED if pack is None else _send(args, pack.path, mailing)


def cmd_statements(args: argparse.Namespace) -> int:
    from .periods import month_key, report_month
    from .smtp import MailError, Smtp
    from .statements import send_statement, write_statements

    config = _config(args)
    month = month_key(args.month)
    org = check_object_id(args.org, "org") if args.org else None
    out = _out(args)
    smtp = None
    if args.email:  # checked before any work is done
        if not config.customers:
            raise ConfigError("customer", "no [[customer]] tables (id, to) in the config")
        if not config.email_from:
            raise ConfigError("email.from", "no sender; set it under [email] in the config")
        smtp = Smtp.from_env()
        if smtp is None:
            raise ConfigError("USAGE_SMTP_HOST", "not set: configure SMTP in the environment")
    made = write_statements(_open(args, config, anchor=report_month(month)), month, out, org)
    if org is not None and not made:
        raise ConfigError("org", f"{org} has no billable conversations in {month}")
    for s in made:
        if not args.quiet:
            print(f"{s.name}: {s.conversations:,} billable conversations, {s.rows:,} rows")
            print(f"  -> {s.folder}")
        if smtp is None or config.email_from is None or s.org_id not in config.customers:
            continue
        try:
            status, record = send_statement(
                s, config.email_from, config.customers[s.org_id], smtp, args.force
            )
        except MailError as exc:
            print(f"usage-report: statement of {s.name} not sent: {exc}", file=sys.stderr)
            return EXIT_MAIL
        if status == "already sent" or not args.quiet:
            print(f"  {status} to {', '.join(record['recipients'])} ({record['sent_at']})")
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import explore_table, run_bench, table
    from .formats import dumps
    from .pack import write_file

    try:
        sizes = tuple(int(x.replace("_", "")) for x in args.sizes.split(",") if x.strip())
    except ValueError:
        raise ConfigError(
            "--sizes", f"{args.sizes!r} is not a comma-separated list of whole numbers"
        ) from None
    if not sizes or any(n < 1_000 or n > 5_000_000 for n in sizes):
        raise ConfigError("--sizes", "each size must be between 1000 and 5000000")
    try:
        wide = tuple(int(x.replace("_", "")) for x in args.wide.split(",") if x.strip())
    except ValueError:
        raise ConfigError("--wide", f"{args.wide!r} is not a list of whole numbers") from None
    if any(n < 10 or n > 50_000 for n in wide):
        raise ConfigError("--wide", "each number of tenants must be between 10 and 50000")
    if args.repeat < 1:
        raise ConfigError("--repeat", "must be 1 or more")
    out = Path(args.out) if args.out else None
    if out is not None and not out.parent.is_dir():
        raise ConfigError("--out", f"folder {out.parent} does not exist")
    started = time.perf_counter()
    records = run_bench(
        sizes, args.repeat, args.per_table_up_to, log=lambda s: print(s, flush=True), wide=wide
    )
    print(
        f"\n{table(records)}\n{explore_table(records)}\nTotal {time.perf_counter() - started:.0f} s."
    )
    if out is not None:
        write_file(out, dumps(records).encode())
        print(f"Wrote {out}")
    return EXIT_OK


def cmd_indexes(args: argparse.Namespace) -> int:
    from .indexes import (
        INDEX_NAME,
        TENANT_INDEX_NAME,
        create,
        describe,
        describe_tenant,
        find_equivalent,
        recommended,
        spec,
        tenant_keys,
    )

    src = _open(args, _config(args))
    wanted = [
        (INDEX_NAME, recommended(src.config), describe(recommended(src.config))),
        (TENANT_INDEX_NAME, tenant_keys(src.config), describe_tenant(tenant_keys(src.config))),
    ]
    missing = []
    for name, keys, words in wanted:
        print(words)
        existing = find_equivalent(src.db, keys)
        if existing:
            print(f"Already there: index {existing!r} on {src.db.name}.requests serves it.")
        else:
            print(f"Not there: {src.db.name}.requests has no index that starts with these keys.")
            missing.append((name, keys))
    if not missing:
        print("Nothing to do.")
        return EXIT_OK
    if not args.create:
        print("Run `usage-report indexes --create` to build them (it writes to the database).")
        return EXIT_OK
    for name, keys in missing:
        print(
            f"Writing to the source database: creating index {spec(keys)} on "
            f"{src.db.name}.requests (the only write usage-report ever makes) ...",
            flush=True,
        )
        print(f"Created index {create(src.db, keys, name)!r}.")
    return EXIT_OK


def cmd_lab(args: argparse.Namespace) -> int:
    """JupyterLab on the notebooks, with one shared database for every kernel (two demo
    servers cannot share a folder)."""
    import subprocess

    from .paths import EXAMPLE_CONFIG, TEMPLATES, checkout, notebook_dir
    from .runner import ensure_kernel

    config = _config(args)
    folder = _working_copy(Path(args.notebooks).absolute() if args.notebooks else None)
    src = _open(args, config, _as_of_anchor(args))
    ensure_kernel()
    env = dict(os.environ)
    if src.demo:
        env.update(
            USAGE_MONGODB_URI=src.config.mongodb_uri or "",
            USAGE_MONGODB_DB="tiledesk",
            USAGE_CONFIG=str(config.source or EXAMPLE_CONFIG),
        )
    # Opens on the explorer; no news-feed question (the announcements plugin is disabled by a
    # page_config.json on the config path, beside the analyst's own settings).
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        [str(TEMPLATES / "jupyter"), *filter(None, [env.get("JUPYTER_CONFIG_PATH")])]
    )
    lab = Path(sys.executable).with_name("jupyter")
    command = [str(lab), "lab", "--notebook-dir", str(folder)]
    command += ["--allow-root"] if os.geteuid() == 0 else []  # containers and CI machines
    if (folder / "explore.ipynb").exists():
        command += ["--LabApp.default_url=/lab/tree/explore.ipynb"]
    command += [arg for arg in args.jupyter_args if arg != "--"]
    if checkout() is None or folder != notebook_dir():
        print(f"JupyterLab on {folder}", file=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        subprocess.run(command, env=env, check=False)
    return EXIT_OK


def _working_copy(folder: Path | None) -> Path:
    """The notebooks analysts open: the checkout's own, or a copy in `folder` (default
    ./usage-notebooks when installed) made once: files already there are never overwritten."""
    import shutil

    from .paths import checkout, notebook_dir

    source = notebook_dir()
    if folder is None:
        if checkout() is not None:
            return source
        folder = Path.cwd() / "usage-notebooks"
    if folder.resolve() == source.resolve():
        return source
    if folder.exists() and not folder.is_dir():
        raise ConfigError("--notebooks", f"{folder} is a file, not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    for notebook in sorted(source.glob("*.ipynb")):
        if not (folder / notebook.name).exists():
            shutil.copyfile(notebook, folder / notebook.name)
    return folder


def cmd_demo_db(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .profiles import PROFILES
    from .source import open_source, settings

    if args.tenants and (args.tenants < 10 or args.tenants > 20_000 or args.profile != "custom"):
        raise ConfigError("--tenants", "must be between 10 and 20000, with the custom profile")
    config = replace(settings(demo=True), profile=PROFILES[args.profile])
    src = open_source(config, demo=True, anchor=_as_of_anchor(args), tenants=args.tenants)
    uri = src.config.mongodb_uri
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C or SIGTERM: the way to stop it
        print(
            f"Demo database running. Connection string:\n  {uri}\n"
            f"Use it with:  export USAGE_MONGODB_URI='{uri}'\nPress Ctrl-C to stop.",
            flush=True,
        )
        while True:
            time.sleep(3600)
    return EXIT_OK


def cmd_example_config(args: argparse.Namespace) -> int:
    from .paths import EXAMPLE_CONFIG

    sys.stdout.write(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    return EXIT_OK


COMMANDS = {
    "table": cmd_table,
    "page": cmd_page,
    "run": cmd_run,
    "send": cmd_send,
    "statements": cmd_statements,
    "bench": cmd_bench,
    "indexes": cmd_indexes,
    "lab": cmd_lab,
    "demo-db": cmd_demo_db,
    "example-config": cmd_example_config,
}


def _terminate(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt  # so `finally` and atexit stop the embedded server


def message(exc: ConfigError) -> str:
    """The error in the command line's words: a setting set by a flag is named by its flag."""
    return f"{FLAGS[exc.key]}: {exc.problem}" if exc.key in FLAGS else str(exc)


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    args = build_parser().parse_args(argv)
    from .db import DatabaseError, TooBig

    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        print(f"usage-report: error: {message(exc)}", file=sys.stderr)
        return EXIT_INPUT
    except TooBig as exc:  # the database works; this request reached one of its limits
        print(f"usage-report: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except DatabaseError as exc:
        print(f"usage-report: {exc}", file=sys.stderr)
        return EXIT_DATABASE
    except KeyboardInterrupt:
        print("usage-report: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
