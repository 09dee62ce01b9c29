"""Git mode: GitPython over a shallow clone (SSH with a pinned host key, or a local path).

The SSH private key is written 0600 into a private temporary directory for the life of the
checkout and removed after; host keys come from a known_hosts setting and are checked strictly.
PRs for a local repository are Markdown files next to it (``<repo>.selfheal-prs/<branch>.md``).
"""

from __future__ import annotations

import shutil
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import git

from chalicelib.errors import ConfigError, TransientError

if TYPE_CHECKING:
    from collections.abc import Mapping

AUTHOR = git.Actor("selfheal", "selfheal@users.noreply.github.com")


class GitRepository:
    """A shallow checkout of the default branch that can publish a fix branch."""

    def __init__(self, url: str, ssh_key: str = "", known_hosts: str = "") -> None:
        self.url = url
        self._tmp = Path(tempfile.mkdtemp(prefix="selfheal-git-"))
        self._tmp.chmod(stat.S_IRWXU)
        env: dict[str, str] = {}
        if ssh_key:
            if not known_hosts:
                raise ConfigError("git over SSH needs a known_hosts setting: host keys are never skipped")
            key = self._tmp / "id"
            key.write_text(ssh_key if ssh_key.endswith("\n") else ssh_key + "\n")
            key.chmod(0o600)
            hosts = self._tmp / "known_hosts"
            hosts.write_text(known_hosts)
            env["GIT_SSH_COMMAND"] = (
                f"ssh -i {key} -o IdentitiesOnly=yes -o UserKnownHostsFile={hosts} -o StrictHostKeyChecking=yes"
            )
        self._env = env
        try:
            self.repo = git.Repo.clone_from(url, self._tmp / "work", depth=1, env=env or None)
        except git.GitCommandError as exc:
            self.close()
            raise TransientError(f"could not clone {url}: {exc.stderr.strip()[:300]}") from exc
        self.default_branch = self.repo.active_branch.name
        self.head = self.repo.head.commit.hexsha

    def paths(self) -> list[str]:
        """Every tracked file."""
        return self.repo.git.ls_files().splitlines()

    def read(self, path: str) -> str | None:
        """A file's text at the default branch head, or None."""
        target = Path(self.repo.working_tree_dir or "") / path
        try:
            return target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def publish(self, branch: str, files: Mapping[str, str], message: str) -> str:
        """Commit ``files`` on ``branch`` (from the default head) and push it; returns the commit."""
        work = self.repo
        work.git.checkout("-B", branch, self.head)
        root = Path(work.working_tree_dir or "")
        for path, text in files.items():
            (root / path).write_text(text, encoding="utf-8")
        work.index.add(list(files))
        commit = work.index.commit(message, author=AUTHOR, committer=AUTHOR)
        try:
            # Our own branch: a retry replaces what an earlier attempt pushed.
            with work.git.custom_environment(**self._env):
                work.git.push("--force", "origin", f"{branch}:refs/heads/{branch}")
        except git.GitCommandError as exc:
            raise TransientError(f"push of {branch} failed: {exc.stderr.strip()[:300]}") from exc
        return commit.hexsha

    def close(self) -> None:
        """Remove the checkout and the key."""
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> GitRepository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalPullRequests:
    """Pull requests for a repository without a forge: one Markdown file per branch beside it."""

    def __init__(self, repo_path: str | Path) -> None:
        base = Path(repo_path).resolve()
        self.dir = base.parent / f"{base.name}.selfheal-prs"

    def open_or_update(self, branch: str, base: str, title: str, body: str, draft: bool, labels: Any) -> str:
        self.dir.mkdir(parents=True, exist_ok=True)
        target = self.dir / f"{branch.replace('/', '-')}.md"
        header = f"# {title}\n\n- branch: `{branch}` → `{base}`\n- draft: {'yes' if draft else 'no'}\n"
        if labels:
            header += f"- labels: {', '.join(labels)}\n"
        target.write_text(header + "\n" + body)
        return target.as_uri()
