"""A small local HTTP server that answers like GitHub's REST API for the endpoints selfheal uses.

Repository state is kept in memory (blobs, flat trees, commits, refs, pulls, labels, and for the
pull request's fate: merges, reviews, issue comments, collaborators' permissions). Status codes
and error bodies follow GitHub's documentation: 401 without the token, 404 for unknown objects,
422 "Reference already exists" and "A pull request already exists for owner:branch".
URLs in answers point back at this server (PyGithub checks their host against ``base_url``).
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

PREFIX = "/api/v3"  # GitHub Enterprise style base_url
NOT_FOUND = (404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})


def _sha(kind: str, data: Any) -> str:
    return hashlib.sha1(f"{kind}:{json.dumps(data, sort_keys=True)}".encode()).hexdigest()  # noqa: S324


class FakeGitHub:
    """State of one repository ``owner/name`` and the HTTP server serving it."""

    def __init__(
        self,
        owner: str,
        name: str,
        files: dict[str, str],
        token: str = "ghp_" + "t" * 36,
        modes: dict[str, str] | None = None,
    ) -> None:
        """``files`` are the default branch's blobs (path → text); ``modes`` gives some of them another
        tree mode than 100644 (100755 executable, 120000 a symbolic link whose text is its target)."""
        self.owner, self.name, self.token = owner, name, token
        self.blobs: dict[str, bytes] = {}
        self.trees: dict[str, dict[str, dict[str, str]]] = {}
        self.commits: dict[str, dict[str, Any]] = {}
        self.refs: dict[str, str] = {}
        self.pulls: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.stale_pull_lists = 0  # answer this many pull listings with [] (a replica lagging behind)
        self.author = "selfheal-bot"  # the token's user: the author of every PR it opens
        self.collaborators: set[str] | None = None  # logins that may be requested (None: anyone)
        self.teams: set[str] | None = None  # team slugs with access (None: any)
        self.unavailable = 0  # answer this many next requests 503 (GitHub having a bad minute)
        self.reviews: dict[int, list[dict[str, Any]]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.permissions: dict[str, str] = {owner: "admin"}  # login → admin | maintain | write | triage | read
        # CI: check runs and commit statuses by commit sha (what a CI app would have reported).
        self.check_runs: dict[str, list[dict[str, Any]]] = {}
        self.statuses: dict[str, list[dict[str, Any]]] = {}
        modes = modes or {}
        entries = {
            p: {"path": p, "mode": modes.get(p, "100644"), "type": "blob", "sha": self._blob(t.encode())}
            for p, t in files.items()
        }
        tree = self._tree(entries)
        self.refs["heads/main"] = self._commit("initial", tree, [])
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}{PREFIX}"
        # A short poll: stop() waits for serve_forever to notice, up to one interval (0.5 s by default).
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # --- state ----------------------------------------------------------------------------------

    def _blob(self, data: bytes) -> str:
        sha = _sha("blob", base64.b64encode(data).decode())
        self.blobs[sha] = data
        return sha

    def _tree(self, entries: dict[str, dict[str, str]]) -> str:
        sha = _sha("tree", entries)
        self.trees[sha] = entries
        return sha

    def _commit(self, message: str, tree: str, parents: list[str]) -> str:
        sha = _sha("commit", [message, tree, parents, len(self.commits)])
        self.commits[sha] = {"message": message, "tree": tree, "parents": parents}
        return sha

    def push(self, files: dict[str, str | None], message: str, branch: str = "main") -> str:
        """A commit on ``branch`` changing ``files`` (None deletes one), as a developer's push."""
        head = self.refs[f"heads/{branch}"]
        entries = dict(self.trees[self.commits[head]["tree"]])
        for path, text in files.items():
            if text is None:
                entries.pop(path, None)
            else:
                entries[path] = {"path": path, "mode": "100644", "type": "blob", "sha": self._blob(text.encode())}
        self.refs[f"heads/{branch}"] = sha = self._commit(message, self._tree(entries), [head])
        return sha

    def mode_at(self, ref: str, path: str) -> str | None:
        """A tree entry's mode at a branch (for assertions)."""
        entry = self.trees[self.commits[self.refs[f"heads/{ref}"]]["tree"]].get(path)
        return entry["mode"] if entry else None

    def file_at(self, ref: str, path: str) -> str | None:
        """A file's text at a branch (for assertions)."""
        commit = self.refs.get(f"heads/{ref}")
        if commit is None:
            return None
        entry = self.trees[self.commits[commit]["tree"]].get(path)
        return self.blobs[entry["sha"]].decode() if entry else None

    # --- the pull request's fate: what people do on GitHub ------------------------------------------

    def _pull(self, number: int) -> dict[str, Any]:
        return next(p for p in self.pulls if p["number"] == number)

    def open_pull(self, head: str, body: str, title: str = "Fix an error seen in production") -> str:
        """A pull request from ``head`` (a branch at main's head) as selfheal opens it; returns its html_url."""
        self.refs.setdefault(f"heads/{head}", self.refs["heads/main"])
        pr = {
            "number": len(self.pulls) + 1, "state": "open", "title": title, "body": body, "draft": False,
            "head_ref": head, "base_ref": "main", "labels": [], "merged": False, "merged_at": None, "closed_at": None,
        }  # fmt: skip
        self.pulls.append(pr)
        return str(self._pull_json(pr)["html_url"])

    def merge(self, number: int, at: str = "2026-11-20T10:00:00Z") -> None:
        """A maintainer merges pull request ``number`` (the state GitHub then reports)."""
        self._pull(number).update({"state": "closed", "merged": True, "merged_at": at, "closed_at": at})

    def close(self, number: int, at: str = "2026-11-20T10:00:00Z") -> None:
        """A maintainer closes pull request ``number`` without merging it."""
        self._pull(number).update({"state": "closed", "merged": False, "merged_at": None, "closed_at": at})

    def review(self, number: int, login: str, state: str, body: str, at: str = "2026-11-20T09:00:00Z") -> None:
        """``login`` submits a review (APPROVED, CHANGES_REQUESTED or COMMENTED) on pull request ``number``."""
        found = self.reviews.setdefault(number, [])
        found.append({"id": 8000 + len(found), "login": login, "state": state, "body": body, "at": at})

    def comment(self, number: int, login: str, body: str, at: str = "2026-11-20T09:30:00Z") -> None:
        """``login`` comments on pull request ``number`` (an issue comment)."""
        found = self.comments.setdefault(number, [])
        found.append({"id": 9000 + len(found), "login": login, "body": body, "at": at})

    def add_check_run(  # noqa: PLR0913 - a check run's parts
        self,
        sha: str,
        name: str,
        conclusion: str | None,
        status: str = "completed",
        title: str = "",
        summary: str = "",
        text: str = "",
        annotations: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A CI app reports a check run on commit ``sha`` (GitHub's check run object)."""
        run_id = 4000 + sum(len(v) for v in self.check_runs.values())
        run = {
            "id": run_id, "node_id": f"CR_{run_id}", "head_sha": sha, "name": name, "status": status,
            "conclusion": conclusion, "url": self._url(f"/check-runs/{run_id}"),
            "html_url": f"https://github.example/{self.owner}/{self.name}/runs/{run_id}",
            "started_at": "2026-11-20T09:00:00Z",
            "completed_at": "2026-11-20T09:05:00Z" if status == "completed" else None,
            "output": {"title": title, "summary": summary, "text": text, "annotations_count": len(annotations or []),
                       "annotations_url": self._url(f"/check-runs/{run_id}/annotations")},
            "check_suite": {"id": 5000}, "app": {"slug": "ci", "name": "CI"}, "pull_requests": [],
            "annotations": annotations or [],
        }  # fmt: skip
        self.check_runs.setdefault(sha, []).append(run)
        return run

    def add_status(self, sha: str, context: str, state: str, description: str = "") -> None:
        """A CI service sets a commit status on ``sha`` (success, failure, error or pending)."""
        self.statuses.setdefault(sha, []).append({
            "id": 6000 + len(self.statuses.get(sha, [])), "state": state, "context": context,
            "description": description, "target_url": f"https://ci.example/{context}",
            "created_at": "2026-11-20T09:00:00Z", "updated_at": "2026-11-20T09:00:00Z",
        })  # fmt: skip

    def head_of(self, branch: str) -> str:
        """The commit ``branch`` points at."""
        return self.refs[f"heads/{branch}"]

    def checks_answer(self, method: str, tail: str) -> tuple[int, Any] | None:
        """Check runs, their annotations and the combined status of a commit, as GitHub's REST API
        answers them (https://docs.github.com/en/rest/checks/runs, /commits/statuses); None for any
        other request."""
        if method != "GET":
            return None
        if m := re.fullmatch(r"/commits/(\w+)/check-runs", tail):
            runs = [{k: v for k, v in r.items() if k != "annotations"} for r in self.check_runs.get(m[1], [])]
            return 200, {"total_count": len(runs), "check_runs": runs}
        if m := re.fullmatch(r"/commits/(\w+)/status", tail):
            found = self.statuses.get(m[1], [])
            states = {s["state"] for s in found}
            state = "failure" if states & {"failure", "error"} else "success"
            state = "pending" if state == "success" and ("pending" in states or not found) else state
            return 200, {
                "state": state, "sha": m[1], "total_count": len(found), "statuses": found,
                "url": self._url(f"/commits/{m[1]}/status"), "commit_url": self._url(f"/commits/{m[1]}"),
            }  # fmt: skip
        if m := re.fullmatch(r"/check-runs/(\d+)/annotations", tail):
            run = next((r for rs in self.check_runs.values() for r in rs if r["id"] == int(m[1])), None)
            return (200, run["annotations"]) if run else NOT_FOUND
        return None

    def _user(self, login: str) -> dict[str, Any]:
        return {"login": login, "id": abs(hash(login)) % 10**8, "type": "User", "url": f"{self.base_url}/users/{login}"}

    def fate_answer(self, method: str, tail: str) -> tuple[int, Any] | None:
        """Reviews, issue comments and collaborator permissions, as GitHub's REST API answers them
        (https://docs.github.com/en/rest/pulls/reviews, /issues/comments, /collaborators); None for
        any other request."""
        if method != "GET":
            return None
        if m := re.fullmatch(r"/pulls/(\d+)/reviews", tail):
            n = int(m[1])
            return 200, [
                {
                    "id": r["id"], "node_id": f"PRR_{r['id']}", "user": self._user(r["login"]), "body": r["body"],
                    "state": r["state"], "submitted_at": r["at"], "commit_id": self.refs.get("heads/main"),
                    "html_url": f"https://github.example/{self.owner}/{self.name}/pull/{n}#pullrequestreview-{r['id']}",
                    "pull_request_url": self._url(f"/pulls/{n}"),
                }
                for r in self.reviews.get(n, [])
            ]  # fmt: skip
        if m := re.fullmatch(r"/issues/(\d+)/comments", tail):
            n = int(m[1])
            return 200, [
                {
                    "id": c["id"], "node_id": f"IC_{c['id']}", "user": self._user(c["login"]), "body": c["body"],
                    "created_at": c["at"], "updated_at": c["at"], "url": self._url(f"/issues/comments/{c['id']}"),
                    "html_url": f"https://github.example/{self.owner}/{self.name}/pull/{n}#issuecomment-{c['id']}",
                    "issue_url": self._url(f"/issues/{n}"), "author_association": "NONE",
                }
                for c in self.comments.get(n, [])
            ]  # fmt: skip
        if m := re.fullmatch(r"/collaborators/([^/]+)/permission", tail):
            login = m[1]
            if login.startswith("ghost-"):  # a login GitHub does not know
                return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
            permission = self.permissions.get(login, "read")
            legacy = {"maintain": "write", "triage": "read"}.get(permission, permission)
            return 200, {"permission": legacy, "role_name": permission, "user": self._user(login)}
        return None

    # --- HTTP -----------------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gh = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _route(self, method: str) -> None:
                auth = self.headers.get("Authorization", "")
                if auth not in (f"token {gh.token}", f"Bearer {gh.token}"):
                    self._send(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
                    return
                parsed = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null") if length else None
                gh.requests.append((method, parsed.path))
                if gh.unavailable > 0:
                    gh.unavailable -= 1
                    self._send(503, {"message": "Service Unavailable"})
                    return
                status, answer = gh.answer(method, parsed.path, parse_qs(parsed.query), body)
                self._send(status, answer)

            def do_GET(self) -> None:  # noqa: N802
                self._route("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._route("POST")

            def do_PATCH(self) -> None:  # noqa: N802
                self._route("PATCH")

        return Handler

    def _url(self, tail: str) -> str:
        return f"{self.base_url}/repos/{self.owner}/{self.name}{tail}"

    def _commit_json(self, sha: str) -> dict[str, Any]:
        c = self.commits[sha]
        return {
            "sha": sha,
            "url": self._url(f"/git/commits/{sha}"),
            "message": c["message"],
            "tree": {"sha": c["tree"], "url": self._url(f"/git/trees/{c['tree']}")},
            "parents": [{"sha": p, "url": self._url(f"/git/commits/{p}")} for p in c["parents"]],
        }

    def _tree_json(self, sha: str) -> dict[str, Any]:
        return {
            "sha": sha,
            "url": self._url(f"/git/trees/{sha}"),
            "truncated": False,
            "tree": [
                {**e, "size": len(self.blobs[e["sha"]]), "url": self._url(f"/git/blobs/{e['sha']}")}
                for e in self.trees[sha].values()
            ],
        }

    def _ref_json(self, ref: str) -> dict[str, Any]:
        sha = self.refs[ref]
        return {
            "ref": f"refs/{ref}",
            "url": self._url(f"/git/refs/{ref}"),
            "object": {"sha": sha, "type": "commit", "url": self._url(f"/git/commits/{sha}")},
        }

    def graphql(self, body: Any) -> tuple[int, Any]:
        """The GraphQL mutations selfheal sends (REST can do neither): convertPullRequestToDraft and
        markPullRequestReadyForReview."""
        node = ((body or {}).get("variables") or {}).get("input", {}).get("pullRequestId")
        pr = next((p for p in self.pulls if f"PR_{p['number']}" == node), None)
        query = (body or {}).get("query", "")
        mutation = next((m for m in ("convertPullRequestToDraft", "markPullRequestReadyForReview") if m in query), "")
        if not mutation or pr is None:
            return 200, {
                "errors": [{"type": "NOT_FOUND", "message": f"Could not resolve to a node with the id {node}"}]
            }
        pr["draft"] = mutation == "convertPullRequestToDraft"
        return 200, {"data": {mutation: {"clientMutationId": None, "pullRequest": {"isDraft": pr["draft"]}}}}

    def _pull_json(self, pr: dict[str, Any]) -> dict[str, Any]:
        n = pr["number"]
        return {
            **pr,
            "node_id": f"PR_{n}",
            "url": self._url(f"/pulls/{n}"),
            "issue_url": self._url(f"/issues/{n}"),
            "html_url": f"https://github.example/{self.owner}/{self.name}/pull/{n}",
            "head": {
                "ref": pr["head_ref"],
                "label": f"{self.owner}:{pr['head_ref']}",
                "sha": self.refs.get(f"heads/{pr['head_ref']}"),
            },
            "base": {"ref": pr["base_ref"], "label": f"{self.owner}:{pr['base_ref']}"},
            "user": {"login": self.author},
            "requested_reviewers": [{"login": u} for u in pr.get("reviewers", [])],
            "requested_teams": [{"slug": t, "name": t} for t in pr.get("team_reviewers", [])],
        }

    def request_reviewers(self, method: str, m: re.Match[str], query: Any, body: Any) -> tuple[int, Any]:
        """POST /pulls/{n}/requested_reviewers as GitHub answers it: 201 with the PR, or 422 (and
        nobody requested) when one reviewer is the author or not a collaborator."""
        pr = next((p for p in self.pulls if p["number"] == int(m[1])), None)
        if pr is None:
            return NOT_FOUND
        users, teams = body.get("reviewers") or [], body.get("team_reviewers") or []
        if any(u.lower() == self.author.lower() for u in users):
            return 422, {"message": "Review cannot be requested from pull request author."}
        known = {c.lower() for c in self.collaborators} if self.collaborators is not None else None
        slugs = {t.lower() for t in self.teams} if self.teams is not None else None
        if (known is not None and any(u.lower() not in known for u in users)) or (
            slugs is not None and any(t.lower() not in slugs for t in teams)
        ):
            return 422, {
                "message": "Reviews may only be requested from collaborators. One or more of the users or teams "
                f"you specified is not a collaborator of the {self.owner}/{self.name} repository."
            }
        pr["reviewers"] = sorted({*pr.get("reviewers", []), *users})
        pr["team_reviewers"] = sorted({*pr.get("team_reviewers", []), *teams})
        return 201, self._pull_json(pr)

    # --- routes: (method, tail pattern under /repos/{owner}/{name}) → handler(match, query, body) ---

    def _routes(self) -> list[tuple[str, re.Pattern[str], Any]]:
        return [
            ("GET", re.compile(r""), self._get_repo),
            ("*", re.compile(r"/branches/(.+)"), self._get_branch),
            ("GET", re.compile(r"/git/trees/(\w+)"), self._get_tree),
            ("GET", re.compile(r"/git/blobs/(\w+)"), self._get_blob),
            ("GET", re.compile(r"/git/commits/(\w+)"), self._get_commit),
            ("GET", re.compile(r"/compare/(\w+)\.\.\.(\w+)"), self._compare),
            ("POST", re.compile(r"/git/blobs"), self._post_blob),
            ("POST", re.compile(r"/git/trees"), self._post_tree),
            ("POST", re.compile(r"/git/commits"), self._post_commit),
            ("POST", re.compile(r"/git/refs"), self._post_ref),
            ("*", re.compile(r"/git/refs?/(heads/.+)"), self._ref),
            ("GET", re.compile(r"/pulls"), self._list_pulls),
            ("POST", re.compile(r"/pulls"), self._post_pull),
            ("*", re.compile(r"/pulls/(\d+)"), self._pull_route),
            ("POST", re.compile(r"/issues/(\d+)/labels"), self._post_labels),
            ("POST", re.compile(r"/pulls/(\d+)/requested_reviewers"), self.request_reviewers),
            # What selfheal does on an open PR beyond opening it (comments, checks, ready for review).
            ("POST", re.compile(r"/issues/(\d+)/comments"), self._post_comment),
        ]

    def _post_comment(self, method: str, m: re.Match[str], query: Any, body: Any) -> tuple[int, Any]:
        """POST /issues/{n}/comments: 201 with the comment, its author the token's user."""
        n = int(m[1])
        if not any(p["number"] == n for p in self.pulls):
            return NOT_FOUND
        self.comment(n, self.author, str((body or {}).get("body", "")))
        c = self.comments[n][-1]
        return 201, {
            "id": c["id"], "node_id": f"IC_{c['id']}", "user": self._user(c["login"]), "body": c["body"],
            "created_at": c["at"], "updated_at": c["at"], "url": self._url(f"/issues/comments/{c['id']}"),
            "html_url": f"https://github.example/{self.owner}/{self.name}/pull/{n}#issuecomment-{c['id']}",
            "issue_url": self._url(f"/issues/{n}"), "author_association": "NONE",
        }  # fmt: skip

    def answer(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        """The status and JSON body GitHub would answer ``method path``."""
        repo = f"{PREFIX}/repos/{self.owner}/{self.name}"
        if method == "POST" and path == "/api/graphql":
            return self.graphql(body)
        if not path.startswith(repo):
            return NOT_FOUND
        tail = path[len(repo) :]
        if (fate := self.fate_answer(method, tail)) is not None:
            return fate
        if (checks := self.checks_answer(method, tail)) is not None:
            return checks
        for verb, pattern, handler in self._routes():
            if verb in ("*", method) and (m := pattern.fullmatch(tail)):
                return handler(method, m, query, body)
        return NOT_FOUND

    def _get_repo(self, method: str, m: re.Match[str], query: Any, body: Any) -> tuple[int, Any]:
        return 200, {
            "name": self.name,
            "full_name": f"{self.owner}/{self.name}",
            "owner": {"login": self.owner},
            "default_branch": "main",
            "url": self._url(""),
            "html_url": f"https://github.example/{self.owner}/{self.name}",
        }

    def _get_branch(self, method: str, m: re.Match[str], query: Any, body: Any) -> tuple[int, Any]:
        sha = self.refs.get(f"heads/{m[1]}")
        return (200, {"name": m[1], "commit": self._commit_json(sha)}) if sha else NOT_FOUND

    def _get_tree(self, method: str, m: re.Match[str], query: Any, body: Any) -> tuple[int, Any]:
        sha = self.commits[m[1]]["tree"] if m[1] in self.commits else m[1]  # a commit is a tree-ish
        return (200, self._tree_json(sha)) if sha in self.trees else NOT_FOUND

    def _get_blob(self, method: str, m: re.Match[str], query: Any, body: Any) -> tuple[int, Any]:
        data = self.blobs.get(m[1])
        if data is None:
            return NOT_FOUND
        return 200, {
            "sha": m[1],
            "size": len(data),
            "encoding": "base64",
            "content": base64.b64encode(data).decode(),
            "url": self._url(f"/git/blobs/{m[1]}"),
        }

    def _get_commit(self, method: str, m: re.Match[str], query: Any, body: Any) -> tuple[int, Any]:
        return (200, self._commit_json(m[1])) if m[1] in self.commits else NOT_FOUND

    def _compare(self, method: str, m: re.Match[str], query: Any, body: Any) -> tuple[int, Any]:
        """GET /compare/BASE...HEAD: each changed file's unified ``patch`` (three lines of context,
        no file headers), as https://docs.github.com/en/rest/commits/commits#compare-two-commits."""
        base, head = m[1], m[2]
        if base not in self.commits or head not in self.commits:
            return NOT_FOUND
        old, new = (self.trees[self.commits[c]["tree"]] for c in (base, head))
        files = []
        for path in sorted(set(old) | set(new)):
            a, b = old.get(path), new.get(path)
            if a == b:
                continue
            before = self.blobs[a["sha"]].decode().splitlines() if a else []
            after = self.blobs[b["sha"]].decode().splitlines() if b else []
            patch = "\n".join(list(difflib.unified_diff(before, after, lineterm=""))[2:])
            status = "added" if a is None else "removed" if b is None else "modified"
            files.append({
                "sha": (b or a)["sha"], "filename": path, "status": status, "patch": patch,
                "additions": sum(x.startswith("+") for x in patch.splitlines()),
                "deletions": sum(x.startswith("-") for x in patch.splitlines()),
                "changes": 0, "blob_url": "", "raw_url": "", "contents_url": "",
            })  # fmt: skip
        return 200, {
            "url": self._url(f"/compare/{base}...{head}"), "status": "ahead", "ahead_by": 1, "behind_by": 0,
            "total_commits": 1, "base_commit": {"sha": base}, "merge_base_commit": {"sha": base},
            "commits": [], "files": files,
        }  # fmt: skip

    def _post_blob(self, method: str, m: re.Match[str], query: Any, body: Any) -> tuple[int, Any]:
        raw = base64.b64decode(body["content"]) if body.get("encoding") == "base64" else body["content"].encode()
        sha = self._blob(raw)
        return 201, {"sha": sha, "url": self._url(f"/git/blobs/{sha}")}

    def _post_tree(self, method: str, m: re.Match[str], query: Any, body: Any) -> tuple[int, Any]:
        entries = dict(self.trees.get(body.get("base_tree") or "", {}))
        for e in body["tree"]:
            if e.get("sha") not in self.blobs:
                return 422, {"message": "Invalid tree info", "errors": [{"field": "tree.sha"}]}
            entries[e["path"]] = {"path": e["path"], "mode": e["mode"], "type": e["type"], "sha": e["sha"]}
        return 201, self._tree_json(self._tree(entries))

    def _post_commit(self, method: str, m: re.Match[str], query: Any, body: Any) -> tuple[int, Any]:
        if body["tree"] not in self.trees or any(p not in self.commits for p in body["parents"]):
            return 422, {"message": "Tree SHA does not exist"}
        return 201, self._commit_json(self._commit(body["message"], body["tree"], body["parents"]))

    def _post_ref(self, method: str, m: re.Match[str], query: Any, body: Any) -> tuple[int, Any]:
        ref = body["ref"].removeprefix("refs/")
        if ref in self.refs:
            return 422, {
                "message": "Reference already exists",
                "documentation_url": "https://docs.github.com/rest/git/refs#create-a-reference",
            }
        self.refs[ref] = body["sha"]
        return 201, self._ref_json(ref)

    def _ref(self, method: str, m: re.Match[str], query: Any, body: Any) -> tuple[int, Any]:
        ref = m[1]
        if ref not in self.refs:
            return NOT_FOUND
        if method == "PATCH":
            self.refs[ref] = body["sha"]
        return 200, self._ref_json(ref)

    def _list_pulls(self, method: str, m: re.Match[str], query: Any, body: Any) -> tuple[int, Any]:
        if self.stale_pull_lists > 0:
            self.stale_pull_lists -= 1
            return 200, []
        state = (query.get("state") or ["open"])[0]
        head = (query.get("head") or [""])[0]
        return 200, [
            self._pull_json(p)
            for p in self.pulls
            if p["state"] == state and (not head or f"{self.owner}:{p['head_ref']}" == head)
        ]

    def _post_pull(self, method: str, m: re.Match[str], query: Any, body: Any) -> tuple[int, Any]:
        head = body["head"]
        if f"heads/{head}" not in self.refs:
            return 422, {
                "message": "Validation Failed",
                "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
            }
        if any(p["head_ref"] == head and p["state"] == "open" for p in self.pulls):
            return 422, {
                "message": "Validation Failed",
                "errors": [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"A pull request already exists for {self.owner}:{head}.",
                    }
                ],
            }
        pr = {
            "number": len(self.pulls) + 1,
            "state": "open",
            "title": body["title"],
            "body": body.get("body", ""),
            "draft": bool(body.get("draft")),
            "head_ref": head,
            "base_ref": body["base"],
            "labels": [],
            "merged": False,
            "merged_at": None,
            "closed_at": None,
        }
        self.pulls.append(pr)
        return 201, self._pull_json(pr)

    def _pull_route(self, method: str, m: re.Match[str], query: Any, body: Any) -> tuple[int, Any]:
        pr = next((p for p in self.pulls if p["number"] == int(m[1])), None)
        if pr is None:
            return NOT_FOUND
        if method == "PATCH":
            pr.update({k: v for k, v in body.items() if k in ("title", "body", "state")})
        return 200, self._pull_json(pr)

    def _post_labels(self, method: str, m: re.Match[str], query: Any, body: Any) -> tuple[int, Any]:
        pr = next((p for p in self.pulls if p["number"] == int(m[1])), None)
        if pr is None:
            return NOT_FOUND
        names = body if isinstance(body, list) else body.get("labels", [])
        pr["labels"] = sorted(set(pr["labels"]) | set(names))
        return 200, [{"name": n, "url": self._url(f"/labels/{n}")} for n in pr["labels"]]
