"""Git mode: GitPython over a shallow bare clone (SSH with a pinned host key, or a local path).

The clone holds the default branch's last ``RECENT_COMMITS + 1`` commits: what the recent ones
changed scores higher in the search beyond the trace (``core/changes.py``).

There is no work tree: files are read from the object database and the fix is written as blobs
into a private index (plumbing: hash-object, update-index, write-tree, commit-tree), then pushed.
So nothing is ever read or written through a symbolic link, on disk or in the tree: only regular
files (modes 100644 and 100755) are listed and read, a path that is a link (120000) or a
submodule (160000) is never written, each file keeps its mode, and content goes in byte for byte
(``--no-filters``: no CRLF or attribute conversion). A commit whose tree equals the head's is
never pushed (FixRejected: an empty diff is never a PR). The branch push is forced: the branch
is ours, and a retry after a crash replaces what the earlier attempt pushed.

The SSH private key is written 0600 into a private temporary directory for the life of the
clone and removed after; host keys come from a known_hosts setting and are checked strictly.
PRs for a local repository are Markdown files next to it (``<repo>.selfheal-prs/<branch>.md``),
one per branch, rewritten by a later attempt.
"""

from __future__ import annotations

import binascii
import logging
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import unquote, urlparse

import git

from chalicelib.core.changes import RECENT_COMMITS, changed_ranges
from chalicelib.core.codeowners import Reviewers, ReviewRequest
from chalicelib.core.redact import redact
from chalicelib.errors import ConfigError, FixRejected, TransientError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.changes import Changed

log = logging.getLogger(__name__)
AUTHOR = git.Actor("selfheal", "selfheal@users.noreply.github.com")
COMMENT_MARK = "\n\n## Comment\n\n"  # a comment appended to a local PR record
REGULAR = frozenset({"100644", "100755"})  # git's modes for files; 120000 is a link, 160000 a submodule


# the changed lines of the new side only, whatever the user's git configuration says: a moved file
# shows its edits only (-M), a text conversion filter is never run
_DIFF = ("-U0", "-M", "--no-color", "--no-ext-diff", "--no-textconv", "--src-prefix=a/", "--dst-prefix=b/")


def recent_changes(
    repo: git.Repo, head: str = "HEAD", work_tree: bool = False, commits: int = RECENT_COMMITS
) -> list[Changed]:
    """What the ``commits`` first-parent commits up to ``head`` changed in Python files
    (``core/changes.py``), as ranges of ``head``'s files, or of the work tree's when ``work_tree``
    (its uncommitted changes count too). Nothing when there is no earlier commit to compare with or
    git cannot tell (not a repository, a history cut shorter)."""
    try:
        chain = repo.git.rev_list("--first-parent", f"--max-count={commits + 1}", head).split()
        if len(chain) < 2:  # noqa: PLR2004 - a head and one commit before it
            return []
        # paths verbatim (a quoted "b/caf\303\251.py" would name no file)
        diff = repo.git(c="core.quotePath=false").diff(*_DIFF, chain[-1], *(() if work_tree else (head,)), "--", "*.py")
    except git.CommandError as exc:  # git's refusal, or no git at all
        log.info("recent changes unread: %s", redact(str(exc))[:200])
        return []
    return changed_ranges(diff)


class Entry(NamedTuple):
    """A tree entry at the default head."""

    mode: str
    sha: str


def _tree_entries(repo: git.Repo, commit: str) -> dict[str, Entry]:
    """Every blob and submodule of the commit's tree, by path (``ls-tree -r -z``: names verbatim)."""
    entries: dict[str, Entry] = {}
    for record in repo.git.ls_tree("-r", "-z", "--full-tree", commit).split("\0"):
        if not record:
            continue
        meta, _, path = record.partition("\t")
        mode, _kind, sha = meta.split()
        entries[path] = Entry(mode, sha)
    return entries


