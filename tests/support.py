"""Constants shared by the test modules and tests/conftest.py."""

import sys
from pathlib import Path

BIN = Path(sys.executable).with_name("usage-report")  # the installed command line
PASSWORD = "s3cret-PW-42"  # the read-only database user's; must appear in no output
