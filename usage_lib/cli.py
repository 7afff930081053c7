"""`usage-report`, the command line: each command's flags beside its handler, which turns
them into values once and makes one call into the library.

Exit codes: 0 ok, 1 the pack failed (or the database reached a limit of its own: too large,
out of memory, out of time), 2 bad input, 3 database unreachable or refused, 4 the email
was not sent (nothing recorded; the same command retries).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from usage_lib import progress
from usage_lib.errors import ConfigError, DatabaseError, MailError, ReportError, TooBig

if TYPE_CHECKING:  # the commands import what they use, so that --help starts fast
    from usage_lib.core import daystore
    from usage_lib.core.config import Config
    from usage_lib.core.source import Source
    from usage_lib.report.job import Pack
    from usage_lib.report.smtp import Mailing
    from usage_lib.report.store import Sending

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

Flags = Callable[[argparse.ArgumentParser], None]
Handler = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Command:
    help: str
    flags: tuple[Flags, ...]
    handler: Handler


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, *flags: Flags) -> Callable[[Handler], Handler]:
    """Register a handler with its flags (applied in order)."""

    def register(handler: Handler) -> Handler:
        COMMANDS[name] = Command(help, flags, handler)
        return handler

    return register


# -- flags more than one command takes, and what they resolve to --------------------------------


def source_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="PATH",
        help="TOML config (default: $USAGE_CONFIG, else built-in defaults)",
    )
    p.add_argument("--demo", action="store_true", help="use the embedded demo database")


def pack_flags(p: argparse.ArgumentParser) -> None:
    """What `run`, `send` and `statements` share, so that each finds what `run` wrote."""
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


def cache_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="read every day from the database, without the local store of days already read "
        "(see cache)",
    )


def as_of_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--as-of", metavar="YYYY-MM-DD", help="anchor the demo data to this day's last full month"
    )


def view_flags(p: argparse.ArgumentParser) -> None:
    """What `table` and `page` share: the range, its buckets and zone, the metrics."""
    from usage_lib.core.buckets import GRANULARITIES

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


def _config(args: argparse.Namespace) -> Config:
    from usage_lib.core.source import settings

    return settings(args.config, demo=args.demo)


def _source(args: argparse.Namespace, config: Config) -> Source:
    """The configured database, or the demo one: one demo world, whatever month or range a
    command asks for, its history ending with the last full month before --as-of (else
    today), so that every --demo command agrees with the demo pack."""
    from usage_lib.connection import open_source
    from usage_lib.core.periods import last_full_month, parse_date

    anchor = None
    if getattr(args, "as_of", None):
        anchor = last_full_month(parse_date(args.as_of, "as_of"))
    quiet, cache = getattr(args, "quiet", False), not getattr(args, "no_cache", True)
    return open_source(config, args.demo, anchor, quiet=quiet, cache=cache)


def _said_read(cube: object, quiet: bool = False) -> None:
    """What a cube (or the watch) made from the local store read, one line on stderr."""
    read = getattr(cube, "read", None)
    if read is not None and not quiet:
        print(f"Read: {read.describe()}.", file=sys.stderr)


def _out(args: argparse.Namespace) -> Path:
    """The reports folder, absolute, and checked that it is (or can be made) a folder."""
    from usage_lib.paths import reports_dir, writable_folder

    return writable_folder(Path(args.out) if args.out else reports_dir(), "--out")


# -- the commands --------------------------------------------------------------------------------


def table_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scope", choices=("platform", "org", "agent"), default="platform")
    p.add_argument(
        "--org", metavar="ID", help="organization (or project) id, 24 hex, or 'unassigned'"
    )
    p.add_argument("--agent", metavar="ID", help="agent (bot) id (24 hex) or 'unattributed'")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")


@command(
    "table",
    "print a usage table (billable conversations)",
    table_flags,
    view_flags,
    source_flags,
    cache_flag,
)
def table(args: argparse.Namespace) -> int:
    from usage_lib.core.config import parse_id
    from usage_lib.core.cube import UNASSIGNED, UNATTRIBUTED
    from usage_lib.core.metrics import parse_metrics
    from usage_lib.core.periods import resolve_range
    from usage_lib.core.tables import Scope, answer
    from usage_lib.present.formats import table_output

    if args.scope == "org" and not args.org:
        raise ConfigError("--scope org", "needs --org ID")
    if args.scope == "agent" and not args.agent:
        raise ConfigError("--scope agent", "needs --agent ID")
    metrics = parse_metrics(args.metrics)
    org, agent = parse_id(args.org, "org", UNASSIGNED), parse_id(args.agent, "agent", UNATTRIBUTED)
    scope = {
        "platform": Scope("platform"),
        "org": Scope("organization", org),
        "agent": Scope("agent", org, agent),
    }[args.scope]
    config = _config(args)
    rng = resolve_range(
        start=args.start,
        end=args.end,
        last_days=args.last_days,
        as_of=args.as_of,
        timezone=args.tz or config.timezone,
        months=config.months,
    )
    shown = answer(_source(args, config), scope, rng, args.granularity, metrics)
    sys.stdout.write(table_output(shown, args.format))
    if args.format != "json":  # JSON carries it as "read"
        _said_read(shown.cube)
    if shown.empty:
        print("No billable conversations in this range for this selection.", file=sys.stderr)
    return EXIT_OK


def page_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--org",
        metavar="ID",
        help="also show this organization's (or project's) agents (default range: 30 days)",
    )
    p.add_argument(
        "--out",
        metavar="FILE",
        help="the page (default: views/usage-<start>-<end>.html in the reports folder)",
    )
    p.add_argument("--quiet", action="store_true", help="print nothing on success")


@command(
    "page",
    "write any explorer view as one self-contained HTML page (opens offline)",
    view_flags,
    page_flags,
    source_flags,
    cache_flag,
)
def page(args: argparse.Namespace) -> int:
    from usage_lib.core.periods import check_days, parse_date
    from usage_lib.explorer import page
    from usage_lib.explorer.state import page_views, range_of
    from usage_lib.paths import reports_dir, writable_folder

    if args.last_days is not None:  # page_views reads 0 as "not given" (the notebook's way)
        check_days(args.last_days)
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
    default = reports_dir() / "views" / f"usage-{rng.start}-{rng.end}.html"
    out = Path(args.out).expanduser().absolute() if args.out else default
    if out.is_dir():
        raise ConfigError("--out", f"{out} is a folder; give the page's file name")
    writable_folder(out.parent, "--out")
    written, cube = page.write(_source(args, config), views, out, as_of)
    _said_read(cube, args.quiet)
    if not args.quiet:
        print(written)
    return EXIT_OK


def _mailing(args: argparse.Namespace, config: Config) -> Mailing:
    from usage_lib.report.smtp import mailing

    return mailing(config, getattr(args, "to", None) or (), getattr(args, "dry_run", False))


def _make_pack(args: argparse.Namespace, config: Config, month: str, out: Path) -> Pack:
    from usage_lib.paths import report_notebooks
    from usage_lib.report.job import make_pack

    pack = make_pack(
        _source(args, config),
        month,
        out,
        report_notebooks(),
        jobs=config.jobs,
        progress=not args.quiet,
    )
    for warning in pack.warnings:
        print(f"usage-report: {warning}", file=sys.stderr)
    if not args.quiet:
        m = pack.manifest
        print(
            f"Report pack for {m.month}: {m.figures.billable.month:,} billable conversations "
            f"({m.source}).\nOpen {pack.path / 'index.html'}\n"
            f"The month's email, as it will be sent: {pack.eml}"
        )
    return pack


def _sending(done: Sending, recipients: Sequence[str]) -> str:
    """What a sending did, in one line (the pack's, a day's alerts)."""
    r, to = done.record, ", ".join(recipients)
    if done.status == "dry run":
        return f"Dry run: wrote {r['eml']} (to {to}); sent nothing."
    if done.status == "already sent":
        return (
            f"Already sent on {r['sent_at']} to {', '.join(r['recipients'])} "
            f"(Message-ID {r['message_id']}); sent nothing. Use --force to send it again."
        )
    return f'Sent "{r["subject"]}" to {to} (Message-ID {r["message_id"]}).'


def _send(args: argparse.Namespace, pack: Pack, mailing: Mailing) -> int:
    from usage_lib.report.job import send_pack

    done = send_pack(pack, mailing, getattr(args, "force", False), getattr(args, "dry_run", False))
    if done.status != "sent" or not args.quiet:
        print(_sending(done, mailing.recipients))
    return EXIT_OK


def run_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--email",
        action="store_true",
        help="then email it to the config's [email] recipients (once per month; see send)",
    )


@command(
    "run",
    "make the monthly report pack (HTML) in reports/<YYYY-MM>/",
    pack_flags,
    run_flags,
    source_flags,
    cache_flag,
)
def run(args: argparse.Namespace) -> int:
    from usage_lib.core.periods import month_key

    config = _config(args)  # every input is checked before any work is done
    month, out = month_key(args.month), _out(args)
    mailing = _mailing(args, config) if args.email else None
    pack = _make_pack(args, config, month, out)
    return _send(args, pack, mailing) if mailing else EXIT_OK


def send_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--to",
        nargs="+",
        action="extend",
        metavar="ADDR",
        help="recipients (default: the config's [email] to)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="write the .eml into the pack; send nothing"
    )
    p.add_argument(
        "--force", action="store_true", help="send even if this month went to these recipients"
    )


@command(
    "send",
    "email the month's report pack through SMTP (makes the pack if it is missing)",
    pack_flags,
    send_flags,
    source_flags,
)
def send(args: argparse.Namespace) -> int:
    from usage_lib.core.periods import month_key
    from usage_lib.report.job import open_pack
    from usage_lib.report.store import MANIFEST

    config = _config(args)
    month, out = month_key(args.month), _out(args)
    mailing = _mailing(args, config)
    if (out / month / MANIFEST).exists():
        pack = open_pack(out / month)
        for warning in pack.warnings:  # the pack has no PDF: it is sent without one
            print(f"usage-report: {warning}", file=sys.stderr)
        return _send(args, pack, mailing)
    if not args.quiet:
        print(f"No report pack for {month} in {out}: making it first.", file=sys.stderr)
    return _send(args, _make_pack(args, config, month, out), mailing)


def statements_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--org", metavar="ID", help="one organization (default: every customer)")
    p.add_argument(
        "--email",
        action="store_true",
        help="then email each [[customer]] its own statement (once per month and recipient list)",
    )
    p.add_argument("--force", action="store_true", help="with --email: send again")


@command(
    "statements",
    "per-customer statements: the month, its history, and the conversations behind it",
    pack_flags,
    statements_flags,
    source_flags,
    cache_flag,
)
def statements(args: argparse.Namespace) -> int:
    from usage_lib.core.config import parse_id
    from usage_lib.core.periods import month_key
    from usage_lib.report.smtp import mailing
    from usage_lib.report.statements import send_statement, write_statements

    config = _config(args)
    month, out = month_key(args.month), _out(args)
    org = parse_id(args.org, "org")
    if args.email:  # checked before any work is done
        if not config.customers:
            raise ConfigError("customer", "no [[customer]] tables (id, to) in the config")
        mails = {o: mailing(config, to) for o, to in config.customers.items()}
    made = write_statements(_source(args, config), month, out, org)
    if org is not None and not made:
        raise ConfigError("org", f"{org} has no billable conversations in {month}")
    if made:
        _said_read(made[0], args.quiet)
    for s in made:
        if s.pdf_note:
            print(f"usage-report: {s.name}: {s.pdf_note}", file=sys.stderr)
        if not args.quiet:
            print(f"{s.name}: {s.conversations:,} billable conversations, {s.rows:,} rows")
            print(f"  -> {s.folder}")
        if not args.email or s.org_id not in config.customers:
            continue
        try:
            done = send_statement(s, mails[s.org_id], args.force)
        except MailError as exc:
            print(f"usage-report: statement of {s.name} not sent: {exc}", file=sys.stderr)
            return EXIT_MAIL
        if done.status == "already sent" or not args.quiet:
            r = done.record
            print(f"  {done.status} to {', '.join(r['recipients'])} ({r['sent_at']})")
    return EXIT_OK


def alerts_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="today: the days watched are the [alerts] days complete days before it "
        "(default: today in the report's zone)",
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument(
        "--email",
        action="store_true",
        help="send the alerts to [alerts] to (else [email] to) when there is any, once per day",
    )
    p.add_argument("--to", nargs="+", action="extend", metavar="ADDR", help="recipients instead")
    p.add_argument("--force", action="store_true", help="send even if this day's alerts went")
    p.add_argument("--dry-run", action="store_true", help="write the .eml; send nothing")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="where the record of sendings goes, in alerts/<day>/ (default: as for run)",
    )
    p.add_argument("--quiet", action="store_true", help="print nothing when there is no alert")


@command(
    "alerts",
    "the daily watch: tenants and agents gone silent, dropping or spiking, tests surging",
    alerts_flags,
    source_flags,
    cache_flag,
)
def alerts(args: argparse.Namespace) -> int:
    from usage_lib.core.periods import parse_date, today_in
    from usage_lib.present.formats import dumps
    from usage_lib.present.watch import watched_text
    from usage_lib.report.smtp import mailing
    from usage_lib.report.watch import send_alerts, watch

    config = _config(args)
    as_of = parse_date(args.as_of, "as_of") if args.as_of else today_in(config.timezone)
    if args.force and not args.email:
        raise ConfigError("--force", "goes with --email")
    mail = None
    if args.email or args.dry_run:  # checked before any work is done
        out = _out(args)
        mail = mailing(config, args.to or config.watch.to, args.dry_run)
    watched = watch(_source(args, config), as_of)
    found = watched.alerts
    if args.format == "json":
        read = {} if watched.read is None else {"read": watched.read.to_json()}
        sys.stdout.write(dumps(found.to_json() | read))
    elif found.frame.height or not args.quiet:
        _said_read(watched)
        for line in found.lines(config.test_word) or ["No alerts."]:
            print(line)
        print(watched_text(found, config.test_word))
        print(watched.month.sentence())
    if mail is None:
        return EXIT_OK
    done = send_alerts(watched, mail, out, args.force, args.dry_run)
    if done is None:
        if not args.quiet:
            print("No alerts: nothing sent.", file=sys.stderr)
    elif done.status != "sent" or not args.quiet:
        print(_sending(done, mail.recipients), file=sys.stderr)
    return EXIT_OK


def explain_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--month", metavar="YYYY-MM", help="the month (default: the last full one)")
    p.add_argument("--start", metavar="YYYY-MM-DD", help="a range instead of a month")
    p.add_argument("--end", metavar="YYYY-MM-DD")
    p.add_argument("--org", metavar="ID", help="one organization (or project); default: every one")
    p.add_argument("--format", choices=("text", "json"), default="text")


@command(
    "explain",
    "every number step by step: from the conversations started to the billable ones",
    explain_flags,
    source_flags,
)
def explain(args: argparse.Namespace) -> int:
    from usage_lib.core.config import parse_id
    from usage_lib.core.explain import explain
    from usage_lib.core.periods import resolve_range
    from usage_lib.present.formats import dumps

    config = _config(args)
    month = args.month or (None if args.start or args.end else "last")
    rng = resolve_range(
        start=args.start,
        end=args.end,
        month=month,
        timezone=config.timezone,
        months=config.months,
    )
    org = parse_id(args.org, "org")
    found = explain(_source(args, config).db, rng, config, org)
    if org is not None and not found.tenants:
        raise ConfigError("org", f"{org} has no conversations in {rng.describe()}")
    if args.format == "json":
        sys.stdout.write(dumps(found.to_json()))
    else:
        print("\n".join(found.lines()).rstrip())
    return EXIT_OK


def indexes_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--create",
        action="store_true",
        help="build them: the only command that writes to the source database",
    )


@command(
    "indexes",
    "the indexes that serve the pass's $match: are they there? (--create builds them)",
    indexes_flags,
    source_flags,
)
def indexes(args: argparse.Namespace) -> int:
    from usage_lib.core.indexes import advise

    src = _source(args, _config(args))
    advise(src.db, src.config, args.create, lambda line: print(line, flush=True))
    return EXIT_OK


def cache_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action",
        choices=("status", "verify", "clear"),
        help="status: where the store is, its keys, days and size; verify: recount the stored "
        "days from the database and list every day that differs (exit 1 if any; each is "
        "replaced); clear: remove every stored day",
    )
    p.add_argument("--start", metavar="YYYY-MM-DD", help="verify: from this day (default: all)")
    p.add_argument("--end", metavar="YYYY-MM-DD", help="verify: to this day (default: all)")
    as_of_flag(p)


@command(
    "cache",
    "the local store of days already read: status, verify, clear",
    cache_flags,
    source_flags,
)
def cache(args: argparse.Namespace) -> int:
    from usage_lib.core import daystore
    from usage_lib.paths import cache_dir

    root = cache_dir()
    if args.action == "clear":
        print(f"Removed {daystore.clear(root)} key(s) from {root}.")
        return EXIT_OK
    if args.action == "status":
        print("\n".join(_cache_status(root, daystore.status(root))))
        return EXIT_OK
    return _verify(args, root)


def _cache_status(root: Path, keys: Sequence[daystore.KeyStatus]) -> list[str]:
    size = sum(k.size for k in keys)
    lines = [f"Local store: {root} ({len(keys)} key(s), {size / 1e6:.1f} MB)"]
    for k in keys:
        key = k.key
        span = f"{k.first} to {k.last}" if k.first else "no days"
        read = f", last read {k.last_read:%Y-%m-%d %H:%M} UTC" if k.last_read else ""
        lines.append(
            f"- {key.get('data', '?')}, zone {key.get('timezone', '?')}: {k.days} days, {span}{read}"
        )
        lines.append(f"  {k.folder.name} ({k.size / 1e6:.1f} MB)")
    return lines


def _verify(args: argparse.Namespace, root: Path) -> int:
    from usage_lib.core.periods import parse_date
    from usage_lib.core.warm import verify

    config = _config(args)
    start = parse_date(args.start, "start") if args.start else None
    end = parse_date(args.end, "end") if args.end else None
    if start and end and start > end:
        raise ConfigError("--start", f"{start} is after --end {end}")
    source = _source(args, config)
    checked, differs = verify(source.db, root, source.key, config, start, end)
    for d in differs:
        print(f"{d.day}: differs ({d.what}); replaced with what the database holds now")
    print(f"Verified {checked:,} stored day(s) of {source.key}: {len(differs)} differ.")
    return EXIT_FAILED if differs else EXIT_OK


def lab_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--notebooks",
        metavar="DIR",
        help="your working copy of the notebooks, made once and never overwritten "
        "(default: the checkout's notebooks/, or ./usage-notebooks when installed)",
    )
    p.add_argument(
        "jupyter_args",
        nargs=argparse.REMAINDER,
        metavar="-- ARGS",
        help="passed on to `jupyter lab` (for example -- --no-browser --port 8890)",
    )


@command(
    "lab",
    "JupyterLab on the notebooks, with the configured or demo database",
    lab_flags,
    as_of_flag,
    source_flags,
)
def lab(args: argparse.Namespace) -> int:
    from usage_lib import lab

    config = _config(args)
    folder = lab.working_copy(Path(args.notebooks) if args.notebooks else None)
    lab.launch(_source(args, config), folder, args.jupyter_args)
    return EXIT_OK


def demo_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--profile",
        choices=("custom", "tiledesk"),
        default="custom",
        help="the data's shape: this deployment's (custom) or stock Tiledesk's",
    )
    p.add_argument(
        "--tenants",
        type=int,
        default=0,
        metavar="N",
        help="instead, a wide platform: N customers with 2-3 agents each, 40 conversations "
        "each over 13 months (for example 5000)",
    )


@command("demo-db", "run the embedded demo database in the foreground", demo_flags, as_of_flag)
def demo_db(args: argparse.Namespace) -> int:
    import contextlib
    import time
    from dataclasses import replace

    from usage_lib.connection import open_source
    from usage_lib.core.periods import last_full_month, parse_date
    from usage_lib.core.profiles import PROFILES
    from usage_lib.core.source import settings

    if args.tenants and (args.tenants < 10 or args.tenants > 20_000 or args.profile != "custom"):
        raise ConfigError("--tenants", "must be between 10 and 20000, with the custom profile")
    config = replace(settings(demo=True), profile=PROFILES[args.profile])
    anchor = last_full_month(parse_date(args.as_of, "as_of")) if args.as_of else None
    uri = open_source(config, True, anchor, tenants=args.tenants).config.mongodb_uri
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C or SIGTERM: the way to stop it
        print(
            f"Demo database running. Connection string:\n  {uri}\n"
            f"Use it with:  export USAGE_MONGODB_URI='{uri}'\nPress Ctrl-C to stop.",
            flush=True,
        )
        while True:
            time.sleep(3600)
    return EXIT_OK


@command("example-config", "print the commented example config (TOML)")
def example_config(args: argparse.Namespace) -> int:
    from usage_lib.paths import EXAMPLE_CONFIG

    sys.stdout.write(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    return EXIT_OK


# -- the program -------------------------------------------------------------------------------


DESCRIPTION = """\
Billable conversations per customer organization and agent, month by month, read from the
Tiledesk MongoDB named by USAGE_MONGODB_URI (or, when it is not set, from an embedded demo
database): the monthly report pack and its email, tables, customer statements, the daily
watch, and every number explained step by step."""

EPILOG = """\
Start here:
  usage-report run --demo            the monthly report pack, on the demo data
  usage-report table --demo          this platform's last 6 full months
  usage-report explain --demo        how a month's count was reached
  usage-report COMMAND --help        one command's options