class GitRepository:
    """A shallow bare clone of the default branch that can publish a fix branch."""

    search_files = 600  # files the ranked search may parse: reads are local

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
            # the recent commits too: what they changed is where a new failure is looked for first
            depth = RECENT_COMMITS + 1
            self.repo = git.Repo.clone_from(url, self._tmp / "repo.git", bare=True, depth=depth, env=env or None)
        except git.GitCommandError as exc:
            self.close()
            raise TransientError(redact(f"could not clone {url}: {exc.stderr.strip()[:300]}")) from exc
        self.default_branch = self.repo.active_branch.name
        self.head = self.repo.head.commit.hexsha
        self._default_head = self.head
        self._entries = _tree_entries(self.repo, self.head)
        self._changes: list[Changed] | None = None

    def paths(self) -> list[str]:
        """Every regular file at the default head (links and submodules left out)."""
        return sorted(p for p, e in self._entries.items() if e.mode in REGULAR)

    def changes(self) -> list[Changed]:
        """The lines the latest commits of the default branch changed (``recent_changes``); none
        once a branch's head is read instead (``use_branch``): its lines are not the default's."""
        if self.head != self._default_head:
            return []
        if self._changes is None:
            self._changes = recent_changes(self.repo, self.head)
        return self._changes

    def mode(self, path: str) -> str | None:
        """The git mode of ``path`` at the default head, or None when the tree has no such entry."""
        entry = self._entries.get(path)
        return entry.mode if entry else None

    def read(self, path: str) -> str | None:
        """A regular file's exact text at the default head (line endings kept), or None."""
        entry = self._entries.get(path)
        if entry is None or entry.mode not in REGULAR:
            return None
        data = self.repo.odb.stream(binascii.unhexlify(entry.sha)).read()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def _blob(self, text: str) -> str:
        """Store ``text`` (UTF-8, byte for byte) as a blob; its sha."""
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="blob-")
        with os.fdopen(fd, "wb") as out:
            out.write(text.encode("utf-8"))
        try:
            return self.repo.git.hash_object("-w", "--no-filters", "--", name).strip()
        finally:
            Path(name).unlink()

    def publish(self, branch: str, files: Mapping[str, str], message: str) -> str:
        """Commit ``files`` on ``branch`` (parent: the default head) and push it; returns the commit.

        Each path must be a regular file at the head: its mode is kept. FixRejected when a path is
        a link, a submodule or absent, or when the commit would change nothing (then nothing is
        pushed). TransientError when the push fails.
        """
        work = self.repo.git
        index = {"GIT_INDEX_FILE": str(self._tmp / "index")}
        with work.custom_environment(**index):
            work.read_tree(self.head)
            for path, text in sorted(files.items()):
                entry = self._entries.get(path)
                if entry is None or entry.mode not in REGULAR:
                    raise FixRejected(redact(f"{path}: not a regular file of the repository; links are never written"))
                work.update_index("--cacheinfo", f"{entry.mode},{self._blob(text)},{path}")
            tree = work.write_tree().strip()
        parent = self.repo.commit(self.head)  # the default head, or the branch's after use_branch
        if tree == parent.tree.hexsha:
            raise FixRejected("the fix changes nothing in the repository: no branch pushed, no pull request")
        commit = git.Commit.create_from_tree(
            self.repo, self.repo.tree(tree), message, parent_commits=[parent],
            author=AUTHOR, committer=AUTHOR,
        )  # fmt: skip
        try:
            # Our own branch: a retry replaces what an earlier attempt pushed.
            with work.custom_environment(**self._env):
                work.push("--force", "origin", f"{commit.hexsha}:refs/heads/{branch}")
        except git.GitCommandError as exc:
            raise TransientError(redact(f"push of {branch} failed: {exc.stderr.strip()[:300]}")) from exc
        return commit.hexsha

    def use_branch(self, branch: str) -> None:
        """Read from, and publish on top of, ``branch``'s head instead of the default head (a repair
        commit goes on the failed fix's branch): the branch is fetched (depth 1) into the clone.
        TransientError when it cannot be fetched."""
        ref = f"refs/remotes/origin/{branch}"
        try:
            with self.repo.git.custom_environment(**self._env):
                self.repo.git.fetch("--depth=1", "origin", f"+refs/heads/{branch}:{ref}")
        except git.GitCommandError as exc:
            raise TransientError(redact(f"could not fetch {branch}: {exc.stderr.strip()[:300]}")) from exc
        self.head = self.repo.commit(ref).hexsha
        self._entries = _tree_entries(self.repo, self.head)

    def close(self) -> None:
        """End git's helper processes, remove the clone and the key."""
        if hasattr(self, "repo"):
            self.repo.close()
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
        self.reviews: dict[str, ReviewRequest] = {}  # by branch: the reviewers the record names

    def open_or_update(  # noqa: PLR0913 - the Protocol's arguments, and the reviewers
        self,
        branch: str,
        base: str,
        title: str,
        body: str,
        draft: bool,
        labels: Any,
        reviewers: Reviewers | None = None,
    ) -> str:
        """Write the branch's PR record; ``reviewers`` are listed in it (no forge refuses any)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        target = self.dir / f"{branch.replace('/', '-')}.md"
        header = f"# {title}\n\n- branch: `{branch}` → `{base}`\n- draft: {'yes' if draft else 'no'}\n"
        if labels:
            header += f"- labels: {', '.join(labels)}\n"
        if reviewers:
            header += f"- reviewers: {', '.join(reviewers.names())}\n"
            self.reviews[branch] = ReviewRequest(reviewers)
        # Comments appended since the record was written (usecases/checks.py, duplicates) stay.
        kept = target.read_text(encoding="utf-8") if target.exists() else ""
        at = kept.find(COMMENT_MARK)
        target.write_text(header + "\n" + body + (kept[at:] if at >= 0 else ""))
        return target.as_uri()

    # --- what else selfheal does on an open PR: comments -----------------------------------------

    def ready_for_review(self, pr_url: str, reviewers: Reviewers | None = None, ready: bool = True) -> None:
        """Mark the PR record ready for review (``draft: no``; with ``ready`` False it stays a draft)
        and list the reviewers asked now."""
        path = self.path_of(pr_url)
        if path is None:
            log.warning("no local PR record %s to mark ready", pr_url)
            return
        text = path.read_text(encoding="utf-8")
        if ready:
            text = text.replace("- draft: yes\n", "- draft: no\n- ready for review: yes\n", 1)
        header, _, body = text.partition("\n\n")  # "# title", then the header list after the blank line
        if reviewers and "- reviewers: " not in body.split("\n\n", 1)[0]:
            text = f"{header}\n\n- reviewers: {', '.join(reviewers.names())}\n{body}"
            found = re.search(r"^- branch: `([^`]+)`", body, re.MULTILINE)
            self.reviews[found.group(1) if found else path.stem] = ReviewRequest(reviewers)
        path.write_text(text, encoding="utf-8")

    def path_of(self, pr_url: str) -> Path | None:
        """The record a ``file://`` PR URL of this directory names (None for another URL)."""
        if not pr_url.startswith("file://"):
            return None
        path = Path(unquote(urlparse(pr_url).path))
        return path if path.parent == self.dir and path.is_file() else None

    def comment(self, pr_url: str, body: str) -> None:
        """Append a comment to the PR record ``pr_url`` (nothing for a record that does not exist)."""
        path = self.path_of(pr_url)
        if path is None:
            log.warning("no local PR record %s to comment on", pr_url)
            return
        with path.open("a", encoding="utf-8") as out:
            out.write(f"{COMMENT_MARK}{body}\n")
