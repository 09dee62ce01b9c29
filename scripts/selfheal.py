#!/usr/bin/env python3
"""``python scripts/selfheal.py COMMAND ...``: the ``selfheal`` command line without installing it.

The same ``main`` as the console script ``pip install -e .`` makes (``selfheal COMMAND ...``): the
commands are the package ``selfheal_cli/`` (``selfheal --help`` lists them, each has ``--help``).
This file only makes the package importable from a checkout and re-exports what scripts and tests
have imported from it.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from selfheal_cli.deploy import next_steps  # noqa: E402
from selfheal_cli.inspect_logs import traceback_json  # noqa: E402
from selfheal_cli.main import main  # noqa: E402

__all__ = ["main", "next_steps", "traceback_json"]

if __name__ == "__main__":
    sys.exit(main())