Settings: USAGE_MONGODB_URI (the database; a secret, read from the environment only),
USAGE_CONFIG or --config (a TOML file: usage-report example-config prints one).

Exit codes: 0 done; 1 the pack failed, or the database reached a limit of its own (too
large, out of memory, out of time); 2 bad input; 3 the database is unreachable, refused the
connection or is too old; 4 the email was not sent (nothing recorded: run it again)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="usage-report",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, metavar="COMMAND", title="commands"
    )
    for name, cmd in COMMANDS.items():
        p = sub.add_parser(name, help=cmd.help, description=cmd.help[0].upper() + cmd.help[1:])
        for flags in cmd.flags:
            flags(p)
    return parser


def _terminate(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt  # so `finally` and atexit stop the embedded server


def message(exc: ConfigError) -> str:
    """The error in the command line's words: a setting set by a flag is named by its flag."""
    return f"{FLAGS[exc.key]}: {exc.problem}" if exc.key in FLAGS else str(exc)


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    args = build_parser().parse_args(argv)
    progress.enable(not getattr(args, "quiet", False))  # on a terminal only
    try:
        return COMMANDS[args.command].handler(args)
    except ConfigError as exc:
        print(f"usage-report: error: {message(exc)}", file=sys.stderr)
        return EXIT_INPUT
    except ReportError as exc:
        print(f"usage-report: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except MailError as exc:
        print(
            f"usage-report: email not sent: {exc}. The pack is kept; run the same command to retry.",
            file=sys.stderr,
        )
        return EXIT_MAIL
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
