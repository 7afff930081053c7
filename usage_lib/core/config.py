"""One validated settings object: a TOML file plus the environment.

Secrets (the MongoDB connection string, the SMTP password) come from the
environment only; the TOML file refuses them so that nobody commits one.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from usage_lib.core.profiles import RULE_DEFAULTS, Profile, parse_profile
from usage_lib.errors import ConfigError

HEX24 = re.compile(r"\A[0-9a-fA-F]{24}\Z")  # \Z: no newline after the 24 digits
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class Exclusion:
    id: str
    name: str
    reason: str


@dataclass(frozen=True)
class BillingRule:
    statuses: tuple[int, ...] | None = (1000,)  # None: every status
    exclude_test_mode: bool = True
    min_depth: int = 3  # 0: no depth condition
    exclude_preflight: bool = False  # leave out `preflight: true`
    exclude_channels: tuple[str, ...] = ()  # `channel.name` values to leave out

    def describe(self, test_word: str = "test mode") -> str:
        if self.statuses is None:
            parts = ["any status"]
        else:
            statuses = ", ".join(str(s) for s in self.statuses)
            parts = [f"status in ({statuses})" if len(self.statuses) > 1 else f"status {statuses}"]
        if self.exclude_test_mode:
            parts.append(f"not {test_word}")
        if self.min_depth > 0:
            parts.append(f"at least {self.min_depth} message turns (depth > {self.min_depth - 1})")
        if self.exclude_preflight:
            parts.append("not preflight")
        if self.exclude_channels:
            parts.append(f"channel not {', '.join(self.exclude_channels)}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Reconcile:
    """Where the billed quantities come from: a CSV file (organization_id,month,billed) or a
    collection of the same database with named fields (for example stripe_meters)."""

    csv: Path | None = None
    collection: str | None = None
    organization_field: str = "id_organization"
    period_field: str = "period"  # a date (its UTC month) or a "YYYY-MM..." string
    value_field: str = "chat_conv_count"
    tolerance: float = 0.02


@dataclass(frozen=True)
class WatchSettings:
    """[alerts]: the daily watch (`usage-report alerts`)."""

    days: int = 3  # the complete days watched, before the as-of day
    weeks: int = 8  # the baseline: the same weekdays of this many weeks before
    min_daily: int = 5  # a series is judged when it usually has at least this many a day
    to: tuple[str, ...] = ()  # recipients; empty: [email] to


@dataclass(frozen=True)
class Config:
    rule: BillingRule = BillingRule()
    exclusions: tuple[Exclusion, ...] = ()
    timezone: str = "UTC"
    months: int = 6
    jobs: int = 0  # notebooks of a pack run at once; 0: one per core
    explore_months: int = 13  # full months the explorer loads (with the current month) in one pass
    top: int = 50  # tenants a page lists by name; the rest are one "all others" row
    email_from: str | None = None
    email_to: tuple[str, ...] = ()
    paper: str = "A4"  # [report] paper: the PDF's page size, "A4" or "Letter"
    attach: tuple[str, ...] = ("pdf", "zip")  # [email] attach: what the month's email carries
    mongodb_db: str = "tiledesk"
    mongodb_uri: str | None = field(default=None, repr=False)
    source: Path | None = None
    reconcile: Reconcile | None = None
    customers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # org id -> recipients
    profile: Profile = Profile()  # how the deployment stores conversations ([source])
    query_timeout_s: int = 300  # [source] query_timeout_s: maxTimeMS of the pass
    watch: WatchSettings = WatchSettings()

    @property
    def query_timeout_ms(self) -> int:
        return self.query_timeout_s * 1000

    @property
    def test_word(self) -> str:
        """What the profile's test flag marks: test mode, a draft, or `<field> true`."""
        words = {"isTestMode": "test mode", "draft": "draft"}
        return words.get(self.profile.test_field, f"{self.profile.test_field} true")

    def describe_rule(self) -> str:
        """The billing rule in words, with this profile's test flag."""
        word = self.test_word
        return self.rule.describe("a draft" if word == "draft" else word)

    @property
    def excluded_ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.exclusions)


PAPERS = ("A4", "Letter")  # [report] paper
ATTACHMENTS = ("pdf", "zip")  # [email] attach: the pack as one PDF, its HTML pages as a zip

