"""Repository addresses: which access mode a configured ``repo_url`` means.

- ``owner/name``, ``https://github.com/owner/name(.git)``, or the same on a GitHub Enterprise
  host → GitHub API mode (PyGithub, token);
- ``git@host:owner/name.git`` or ``ssh://git@host/owner/name.git`` → git mode over SSH (key +
  known_hosts), PRs through the API when the host is a GitHub;
- a local path or ``file://`` URL (a work tree or a bare repository) → git mode, PR files beside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_SHORT = re.compile(r"^(?P<owner>[A-Za-z0-9][A-Za-z0-9-]{0,38})/(?P<name>[A-Za-z0-9._-]{1,100})$")
_HTTPS = re.compile(r"^https://(?P<host>[^/\s]+)/(?P<owner>[^/\s]+)/(?P<name>[^/\s]+?)(?:\.git)?/?$")
_SCP = re.compile(r"^(?P<user>[\w.-]+)@(?P<host>[^:/\s]+):(?P<owner>[^/\s]+)/(?P<name>[^/\s]+?)(?:\.git)?$")
_SSH = re.compile(r"^ssh://(?:[\w.-]+@)?(?P<host>[^/:\s]+)(?::\d+)?/(?P<owner>[^/\s]+)/(?P<name>[^/\s]+?)(?:\.git)?$")


class RepoUrlError(ValueError):
    """Not a repository address selfheal understands."""


@dataclass(frozen=True)
class RepoRef:
    """A parsed repository address."""

    kind: Literal["github", "ssh", "local"]
    url: str
    host: str = ""
    full_name: str = ""  # owner/name, when known

    @property
    def api_base_url(self) -> str:
        """The REST API root for this host (github.com or GitHub Enterprise's /api/v3)."""
        if not self.host or self.host == "github.com":
            return "https://api.github.com"
        return f"https://{self.host}/api/v3"


_CREDENTIALS = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s]*:[^/@\s]*@|^https?://[^/\s]*@", re.I)


def parse_repo_url(url: str) -> RepoRef:
    """Classify ``url``; RepoUrlError says what forms are accepted.

    A URL carrying credentials (``https://user:token@host/…``, ``ssh://git:password@host/…``) is
    refused rather than stripped: the token would otherwise sit in a plain setting, in git's
    remote configuration and in error messages; it belongs in the ``github_token`` SecureString.
    """
    text = url.strip()
    if _CREDENTIALS.match(text):
        raise RepoUrlError(
            "repository URL carries credentials: give the URL without them and the token as github_token"
        )
    if m := _SHORT.match(text):
        return RepoRef("github", f"https://github.com/{text}", "github.com", text)
    if m := _HTTPS.match(text):
        return RepoRef("github", text, m["host"], f"{m['owner']}/{m['name']}")
    if m := (_SCP.match(text) or _SSH.match(text)):
        return RepoRef("ssh", text, m["host"], f"{m['owner']}/{m['name']}")
    if text.startswith("file://"):
        return RepoRef("local", text.removeprefix("file://"))
    if text.startswith(("/", "./", "../", "~")) or re.match(r"^[A-Za-z]:[\\/]", text):
        return RepoRef("local", text)
    raise RepoUrlError(
        f"repository {url!r} is not owner/name, https://host/owner/name, git@host:owner/name.git, "
        "ssh://host/owner/name.git or a local path"
    )
