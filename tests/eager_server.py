"""SecantusDB with `$and` / `$or` expressions that evaluate every operand: the tests' server.

    python tests/eager_server.py <the arguments of secantusd-py>
    eager_mongo(":memory:")  # an EmbeddedMongo that runs it (tests/conftest.py's `mongo`)

MongoDB's manual ($and / $or, "Error Handling") promises no evaluation order: an operand
after the first may be evaluated, and may raise, even when the first already decides the
result (../shared/DOMAIN.md, "Evaluation order is not promised"). SecantusDB stops at the
first operand that decides (`all()` / `any()` over a generator in `secantus.expressions`),
so a pipeline that relies on that passes there and can fail on a user's mongod. This
launcher replaces the two operators in SecantusDB's expression table with ones that
evaluate every operand, in order, before combining them, then runs SecantusDB's own CLI
(`secantus.cli:main`, the target of the `secantusd-py` console script).

What is patched, and what is not (SecantusDB as installed in .venv):
- Every aggregation expression goes through `expressions._apply_op`, which looks the
  operator up in `_OPS` on each call: `$project`, `$addFields`, `$group`, `$cond`'s
  `if`, `$filter`'s `cond`, `$match`'s `$expr` (query.py evaluates it with
  `expressions.evaluate`), and the optimizer's constant folding (aggregate.py's
  `_fold_problem` and `_apply_switch_folds` also call `evaluate`). The
  missing-propagating shortcut (`_MISSING_PROPAGATING`) holds only `$cond`, `$switch`,
  `$let` and `$ifNull`; there is no compiled or second evaluator.
- The query language's `$and` / `$or` / `$nor` (a `$match` filter, query.py's
  `_match_clause`) are left as they are.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from usage_lib.demo.server import EmbeddedMongo

#: This file: `EmbeddedMongo(command=[sys.executable, str(LAUNCHER)])` runs it.
LAUNCHER = Path(__file__).absolute()


def eager_mongo(storage: str | Path = ":memory:", **kwargs: Any) -> EmbeddedMongo:
    """An (unstarted) `EmbeddedMongo` running this launcher instead of `secantusd-py`."""
    from usage_lib.demo.server import EmbeddedMongo

    return EmbeddedMongo(storage, command=[sys.executable, str(LAUNCHER)], **kwargs)


def _eager_and(arg: Any, ctx: Any) -> bool:
    from secantus import expressions as ex

    values = [ex._bool(ex._eval(a, ctx)) for a in ex._operands(arg)]  # every one, in order
    return all(values)


def _eager_or(arg: Any, ctx: Any) -> bool:
    from secantus import expressions as ex

    values = [ex._bool(ex._eval(a, ctx)) for a in ex._operands(arg)]
    return any(values)


def patch() -> None:
    """Put the eager operators in SecantusDB's expression table (in this process only)."""
    from secantus import expressions as ex

    # Fail loudly if SecantusDB moved these: a silently unpatched server would pass the
    # very pipelines this server exists to catch.
    if ex._OPS.get("$and") is not ex._op_and or ex._OPS.get("$or") is not ex._op_or:
        raise RuntimeError("secantus.expressions._OPS no longer holds _op_and / _op_or")
    if {"$and", "$or"} & set(ex._MISSING_PROPAGATING):
        raise RuntimeError("secantus dispatches $and / $or outside _OPS")
    ex._OPS["$and"] = _eager_and
    ex._OPS["$or"] = _eager_or


def main(argv: list[str]) -> int:
    from secantus import cli

    patch()
    return cli.main(argv)


if __name__ == "__main__":
    # Run as a script, this folder is first on sys.path, and its data.py / wire.py / ...
    # must not shadow a module the server imports.
    sys.path[:] = [p for p in sys.path if Path(p or ".").absolute() != LAUNCHER.parent]
    sys.exit(main(sys.argv[1:]))
