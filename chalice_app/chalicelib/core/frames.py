"""Which frames of a traceback are the application's own code.

A frame is in-app unless its file is a library's: an installed package (``site-packages``,
``dist-packages``, a virtualenv's ``bin/`` or ``lib/``, virtualenvwrapper's ``virtualenvs/``; a
project named ``virtualenv`` or a package named ``venv`` is code, not an environment), the
standard library (``lib/python3.x/``, a free-threaded ``lib/python3.13t/``), the Lambda runtime
(``/var/runtime/``, ``/var/lang/``), the system's Python's own directories (``/usr/lib/pymodules/``,
``/usr/share/pyshared/``, PyPy's and Jython's, ``site-python``; an application a distribution
installs under ``/usr/lib/<app>/`` or ``/usr/share/<app>/`` is code) or code without a file
(``<frozen …>``, ``<string>``). Grouping
(core/fingerprint.py), fixability (core/fixability.py), localisation and retrieval all read this
one rule. Pure; imports nothing from the package.
"""

from __future__ import annotations

import re
from functools import lru_cache

_LIBRARY = re.compile(
    r"(?:^|/)(?:site-packages|dist-packages|\.?virtualenvs)/"
    r"|(?:^|/)(?:\.?venv|virtualenv)/(?:bin|Scripts|lib|Lib)/"
    r"|(?:^|/)lib(?:64)?/python\d(?:\.\d+)?t?/"
    r"|^/usr/(?:lib|lib64|share)/(?:pymodules|pyshared|site-python|pypy[\d.]*|jython)/"
    r"|^/var/runtime/|^/var/lang/|^<frozen |^<string>$|^<__array_function__"
)


@lru_cache(maxsize=4096)
def is_in_app(path: str) -> bool:
    """Whether a frame's file is the application's own code rather than a library's."""
    return _LIBRARY.search(path.replace("\\", "/")) is None