_ALLOWED: dict[str, set[str]] = {
    "source": set(),  # checked by profiles.parse_profile
    "billing": {
        "statuses",
        "exclude_test_mode",
        "min_depth",
        "exclude_preflight",
        "exclude_channels",
    },
    "report": {"timezone", "months", "jobs", "explore_months", "top", "paper"},
    "email": {"from", "to", "attach"},
    "alerts": {"days", "weeks", "min_daily", "to"},
    "exclude": {"id", "name", "reason"},
    "customer": {"id", "to"},
    "reconcile": {
        "csv",
        "collection",
        "organization_field",
        "period_field",
        "value_field",
        "tolerance",
    },
}
_SECRET_KEYS = {"uri", "mongodb_uri", "url", "password", "connection_string"}


def check_timezone(name: str, key: str = "timezone") -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            key, f"unknown time zone {name!r} (use an IANA name such as UTC or Europe/Rome)"
        ) from None
    return name


def check_object_id(value: Any, key: str) -> str:
    """An ObjectId's hex, either case, as the lower-case hex every table keys it by."""
    if not isinstance(value, str) or not HEX24.match(value):
        raise ConfigError(key, f"{value!r} is not an organization or agent id (24 hex digits)")
    return value.translate(_ASCII_LOWER)


def parse_id(value: Any, key: str, special: str | None = None) -> str | None:
    """What a user typed for an organization or agent (`key`, the setting): None or "" for
    none, the id in either case, or the row `special` names ("unassigned", "unattributed"),
    as the tables key them. ASCII letters only are lower-cased (`rule.lower`, `$toLower`)."""
    if value is None or value == "":
        return None
    if special is not None and isinstance(value, str) and value.translate(_ASCII_LOWER) == special:
        return special
    try:
        return check_object_id(value, key)
    except ConfigError as exc:
        if special is None:
            raise
        raise ConfigError(key, f"{exc.problem} or {special!r}") from None


def _check_keys(table: dict[str, Any], section: str) -> None:
    for key in table:
        if key in _SECRET_KEYS:
            raise ConfigError(
                f"{section}.{key}",
                "secrets do not belong in the config file; "
                "set USAGE_MONGODB_URI / USAGE_SMTP_PASSWORD in the environment",
            )
        if key not in _ALLOWED[section]:
            allowed = ", ".join(sorted(_ALLOWED[section]))
            raise ConfigError(f"{section}.{key}", f"unknown key (allowed: {allowed})")


