"""The keys of the rows the passes return, named once, with what each holds. They stay one or
two letters on the wire: every row of every pass carries them (a pack's pass returns tens of
thousands of rows, a statement's stream one per conversation).
"""

from __future__ import annotations

# The report's pass (`pipeline`) and the watch's: one row per tenant, agent, day and test flag
TENANT = "o"  # the normalized tenant id (rule.NONE: no tenant)
AGENT = "a"  # the normalized agent id (rule.NONE: Unattributed)
DAY = "d"  # the local day, "YYYY-MM-DD" (a month-grain pass: the month's first day)
TEST = "x"  # whether the profile's test field is the boolean true
COUNT = "n"  # conversations
COUNTED = "c"  # of those, how many the rule's statuses and depth count (the watch)
DEPTH_SUM = "ds"  # the sum of their depths
DEPTH_N = "dn"  # how many have a numeric depth (read only when the rule needs none)
HANDOFFS = "h"  # how many a human agent took part in
UPDATED = "ua"  # how many carry a date in updatedAt (the local store's pass: `warm`)
# ... with distinct users: every row is a cube row or a users row
KIND = "t"  # CUBE_ROW or USERS_ROW
CUBE_ROW, USERS_ROW = "c", "u"
USER = "u"  # the normalized end user (rule.NONE: none)
BUCKET = "b"  # a users row's bucket, "YYYY-MM-DD" (null: the whole range)
USERS = "users"  # a users row's distinct users
FANNED = "k"  # a row's keys fanned out, before the $group on (key, user)

# explain's pass (`explain`): one row per tenant and step
STEP = "s"  # the step of the rule that leaves a conversation out (rule.PASSED: none)
STATUS = "st"  # its stored status, when the step is the status (absent: it has none)
NO_DEPTH = "dm"  # when the step is the depth: it has no numeric depth

# the statements' stream (`conversations`): one row per conversation, its fields and
CUSTOMER = "c"  # the normalized tenant id
# ... and STEP


def field(key: str) -> str:
    """`key` as a field path: "$o"."""
    return f"${key}"


def grouped(key: str) -> str:
    """`key` of a `$group`'s `_id`, as a field path: "$_id.o"."""
    return f"$_id.{key}"
