"""What a pack was made from, how long its passes took and what it counted: its manifest.json,
as a typed object. `to_json` writes the file's keys as they have always been; `from_json`
reads any pack's, an older version's too (keys it lacks come back empty)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from usage_lib.core.config import Exclusion
from usage_lib.report.digest import Figures


@dataclass(frozen=True)
class Span:
    start: str  # the window's first day, ISO
    end: str  # its last day


@dataclass(frozen=True)
class NotebookTime:
    execute_s: float
    export_s: float


@dataclass(frozen=True)
class Timings:
    """The pack's passes in seconds (timed by `_Passes`), and how its notebooks ran."""

    data_pass_s: float  # the report's pass: the cube
    watch_pass_s: float  # what started, by day: the month's alerts
    steps_pass_s: float  # the month, step by step
    notebooks_s: float  # executed and exported, `jobs` at a time
    jobs: int
    notebooks: dict[str, NotebookTime]  # by page (its file name's stem)
    pdf_s: float = 0.0  # the pack as one PDF, from its pages (0: not made)

    def to_json(self) -> dict[str, Any]:
        return {
            "data_pass_s": self.data_pass_s,
            "watch_pass_s": self.watch_pass_s,
            "steps_pass_s": self.steps_pass_s,
            "notebooks_s": self.notebooks_s,
            "jobs": self.jobs,
            "notebooks": {page: asdict(t) for page, t in self.notebooks.items()},
            "pdf_s": self.pdf_s,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Timings:
        """The watch's and the steps' passes are 0 in packs made before there were any."""
        return cls(
            data_pass_s=data["data_pass_s"],
            watch_pass_s=data.get("watch_pass_s", 0.0),
            steps_pass_s=data.get("steps_pass_s", 0.0),
            notebooks_s=data["notebooks_s"],
            jobs=data["jobs"],
            notebooks={page: NotebookTime(**t) for page, t in data["notebooks"].items()},
            pdf_s=data.get("pdf_s", 0.0),
        )


@dataclass(frozen=True)
class Compared:
    """What the manifest records of the month's comparisons (`_Comparisons`)."""

    published: dict[str, Any]  # `restate.published`: what later packs compare with
    restatements: tuple[dict[str, Any], ...]  # rows of `restate.SCHEMA`; none without earlier
    reconciliation: dict[str, Any] | None  # sentence, flagged rows; None: not configured

    def to_json(self) -> dict[str, Any]:
        return {
            "published": self.published,
            "restatements": list(self.restatements),
            "reconciliation": self.reconciliation,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Compared:
        """Empty in packs made before there were comparisons."""
        return cls(
            published=data.get("published", {}),
            restatements=tuple(data.get("restatements", ())),
            reconciliation=data.get("reconciliation"),
        )


@dataclass(frozen=True)
class Manifest:
    """The pack's manifest.json, typed. The file is one flat object; `to_json` writes its
    keys in this order: month to source, then `timings` (data_pass_s ... notebooks),
    `figures` (the digest's: bridge, alerts, rows, billable), pages, tables, `compared`
    (published, restatements, reconciliation), pdf and pdf_note, read, then `other`. `from_json` reads back what
    `to_json` wrote, exactly, and any earlier version's (a key it lacks is empty); the keys it
    does not model (the store's files, sent and history) are in `other`, as they were."""

    month: str  # YYYY-MM
    range: Span  # the window
    timezone: str
    rule: str  # the billing rule, in words
    exclusions: tuple[Exclusion, ...]
    library_version: str
    data_as_of: str  # when the data was read, ISO, UTC
    generated_at: str  # ISO, UTC, whole seconds
    source: str  # "embedded demo database" or "configured database"
    timings: Timings
    figures: Figures
    pages: tuple[str, ...]  # the notebooks' HTML pages, file names in the pack
    tables: tuple[str, ...]  # tables/<name>.csv
    compared: Compared
    pdf: str = ""  # usage-report-<month>.pdf, the pack as one PDF; "" when it was not made
    pdf_note: str = ""  # why it was not made, one line
    read: dict[str, Any] = field(
        default_factory=dict
    )  # days from the local store and read (`warm`)
    other: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "range": asdict(self.range),
            "timezone": self.timezone,
            "rule": self.rule,
            "exclusions": [asdict(e) for e in self.exclusions],
            "library_version": self.library_version,
            "data_as_of": self.data_as_of,
            "generated_at": self.generated_at,
            "source": self.source,
            **self.timings.to_json(),
            **self.figures.to_json(),
            "pages": list(self.pages),
            "tables": list(self.tables),
            **self.compared.to_json(),
            "pdf": self.pdf,
            "pdf_note": self.pdf_note,
            "read": self.read,
            **self.other,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        made = cls(
            month=data["month"],
            range=Span(**data["range"]),
            timezone=data["timezone"],
            rule=data["rule"],
            exclusions=tuple(Exclusion(**e) for e in data["exclusions"]),
            library_version=data["library_version"],
            data_as_of=data["data_as_of"],
            generated_at=data["generated_at"],
            source=data["source"],
            timings=Timings.from_json(data),
            figures=Figures.from_json(data),
            pages=tuple(data["pages"]),
            tables=tuple(data.get("tables", ())),
            compared=Compared.from_json(data),
            pdf=data.get("pdf", ""),
            pdf_note=data.get("pdf_note", ""),
            read=dict(data.get("read", {})),
        )
        modelled = made.to_json()
        return replace(made, other={k: v for k, v in data.items() if k not in modelled})
