"""Source profiles: how a Tiledesk deployment stores what the billing rule reads.

- `custom`: the deployment this product was built for (organizations, `isTestMode`,
  `depth`); the default, and unchanged.
- `tiledesk`: stock Tiledesk, the open-source server (docs/domain.md, "Stock Tiledesk"):
  the tenant is the project (`requests.id_project`, a 24-hex string; names in
  `projects`), a test conversation has `draft: true`, there is no depth, an agent may
  only be left in `participants` as `bot_<id>`, and a published bot is a fork in
  `faq_kbs` whose `root_id` names the bot to report.

Each mapping can be overridden by name in `[source]` for deployments in between.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from typing import Any

FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
WORD = re.compile(r"^[a-z][a-z ]*[a-z]$")
STOCK_STATUSES = (100, 150, 200, 300, 1000)  # every stock status but 50 TEMP


@dataclass(frozen=True)
class Profile:
    name: str = "custom"
    tenant_field: str = "id_organization"  # the request's tenant id (ObjectId or 24-hex)
    tenant_names: str = "organizations"  # the collection holding the tenants' names by _id
    tenant: str = "organization"  # the word pages, tables and the command line use
    test_field: str = "isTestMode"  # `true` marks a test conversation (missing: not a test)
    depth_field: str = "depth"  # message turns; "": the deployment stores none
    bot_prefix: str = ""  # "bot_": the last resort is the first `participants` entry so marked
    forks: bool = False  # report a published fork (faq_kbs with root_id) under its root_id

    @property
    def has_depth(self) -> bool:
        return bool(self.depth_field)


PROFILES = {
    "custom": Profile(),
    "tiledesk": Profile(
        name="tiledesk",
        tenant_field="id_project",
        tenant_names="projects",
        tenant="project",
        test_field="draft",
        depth_field="",
        bot_prefix="bot_",
        forks=True,
    ),
}
# The billing rule each profile starts from ([billing] overrides it key by key).
RULE_DEFAULTS: dict[str, dict[str, Any]] = {
    "custom": {
        "statuses": (1000,),
        "exclude_test_mode": True,
        "min_depth": 3,
        "exclude_preflight": False,
        "exclude_channels": (),
    },
    "tiledesk": {  # the quota meter's definition, as far as stored data allows
        "statuses": STOCK_STATUSES,
        "exclude_test_mode": True,
        "min_depth": 0,
        "exclude_preflight": True,
        "exclude_channels": ("voice-vxml",),
    },
}
OVERRIDES = tuple(f.name for f in fields(Profile) if f.name != "name")


def parse_profile(table: dict[str, Any]) -> Profile:
    """`[source]`: a profile by name, then any mapping overridden by name."""
    from usage_lib.errors import ConfigError

    name = table.get("profile", "custom")
    if name not in PROFILES:
        raise ConfigError(
            "source.profile", f"{name!r} is not a profile (choose {', '.join(PROFILES)})"
        )
    profile = PROFILES[name]
    changes: dict[str, Any] = {}
    for key, value in table.items():
        if key == "profile":
            continue
        if key not in OVERRIDES:
            allowed = ", ".join(("profile", *OVERRIDES, "query_timeout_s"))
            raise ConfigError(f"source.{key}", f"unknown key (allowed: {allowed})")
        changes[key] = _checked(key, value)
    return replace(profile, **changes)


def _checked(key: str, value: Any) -> Any:
    from usage_lib.errors import ConfigError

    if key == "forks":
        if not isinstance(value, bool):
            raise ConfigError(f"source.{key}", f"expected true or false, got {value!r}")
        return value
    if not isinstance(value, str):
        raise ConfigError(f"source.{key}", f"expected a string, got {value!r}")
    if key in ("depth_field", "bot_prefix") and value == "":
        return value
    if key == "tenant" and not WORD.match(value):
        raise ConfigError(f"source.{key}", f"expected a lower-case word, got {value!r}")
    if key == "bot_prefix" and not re.match(r"^[A-Za-z0-9_:-]+$", value):
        raise ConfigError(f"source.{key}", f"expected a short prefix such as bot_, got {value!r}")
    if key in ("tenant_field", "tenant_names", "test_field", "depth_field") and not FIELD.match(
        value
    ):
        raise ConfigError(f"source.{key}", f"{value!r} is not a field or collection name")
    return value
