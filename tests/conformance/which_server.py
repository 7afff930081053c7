"""Say which server `make conformance` is about to test: the scheme and hosts of
USAGE_TEST_MONGODB_URI (never its user, password, database or options), or the embedded
SecantusDB server when the variable is not set."""

from __future__ import annotations

import os
import re

VARIABLE = "USAGE_TEST_MONGODB_URI"


def hosts_of(uri: str) -> str:
    """`mongodb://user:secret@h1:27017,h2/db?x=1` -> `mongodb://h1:27017,h2`.

    Everything up to the last "@" is dropped first (a password may hold "/", "?" or "@"),
    then everything from the first "/" or "?" (the database and the options)."""
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return "(not a MongoDB URI)"
    rest = rest.rpartition("@")[2]
    return f"{scheme}://{re.split(r'[/?]', rest, maxsplit=1)[0]}"


def main() -> None:
    uri = os.environ.get(VARIABLE, "").strip()
    if uri:
        print(f"conformance: testing {hosts_of(uri)} (from {VARIABLE})")
        print("conformance: it creates and drops databases named conformance_* and shapes_*;")
        print("             point it at a disposable server, never at production.")
    else:
        print(f"conformance: testing the embedded SecantusDB server ({VARIABLE} is not set)")


if __name__ == "__main__":
    main()
