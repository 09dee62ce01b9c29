"""GitHub API mode: PyGithub only, no git binary, no clone.

Files are read at the default branch head through the Git Data API (one recursive tree, then a
blob per file needed); the fix is written as blobs → tree → commit → branch ref; the PR is opened,
or the open one for the branch updated. ``base_url`` points at GitHub Enterprise when set.
https://docs.github.com/en/rest/git

Only regular files (tree modes 100644 and 100755) are listed, read and written: an entry with mode
120000 is a symbolic link (its blob is the link's target path) and 160000 a submodule, and neither
is ever followed or replaced. A written file keeps the mode the tree gives it. A tree equal to the
head's is never committed (FixRejected: an empty diff is never a PR). Publishing is idempotent: an
existing branch (an earlier attempt that crashed after its push) is moved, and the open PR of the
branch is updated rather than a second one opened.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from github import Auth, Github, GithubException, InputGitTreeElement
from requests import RequestException

from chalicelib.core.changes import RECENT_COMMITS, changed_ranges
from chalicelib.core.checks import CheckRun
from chalicelib.core.codeowners import MAX_REVIEWERS, Reviewers, ReviewRequest
from chalicelib.core.redact import redact
from chalicelib.errors import ConfigError, FixRejected, TransientError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from chalicelib.core.changes import Changed

log = logging.getLogger(__name__)
DEFAULT_BASE_URL = "https://api.github.com"
REGULAR = frozenset({"100644", "100755"})


def _client(token: str, base_url: str, paced: bool = True) -> Github:
    """A PyGithub client; ``paced`` keeps PyGithub's spacing of requests (0.25 s, writes 1 s) that
    GitHub's secondary rate limits ask for — only a local test server goes without it."""
    if not token:
        raise ConfigError("GitHub API mode needs a token (SSM parameter github_token)")
    pacing: dict[str, Any] = {} if paced else {"seconds_between_requests": None, "seconds_between_writes": None}
    return Github(auth=Auth.Token(token), base_url=base_url or DEFAULT_BASE_URL, retry=3, timeout=30, **pacing)


def _translate(exc: GithubException, what: str) -> Exception:
    if exc.status in (429, 500, 502, 503, 504) or (exc.status == 403 and "rate limit" in str(exc.data).lower()):
        return TransientError(f"GitHub {what}: {exc.status}")
    return ConfigError(redact(f"GitHub {what}: {exc.status} {exc.data}"[:500]))