def _typed(table: dict[str, Any], key: str, kind: type, section: str, default: Any) -> Any:
    if key not in table:
        return default
    value = table[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{section}.{key}", f"expected a whole number, got {value!r}")
    if not isinstance(value, kind):
        raise ConfigError(f"{section}.{key}", f"expected {kind.__name__}, got {value!r}")
    return value


def _between(
    table: dict[str, Any], key: str, section: str, default: int, low: int, high: int
) -> int:
    value: int = _typed(table, key, int, section, default)
    if not low <= value <= high:
        raise ConfigError(f"{section}.{key}", f"must be between {low} and {high}, got {value}")
    return value


def parse_config(data: dict[str, Any], source: Path | None = None) -> Config:
    """Validate the parsed TOML; every error names the offending key."""
    for key in data:
        if key in _SECRET_KEYS:
            _check_keys({key: None}, "config")
        if key not in _ALLOWED:
            raise ConfigError(
                key,
                "unknown section (allowed: source, billing, exclude, report, email, alerts, "
                "reconcile, customer)",
            )
    billing = data.get("billing", {})
    report = data.get("report", {})
    email = data.get("email", {})
    for name, table in (("billing", billing), ("report", report), ("email", email)):
        if not isinstance(table, dict):
            raise ConfigError(name, f"expected a table [{name}]")
        _check_keys(table, name)

    source_table = data.get("source", {})
    if not isinstance(source_table, dict):
        raise ConfigError("source", "expected a table [source]")
    source_table = dict(source_table)
    timeout = _typed(source_table, "query_timeout_s", int, "source", 300)
    if not 1 <= timeout <= 86_400:
        raise ConfigError(
            "source.query_timeout_s", f"must be between 1 and 86400 seconds, got {timeout}"
        )
    source_table.pop("query_timeout_s", None)
    profile = parse_profile(source_table)
    rule = _rule(billing, profile)

    raw_exclusions = data.get("exclude", [])
    if not isinstance(raw_exclusions, list):
        raise ConfigError("exclude", "expected [[exclude]] tables")
    exclusions = []
    for i, item in enumerate(raw_exclusions):
        key = f"exclude[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(key, "expected a table with id, name, reason")
        _check_keys(item, "exclude")
        for part in ("id", "name", "reason"):
            if not isinstance(item.get(part), str) or not item[part].strip():
                raise ConfigError(f"{key}.{part}", "required, a non-empty string")
        exclusions.append(
            Exclusion(check_object_id(item["id"], f"{key}.id"), item["name"], item["reason"])
        )
    ids = [e.id for e in exclusions]
    if len(set(ids)) != len(ids):
        raise ConfigError("exclude", "the same organization id is listed twice")

    timezone = check_timezone(_typed(report, "timezone", str, "report", "UTC"), "report.timezone")
    months = _between(report, "months", "report", 6, 1, 36)
    jobs = _typed(report, "jobs", int, "report", 0)
    if jobs < 0:
        raise ConfigError("report.jobs", f"must be 0 (one per core) or more, got {jobs}")
    explore_months = _between(report, "explore_months", "report", 13, 1, 35)
    top = _typed(report, "top", int, "report", 50)
    if not 5 <= top <= 5_000:
        raise ConfigError("report.top", f"must be between 5 and 5000, got {top}")
    paper = _typed(report, "paper", str, "report", "A4")
    if paper not in PAPERS:
        raise ConfigError("report.paper", f'must be "A4" or "Letter", got {paper!r}')

    email_from = _typed(email, "from", str, "email", None)
    email_to = _typed(email, "to", list, "email", [])
    if any(not isinstance(a, str) or "@" not in a for a in email_to):
        raise ConfigError("email.to", f"expected a list of email addresses, got {email_to!r}")
    if email_from is not None and "@" not in email_from:
        raise ConfigError("email.from", f"expected an email address, got {email_from!r}")
    attach = _typed(email, "attach", list, "email", list(ATTACHMENTS))
    if any(a not in ATTACHMENTS for a in attach) or len(set(attach)) != len(attach):
        raise ConfigError(
            "email.attach", f'expected a list of "pdf" and "zip", each at most once, got {attach!r}'
        )

    return Config(
        rule=rule,
        exclusions=tuple(exclusions),
        timezone=timezone,
        months=months,
        jobs=jobs,
        explore_months=explore_months,
        top=top,
        email_from=email_from,
        email_to=tuple(email_to),
        paper=paper,
        attach=tuple(attach),
        source=source,
        reconcile=_reconcile(data.get("reconcile"), source),
        customers=_customers(data.get("customer", [])),
        profile=profile,
        query_timeout_s=timeout,
        watch=_watch(data.get("alerts", {})),
    )


def _watch(table: Any) -> WatchSettings:
    if not isinstance(table, dict):
        raise ConfigError("alerts", "expected a table [alerts]")
    _check_keys(table, "alerts")
    days = _between(table, "days", "alerts", 3, 1, 7)
    weeks = _between(table, "weeks", "alerts", 8, 3, 26)
    min_daily = _typed(table, "min_daily", int, "alerts", 5)
    if min_daily < 1:
        raise ConfigError("alerts.min_daily", f"must be 1 or more, got {min_daily}")
    to = _typed(table, "to", list, "alerts", [])
    if any(not isinstance(a, str) or "@" not in a for a in to):
        raise ConfigError("alerts.to", f"expected a list of email addresses, got {to!r}")
    return WatchSettings(days, weeks, min_daily, tuple(to))


def _rule(billing: dict[str, Any], profile: Profile) -> BillingRule:
    """[billing], each key defaulting to the profile's rule."""
    defaults = RULE_DEFAULTS[profile.name]
    statuses: Any = billing.get("statuses", defaults["statuses"])
    if statuses == "all":
        statuses = None
    elif (
        not isinstance(statuses, list | tuple)
        or not statuses
        or any(isinstance(s, bool) or not isinstance(s, int) for s in statuses)
    ):
        raise ConfigError(
            "billing.statuses", f'expected a non-empty list of integers or "all", got {statuses!r}'
        )
    min_depth = _typed(billing, "min_depth", int, "billing", defaults["min_depth"])
    if min_depth < 0:
        raise ConfigError("billing.min_depth", f"must be 0 or more, got {min_depth}")
    if min_depth > 0 and not profile.has_depth:
        raise ConfigError(
            "billing.min_depth",
            f"must be 0: the {profile.name} profile stores no depth (or set source.depth_field)",
        )
    channels = _typed(
        billing, "exclude_channels", list, "billing", list(defaults["exclude_channels"])
    )
    if any(not isinstance(c, str) or not c for c in channels):
        raise ConfigError(
            "billing.exclude_channels", f"expected a list of channel names, got {channels!r}"
        )
    flags = {
        key: _typed(billing, key, bool, "billing", defaults[key])
        for key in ("exclude_test_mode", "exclude_preflight")
    }
    return BillingRule(
        statuses=None if statuses is None else tuple(statuses),
        min_depth=min_depth,
        exclude_channels=tuple(channels),
        **flags,
    )


def _customers(tables: Any) -> dict[str, tuple[str, ...]]:
    """[[customer]] tables: the addresses each customer's statement is emailed to."""
    if not isinstance(tables, list):
        raise ConfigError("customer", "expected [[customer]] tables")
    found: dict[str, tuple[str, ...]] = {}
    for i, item in enumerate(tables):
        key = f"customer[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(key, "expected a table with id and to")
        _check_keys(item, "customer")
        org = check_object_id(item.get("id"), f"{key}.id")
        to = item.get("to")
        if (
            not isinstance(to, list)
            or not to
            or any(not isinstance(a, str) or "@" not in a for a in to)
        ):
            raise ConfigError(f"{key}.to", f"expected a list of email addresses, got {to!r}")
        if org in found:
            raise ConfigError(f"{key}.id", f"{org} is listed twice")
        found[org] = tuple(to)
    return found


def _reconcile(table: Any, source: Path | None) -> Reconcile | None:
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError("reconcile", "expected a table [reconcile]")
    _check_keys(table, "reconcile")
    csv = _typed(table, "csv", str, "reconcile", None)
    collection = _typed(table, "collection", str, "reconcile", None)
    if (csv is None) == (collection is None):
        raise ConfigError("reconcile", "give either csv (a file) or collection (a collection)")
    fields = {
        k: _typed(table, k, str, "reconcile", default)
        for k, default in (
            ("organization_field", "id_organization"),
            ("period_field", "period"),
            ("value_field", "chat_conv_count"),
        )
    }
    tolerance = table.get("tolerance", 0.02)
    if (
        isinstance(tolerance, bool)
        or not isinstance(tolerance, int | float)
        or not 0 <= tolerance < 1
    ):
        raise ConfigError(
            "reconcile.tolerance", f"expected a share such as 0.02, got {tolerance!r}"
        )
    path = None
    if csv is not None:
        path = Path(csv).expanduser()
        if not path.is_absolute() and source is not None:
            path = source.parent / path  # relative to the config file
    return Reconcile(path, collection, tolerance=float(tolerance), **fields)


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Config from `path`, else $USAGE_CONFIG, else built-in defaults; plus the environment."""
    env = dict(os.environ) if env is None else env
    chosen = path or env.get("USAGE_CONFIG") or None
    data: dict[str, Any] = {}
    source = None
    if chosen:
        source = Path(chosen).expanduser().absolute()  # read once, whatever folder runs later
        try:
            data = tomllib.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError("config", f"file not found: {source}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("config", f"{source} is not valid TOML ({exc})") from None
    config = parse_config(data, source)
    db = env.get("USAGE_MONGODB_DB", "tiledesk").strip() or "tiledesk"
    if not re.match(r"^[A-Za-z0-9_-]{1,63}$", db):
        raise ConfigError("USAGE_MONGODB_DB", f"{db!r} is not a valid database name")
    uri = env.get("USAGE_MONGODB_URI", "").strip() or None
    if uri is not None and not uri.startswith(("mongodb://", "mongodb+srv://")):
        raise ConfigError("USAGE_MONGODB_URI", "must start with mongodb:// or mongodb+srv://")
    return Config(**{**config.__dict__, "mongodb_db": db, "mongodb_uri": uri})
