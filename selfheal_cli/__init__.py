"""The ``selfheal`` command line: one click module per command group, ``main(argv) -> int``.

Installed (``pip install -e .``) it is the ``selfheal`` console script; ``python scripts/selfheal.py``
runs the same ``main``. The commands' helpers are the modules in ``scripts/`` (``package``,
``local_mode``, ``configure``…) and the Lambda code in ``chalice_app/`` (``chalicelib``, ``app``):
this is the one place that puts both directories on the import path, so that every entry (the
console script, the shim, the tests) imports them the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

for _directory in (ROOT / "chalice_app", ROOT / "scripts"):  # scripts/ first, as it always was
    if str(_directory) not in sys.path:
        sys.path.insert(0, str(_directory))