class GitHubRepository:
    """The repository ``owner/name`` at its default branch head."""

    # Every read is a blob request: the ranked search reads at most this many files beyond the trace
    # (those nearest the traced files first), where a clone lets it parse 600.
    search_files = 20

    def __init__(self, full_name: str, token: str, base_url: str = "", paced: bool = True) -> None:
        try:
            self._repo = _client(token, base_url, paced).get_repo(full_name)
            self.default_branch = self._repo.default_branch
            self.head = self._repo.get_branch(self.default_branch).commit.sha
            tree = self._repo.get_git_tree(self.head, recursive=True)
        except GithubException as exc:
            raise _translate(exc, f"reading {full_name}") from exc
        self._entries = {e.path: (e.mode, e.sha) for e in tree.tree if e.type == "blob"}
        self._blobs = {path: sha for path, (mode, sha) in self._entries.items() if mode in REGULAR}
        self._cache: dict[str, str | None] = {}
        self._default_head = self.head
        self._changes: list[Changed] | None = None

    def changes(self) -> list[Changed]:
        """The lines the latest commits of the default branch changed (``core/changes.py``): the
        first parents walked back ``RECENT_COMMITS`` commits, then one comparison's patches (at
        most ``RECENT_COMMITS + 1`` requests, once). Nothing on a branch read instead
        (``use_branch``), or when GitHub does not answer: the search goes on without them."""
        if self.head != self._default_head:
            return []
        if self._changes is None:
            self._changes = []
            try:
                base = self.head
                for _ in range(RECENT_COMMITS):
                    parents = self._repo.get_git_commit(base).parents
                    if not parents:
                        break
                    base = parents[0].sha
                if base != self.head:
                    files = [
                        f
                        for f in self._repo.compare(base, self.head).files
                        if f.filename.endswith(".py") and "\n" not in f.filename and f.status != "removed"
                    ]  # Python files only, as git mode's pathspec: the 200-file bound counts the same
                    self._changes = changed_ranges("".join(f"+++ b/{f.filename}\n{f.patch or ''}\n" for f in files))
            except (GithubException, RequestException) as exc:
                log.info("recent changes unread: %s", redact(str(exc))[:200])
        return self._changes

    def paths(self) -> list[str]:
        """Every regular file at the default head (links and submodules left out)."""
        return sorted(self._blobs)

    def mode(self, path: str) -> str | None:
        """The tree mode of ``path`` at the default head, or None."""
        entry = self._entries.get(path)
        return entry[0] if entry else None

    def read(self, path: str) -> str | None:
        """A regular file's exact text at the default head, or None."""
        if path not in self._cache:
            sha = self._blobs.get(path)
            text: str | None = None
            if sha is not None:
                blob = self._repo.get_git_blob(sha)
                try:
                    text = base64.b64decode(blob.content).decode("utf-8")
                except (ValueError, UnicodeDecodeError):
                    text = None
            self._cache[path] = text
        return self._cache[path]

    def publish(self, branch: str, files: Mapping[str, str], message: str) -> str:
        """blobs → tree (on the head's tree) → commit (parent: head) → create or move the branch.

        Each path must be a regular file at the head (its mode is kept); FixRejected otherwise, or
        when the new tree equals the head's (nothing is committed or pushed then).
        """
        for path in files:
            if path not in self._blobs:
                raise FixRejected(redact(f"{path}: not a regular file of the repository; links are never written"))
        try:
            elements = [
                InputGitTreeElement(
                    path, self._entries[path][0], "blob", sha=self._repo.create_git_blob(text, "utf-8").sha
                )
                for path, text in sorted(files.items())
            ]
            base = self._repo.get_git_tree(self.head)
            tree = self._repo.create_git_tree(elements, base)
            if tree.sha == base.sha:
                raise FixRejected("the fix changes nothing in the repository: no branch pushed, no pull request")
            commit = self._repo.create_git_commit(message, tree, [self._repo.get_git_commit(self.head)])
            try:
                self._repo.create_git_ref(f"refs/heads/{branch}", commit.sha)
            except GithubException as exc:
                if exc.status != 422:  # 422: the branch exists (an earlier attempt): move it
                    raise
                ref = self._repo.get_git_ref(f"heads/{branch}")
                _ = ref.object  # load it, so the update goes to the ref's canonical URL
                ref.edit(commit.sha, force=True)
        except GithubException as exc:
            raise _translate(exc, f"publishing {branch}") from exc
        return commit.sha

    def use_branch(self, branch: str) -> None:
        """Read from, and publish on top of, ``branch``'s head instead of the default head (a repair
        commit goes on the failed fix's branch)."""
        try:
            self.head = self._repo.get_branch(branch).commit.sha
            tree = self._repo.get_git_tree(self.head, recursive=True)
        except GithubException as exc:
            raise _translate(exc, f"reading branch {branch}") from exc
        self._entries = {e.path: (e.mode, e.sha) for e in tree.tree if e.type == "blob"}
        self._blobs = {path: sha for path, (mode, sha) in self._entries.items() if mode in REGULAR}
        self._cache = {}

    def __enter__(self) -> GitHubRepository:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class GitHubPullRequests:
    """One pull request per branch: opened once, then updated."""

    def __init__(self, full_name: str, token: str, base_url: str = "", paced: bool = True) -> None:
        self._name = full_name
        self._token = token
        self._base_url = base_url
        self._paced = paced
        self._repo: Any = None
        self.reviews: dict[str, ReviewRequest] = {}  # by branch: what the last review request did

    def _repository(self) -> Any:
        if self._repo is None:
            self._repo = _client(self._token, self._base_url, self._paced).get_repo(self._name)
        return self._repo

    def open_or_update(  # noqa: PLR0913 - the Protocol's arguments, and the reviewers
        self,
        branch: str,
        base: str,
        title: str,
        body: str,
        draft: bool,
        labels: Sequence[str],
        reviewers: Reviewers | None = None,
    ) -> str:
        """The URL of the branch's open PR, opened or updated (title, body, labels; a PR that must now
        be a draft is converted, one that was a draft stays one). ``reviewers`` are requested
        afterwards; what happened is in ``reviews[branch]`` and a refusal never fails the call."""
        repo = self._repository()
        owner = self._name.split("/", 1)[0]
        try:
            existing = list(repo.get_pulls(state="open", head=f"{owner}:{branch}"))
            if existing:
                pr = existing[0]
                pr.edit(title=title, body=body)
            else:
                try:
                    pr = repo.create_pull(base=base, head=branch, title=title, body=body, draft=draft)
                except GithubException as exc:
                    if exc.status != 422:
                        raise
                    # "A pull request already exists": opened by a concurrent attempt.
                    found = list(repo.get_pulls(state="open", head=f"{owner}:{branch}"))
                    if not found:
                        raise
                    pr = found[0]
                    pr.edit(title=title, body=body)
            if draft and not pr.draft:
                # REST cannot turn a PR back into a draft; GraphQL convertPullRequestToDraft can.
                pr.convert_to_draft()
            if labels:
                pr.add_to_labels(*labels)
        except GithubException as exc:
            raise _translate(exc, f"pull request for {branch}") from exc
        if reviewers:
            try:
                self.reviews[branch] = self._request_reviews(pr, reviewers)
            except RequestException as exc:  # the network, after PyGithub's retries: the PR exists
                log.warning("review request for %s failed: %s", branch, exc, exc_info=True)
                failed = tuple(f"{name}: {type(exc).__name__}" for name in reviewers.names())
                self.reviews[branch] = ReviewRequest(refused=failed)
        return str(pr.html_url)

    # --- what else selfheal does on an open PR: comments -----------------------------------------

    def comment(self, pr_url: str, body: str) -> None:
        """Comment on the PR ``pr_url`` (POST /repos/{owner}/{repo}/issues/{number}/comments).
        Best effort: a refusal or an outage is logged, never raised (what the comment says is
        recorded on the group too)."""
        number = pr_number(pr_url)
        if not number:
            log.warning("not a pull request URL: %s", pr_url)
            return
        try:
            self._repository().get_pull(number).create_issue_comment(body)
        except (GithubException, RequestException) as exc:
            log.warning("comment on %s failed: %s", pr_url, exc)

    def ready_for_review(self, pr_url: str, reviewers: Reviewers | None = None, ready: bool = True) -> None:
        """Mark the draft PR ready for review (GraphQL markPullRequestReadyForReview: REST cannot) and
        request ``reviewers`` now; with ``ready`` False the PR stays a draft and the reviewers are
        only asked. What the request did is in ``reviews[<head branch>]``."""
        number = pr_number(pr_url)
        try:
            pr = self._repository().get_pull(number)
            if ready and pr.draft:
                pr.mark_ready_for_review()
        except GithubException as exc:
            raise _translate(exc, f"marking pull request {number} ready") from exc
        except RequestException as exc:
            raise TransientError(f"GitHub marking pull request {number} ready: {type(exc).__name__}") from exc
        if reviewers:
            try:
                self.reviews[str(pr.head.ref)] = self._request_reviews(pr, reviewers)
            except RequestException as exc:
                log.warning("review request for %s failed: %s", pr_url, exc)

    def _request_reviews(self, pr: Any, reviewers: Reviewers) -> ReviewRequest:
        """Request ``reviewers`` on ``pr``; never raises (the PR exists, the fix is done).

        Left out before asking: the PR's author (the token's user: GitHub answers 422 "Review
        cannot be requested from pull request author"), teams of another organisation (the API
        takes slugs of the repository owner's teams only) and any beyond MAX_REVIEWERS. Those the
        PR already has count as requested without a call. One 422 ("Reviews may only be requested
        from collaborators…") refuses the whole request, so then each reviewer is asked alone and
        the valid ones are still requested. https://docs.github.com/en/rest/pulls/review-requests
        """
        owner = self._name.split("/", 1)[0]
        try:
            author = str(pr.user.login) if pr.user is not None else ""
            had = {u.login.lower() for u in pr.requested_reviewers or []}
            had |= {f"@{t.slug.lower()}" for t in pr.requested_teams or []}
        except (GithubException, AttributeError) as exc:
            log.warning("could not read the PR's author and reviewers: %s", exc)
            author, had = "", set()
        users, teams, notes = _askable(reviewers, author, owner)
        kept_users = [u for u in users if u.lower() in had]
        kept_teams = [t for t in teams if f"@{t.lower()}" in had]
        new_users = [u for u in users if u not in kept_users]
        new_teams = [t for t in teams if t not in kept_teams]
        refused: list[str] = []
        if new_users or new_teams:
            new_users, new_teams = self._ask(pr, new_users, new_teams, owner, refused)
        if refused:
            log.warning("review request refused: %s", "; ".join(refused))
        requested = Reviewers(
            tuple(sorted([*kept_users, *new_users], key=str.lower)),
            tuple(sorted((f"{owner}/{t}" for t in [*kept_teams, *new_teams]), key=str.lower)),
        )
        return ReviewRequest(requested, tuple(refused), tuple(notes))

    @staticmethod
    def _ask(
        pr: Any, users: list[str], teams: list[str], owner: str, refused: list[str]
    ) -> tuple[list[str], list[str]]:
        """One request for all; after a 422 on several, one request each. The ones GitHub
        accepted; each refusal is appended to ``refused`` in GitHub's words."""
        try:
            pr.create_review_request(reviewers=users, team_reviewers=teams)
        except GithubException as exc:
            if exc.status != 422 or len(users) + len(teams) == 1:
                refused += [f"{name}: {_message(exc)}" for name in [*users, *(f"@{owner}/{t}" for t in teams)]]
                return [], []
        else:
            return users, teams
        ok_users: list[str] = []
        ok_teams: list[str] = []
        for kind, name in [*(("user", u) for u in users), *(("team", t) for t in teams)]:
            try:
                if kind == "user":
                    pr.create_review_request(reviewers=[name])
                else:
                    pr.create_review_request(team_reviewers=[name])
            except GithubException as exc:
                refused.append(f"{name if kind == 'user' else f'@{owner}/{name}'}: {_message(exc)}")
            else:
                (ok_users if kind == "user" else ok_teams).append(name)
        return ok_users, ok_teams


