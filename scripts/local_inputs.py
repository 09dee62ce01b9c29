"""`selfheal local`: its inputs checked before anything starts.

Each check returns one line saying what is wrong and what to do ('' when the input is usable):
the command prints it and exits non-zero before a server starts or a log line is read, so a
mistyped path never turns into a page of tracebacks from deep inside the pipeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence


def log_files_problem(logs: Sequence[str]) -> str:
    """Every ``--logs`` file exists and can be read."""
    for name in logs:
        path = Path(name).expanduser()
        if not path.exists():
            return f"log file {name} does not exist: give the path of a log file you exported (--logs FILE)"
        if not path.is_file():
            return f"log file {name} is not a file: give one --logs FILE per log file"
        try:
            with path.open("rb") as handle:
                handle.read(1)
        except OSError as exc:
            return f"log file {name} cannot be read: {exc.strerror or exc}"
    return ""


def repo_problem(repo: str, github_token: str) -> str:
    """``--repo`` names a repository the fixer can read: a local git repository (work tree or
    bare) with at least one commit, or a GitHub repository with a token."""
    from chalicelib.core.repos import RepoUrlError, parse_repo_url

    try:
        ref = parse_repo_url(repo)
    except RepoUrlError as exc:
        return f"--repo: {exc}"
    if ref.kind == "github" and not github_token:
        return f"--repo {repo} is on GitHub: give a token with --github-token or $GITHUB_TOKEN, or a local clone"
    if ref.kind != "local":
        return ""
    return local_repo_problem(Path(ref.url).expanduser(), repo)


def local_repo_problem(path: Path, shown: str) -> str:
    """A local path is a git repository with a commit on its current branch."""
    import git

    if not path.exists():
        return f"--repo {shown} does not exist: give the path of your service's git repository"
    try:
        repo = git.Repo(path)
    except git.InvalidGitRepositoryError:
        return (
            f"--repo {shown} is not a git repository: run `git init && git add -A && git commit` there, or give a clone"
        )
    except git.GitError as exc:
        return f"--repo {shown} cannot be opened as a git repository: {exc}"
    if not repo.head.is_valid():
        return f"--repo {shown} has no commit yet: commit your code first (the fix branches start from it)"
    return ""


def replay_problem(model: str) -> str:
    """A ``replay:FILE`` model reads as a replay file (the adapter's own check, so the message
    is the one a run would give, but before the run)."""
    from chalicelib.adapters.bedrock import ReplayModel
    from chalicelib.errors import ConfigError

    path = model.removeprefix("replay:")
    if not Path(path).expanduser().is_file():
        return f"replay file {path} does not exist: write one (local --answer-template FINGERPRINT prints one)"
    try:
        ReplayModel(Path(path).expanduser(), announce=lambda _: None)
    except ConfigError as exc:
        return f"{exc}: fix the file (local --answer-template FINGERPRINT prints a valid answer)"
    return ""


def bedrock_problem(region: str | None, session: Any = None) -> str:
    """A real model needs the user's AWS credentials and a region (everything else stays local)."""
    import boto3

    session = session or boto3.session.Session()
    if session.get_credentials() is None:
        return (
            "--model-id calls Amazon Bedrock and needs your AWS credentials: none found "
            "(set AWS_PROFILE, or run `aws configure` / `aws sso login`)"
        )
    if not (region or session.region_name):
        return "--model-id needs the AWS region of your Bedrock model access: pass --region or set AWS_REGION"
    return ""


def local_problem(args: argparse.Namespace) -> str:
    """The first problem with a plain ``local`` run's arguments ('' when there is none)."""
    if args.logs and not args.repo:
        return (
            "--logs needs --repo (the git repository the traces come from); without both, local runs the bundled sample"
        )
    if args.repo and not args.logs and not args.answer_template:
        return "--repo needs --logs (the log file(s) with your service's tracebacks)"
    if args.model and args.model_id:
        return "give --model or --model-id, not both"
    if problem := log_files_problem(args.logs):
        return problem
    if args.repo and (problem := repo_problem(args.repo, args.github_token or "")):
        return problem
    model = args.model_id or args.model or ""
    if model.startswith("replay:"):
        return replay_problem(model)
    if model:
        return bedrock_problem(args.region)
    return ""


def services_problem(path: str) -> str:
    """``--services FILE`` exists."""
    if not Path(path).expanduser().is_file():
        return f'services file {path} does not exist: give a JSON file {{"services": [...]}} (see docs/local.md)'
    return ""