def pr_number(pr_url: str) -> int:
    """The number of a pull request from its html_url (``…/pull/42``); 0 when it has none."""
    tail = pr_url.rstrip("/").rsplit("/pull/", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else 0  # noqa: PLR2004


def _askable(reviewers: Reviewers, author: str, owner: str) -> tuple[list[str], list[str], list[str]]:
    """The logins and team slugs that may be asked on a PR of ``owner``'s repository opened by
    ``author``, at most MAX_REVIEWERS of them, and notes on who was left out and why."""
    notes: list[str] = []
    wanted = reviewers.without(author)
    if wanted.users != reviewers.users:
        notes.append(f"{author}: the PR's author (the token's user) cannot review it")
    teams: list[str] = []
    for team in wanted.teams:
        org, _, slug = team.partition("/")
        if org.lower() == owner.lower():
            teams.append(slug)
        else:
            notes.append(f"@{team}: a team of another organisation than {owner} cannot be requested")
    users = list(wanted.users)
    if len(users) + len(teams) > MAX_REVIEWERS:
        notes.append(f"{len(users) + len(teams) - MAX_REVIEWERS} reviewer(s) beyond {MAX_REVIEWERS} left out")
        users = users[:MAX_REVIEWERS]
        teams = teams[: MAX_REVIEWERS - len(users)]
    return users, teams, notes


def _message(exc: GithubException) -> str:
    """GitHub's own words for a refusal (``message`` of the error body), bounded and redacted."""
    data = exc.data if isinstance(exc.data, dict) else {}
    return redact(f"{exc.status} {data.get('message') or exc.data}"[:300])


@dataclass(frozen=True)
class PullState:
    """A pull request's state as GitHub reports it."""

    state: str  # "open" or "closed"
    merged: bool
    merged_at: int = 0  # epoch ms


WRITE_ROLES = frozenset({"admin", "maintain", "write"})
MAX_WORDS = 5  # reviews and comments kept as the reviewer's reason
MAX_LOGINS_CHECKED = 20  # permission reads per reviewer_words call
MAX_ANNOTATIONS = 20  # a failing check run's annotations read (core/checks.py bounds the text)
_COMMAND_PREFIX = "/selfheal"


def _ms(moment: Any) -> int:
    return int(moment.timestamp() * 1000) if moment is not None else 0


class GitHubReads:
    """What the pull request's fate needs from GitHub: a PR's state, what its reviewers said, and
    whether a commenter may command selfheal. Reads only; ``timeout`` bounds each request (the lazy
    path runs inside log_processor)."""

    def __init__(  # noqa: PLR0913 - where and how to reach GitHub
        self, full_name: str, token: str, base_url: str = "", paced: bool = True, timeout: int = 10, retry: int = 1
    ) -> None:
        self._name = full_name
        self._token = token
        self._base_url = base_url
        self._paced = paced
        self._timeout = timeout
        self._retry = retry
        self._repo: Any = None

    def _repository(self) -> Any:
        if self._repo is None:
            if not self._token:
                raise ConfigError("reading pull requests needs a token (SSM parameter github_token)")
            pacing: dict[str, Any] = (
                {} if self._paced else {"seconds_between_requests": None, "seconds_between_writes": None}
            )
            # lazy: the repository is not fetched; each read below is one request
            client = Github(
                auth=Auth.Token(self._token), base_url=self._base_url or DEFAULT_BASE_URL,
                retry=self._retry, timeout=self._timeout, lazy=True, **pacing,
            )  # fmt: skip
            self._repo = client.get_repo(self._name)
        return self._repo

    def pull(self, number: int) -> PullState:
        """The state of pull request ``number``; TransientError / ConfigError / NotFound as GitHub answers."""
        try:
            pr = self._repository().get_pull(number)
            return PullState(str(pr.state), bool(pr.merged), _ms(pr.merged_at))
        except GithubException as exc:
            raise _translate(exc, f"reading pull request {number}") from exc
        except RequestException as exc:
            raise TransientError(f"GitHub reading pull request {number}: {type(exc).__name__}") from exc

    def reviewer_words(self, number: int, limit: int = MAX_WORDS) -> str:
        """The last ``limit`` reviews (with a body or a verdict) and comments on pull request
        ``number`` by people with write access to the repository, oldest first, one paragraph each
        (``@login (review CHANGES_REQUESTED): text``); selfheal commands are left out. The words of
        others (anyone may comment on a public repository) never reach the next prompt: they are
        dropped and counted in a last paragraph. Redacted; '' when nobody said anything."""
        try:
            pr = self._repository().get_pull(number)
            said: list[tuple[int, str, str]] = []
            for review in pr.get_reviews():
                body = (review.body or "").strip()
                if body or review.state == "CHANGES_REQUESTED":
                    who = review.user.login if review.user is not None else ""
                    said.append(
                        (_ms(review.submitted_at), who, f"@{who or '?'} (review {review.state}): {body or '-'}")
                    )
            for comment in pr.get_issue_comments():
                body = (comment.body or "").strip()
                if body and not body.startswith(_COMMAND_PREFIX):
                    who = comment.user.login if comment.user is not None else ""
                    said.append((_ms(comment.created_at), who, f"@{who or '?'} (comment): {body}"))
        except GithubException as exc:
            raise _translate(exc, f"reading reviews of pull request {number}") from exc
        except RequestException as exc:
            raise TransientError(f"GitHub reading reviews of {number}: {type(exc).__name__}") from exc
        said.sort(key=lambda entry: entry[0])
        kept, dropped = self._writers_words(said, limit)
        if dropped:
            kept.append(f"[{dropped} review(s) or comment(s) by people without write access left out]")
        return redact("\n\n".join(kept))

    def _writers_words(self, said: list[tuple[int, str, str]], limit: int) -> tuple[list[str], int]:
        """(the last ``limit`` texts by writers, oldest first; how many by others were dropped).

        Read newest first, one permission read per login, at most ``MAX_LOGINS_CHECKED`` logins: a
        crowd of commenters cannot cost unbounded reads (those beyond it count as dropped)."""
        allowed: dict[str, bool] = {}
        kept: list[str] = []
        dropped = 0
        for _, who, text in reversed(said):
            if len(kept) >= limit:
                break
            if who not in allowed:
                allowed[who] = len(allowed) < MAX_LOGINS_CHECKED and self.may_command(who)
            if allowed[who]:
                kept.append(text)
            else:
                dropped += 1
        return kept[::-1], dropped

    def permission(self, login: str) -> str:
        """The commenter's permission on the repository (``admin``, ``maintain``, ``write``,
        ``triage``, ``read`` or ``none``): GET /repos/{owner}/{repo}/collaborators/{user}/permission.
        A user GitHub does not know has ``none``."""
        try:
            return str(self._repository().get_collaborator_permission(login))
        except GithubException as exc:
            if exc.status == 404:
                return "none"
            raise _translate(exc, f"reading the permission of {login}") from exc
        except RequestException as exc:
            raise TransientError(f"GitHub reading a permission: {type(exc).__name__}") from exc

    def may_command(self, login: str) -> bool:
        """True when ``login`` has write access (admin, maintain or write) to the repository."""
        return bool(login) and self.permission(login) in WRITE_ROLES

    # --- CI is the judge (usecases/checks.py): the head's checks, and the PR's actions ----------

    def check_runs(self, sha: str) -> list[CheckRun]:
        """Every check of commit ``sha``: its check runs (GET /commits/{sha}/check-runs; a failing
        run's output and first MAX_ANNOTATIONS annotations) and its commit statuses (GET
        /commits/{sha}/status), as CheckRuns. TransientError / ConfigError as GitHub answers."""
        try:
            commit = self._repository().get_commit(sha)
            found: list[CheckRun] = []
            for run in commit.get_check_runs():
                output = run.output
                failing = CheckRun(run.name, str(run.status), str(run.conclusion or ""))
                notes = ""
                if failing.failed:
                    notes = "\n".join(
                        f"{a.path}:{a.start_line}: {a.annotation_level}: {a.message}"
                        for _, a in zip(range(MAX_ANNOTATIONS), run.get_annotations(), strict=False)
                    )
                found.append(CheckRun(
                    run.name, str(run.status), str(run.conclusion or ""),
                    title=str(getattr(output, "title", "") or ""), summary=str(getattr(output, "summary", "") or ""),
                    text="\n".join(x for x in (str(getattr(output, "text", "") or ""), notes) if x),
                ))  # fmt: skip
            for status in commit.get_combined_status().statuses:
                state = str(status.state)
                done = state != "pending"
                found.append(CheckRun(
                    str(status.context), "completed" if done else "in_progress", state if done else "",
                    title=str(status.description or ""), summary=str(status.target_url or ""),
                ))  # fmt: skip
        except GithubException as exc:
            raise _translate(exc, f"reading the checks of {sha[:12]}") from exc
        except RequestException as exc:
            raise TransientError(f"GitHub reading the checks of {sha[:12]}: {type(exc).__name__}") from exc
        return found

    def _pulls(self) -> GitHubPullRequests:
        return GitHubPullRequests(self._name, self._token, self._base_url, self._paced)

    def ready_for_review(self, pr_url: str, reviewers: Reviewers | None = None, ready: bool = True) -> None:
        """Mark the draft PR ready for review and request ``reviewers`` (GitHubPullRequests')."""
        self._pulls().ready_for_review(pr_url, reviewers, ready)

    def comment(self, pr_url: str, body: str) -> None:
        """Comment on the PR (GitHubPullRequests'; best effort)."""
        self._pulls().comment(pr_url, body)
