"""CODEOWNERS by GitHub's rules: where the file is, how patterns match, which line wins, who can be
requested. Cases come from GitHub's "About code owners" example and from real files (cpython)."""

from __future__ import annotations

import time

import pytest

from chalicelib.core.codeowners import (
    MAX_BYTES,
    Reviewers,
    choose,
    compile_pattern,
    configured_reviewers,
    find,
    owners_of,
    parse,
)

# GitHub's documented example (docs.github.com, "About code owners"), comments shortened.
GITHUB_EXAMPLE = """\
# This is a comment.
*       @global-owner1 @global-owner2
*.js    @js-owner #This is an inline comment.
*.go docs@example.com
*.txt @octo-org/octocats
/build/logs/ @doctocat
docs/*  docs@example.com
apps/ @octocat
/docs/ @doctocat
/scripts/ @doctocat @octocat
**/logs @octocat
/apps/ @octocat
/apps/github
"""

# An excerpt of python/cpython's .github/CODEOWNERS: broad ``**/*x*`` lines, teams, and the
# exclusions section at the end ("the final matching pattern will take precedence").
CPYTHON_EXCERPT = """\
.github/                      @ezio-melotti @hugovk @AA-Turner
configure*                    @erlend-aasland @corona10 @AA-Turner
Objects/dict*                 @methane @markshannon
**/*import*                   @brettcannon @ericsnowcurrently @ncoghlan @warsaw
Python/import.c               @brettcannon @ericsnowcurrently @ncoghlan @warsaw @kumaraditya303
Lib/test/test_except*.py      @iritkatriel
Mac/                          @python/macos-team
PC/                           @python/windows-team
PC/launcher.c                 @python/windows-team @vsajip
Tools/clinic/                 @erlend-aasland @AA-Turner
**/*mail*                     @python/email-team

# Exclusions from .github/CODEOWNERS should go at the very end
# because the final matching pattern will take precedence.
.mailmap
Modules/**/clinic/
Python/clinic/
"""


def owners(text: str, path: str) -> tuple[str, ...]:
    return parse(text).owners_for(path)


# --- location -------------------------------------------------------------------------------------


def test_github_directory_wins_over_root_and_docs_and_the_others_are_never_read() -> None:
    files = {".github/CODEOWNERS": "* @from-github", "CODEOWNERS": "* @from-root", "docs/CODEOWNERS": "* @from-docs"}
    reads: list[str] = []

    def read(path: str) -> str | None:
        reads.append(path)
        return files.get(path)

    found = find(read)
    assert found is not None and found.path == ".github/CODEOWNERS"
    assert found.owners_for("x.py") == ("@from-github",) and reads == [".github/CODEOWNERS"]


def test_root_wins_over_docs_and_docs_is_the_last_place_looked() -> None:
    files = {"CODEOWNERS": "* @from-root", "docs/CODEOWNERS": "* @from-docs"}
    assert find(files.get).path == "CODEOWNERS"  # type: ignore[union-attr]
    assert find({"docs/CODEOWNERS": "* @from-docs"}.get).path == "docs/CODEOWNERS"  # type: ignore[union-attr]
    assert find({"src/CODEOWNERS": "* @nested", "codeowners": "* @lower"}.get) is None


def test_an_empty_first_file_is_still_the_one_used() -> None:
    # "use the first one it finds": an empty .github/CODEOWNERS owns nothing, root is not consulted
    found = find({".github/CODEOWNERS": "", "CODEOWNERS": "* @root"}.get)
    assert found is not None and found.path == ".github/CODEOWNERS" and found.owners_for("a.py") == ()


# --- GitHub's documented example -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("README.md", ("@global-owner1", "@global-owner2")),
        ("src/app.js", ("@js-owner",)),  # a later match takes precedence; the inline comment is no owner
        ("main.go", ("docs@example.com",)),
        ("notes.txt", ("@octo-org/octocats",)),
        ("build/logs/today.log", ("@octocat",)),  # /build/logs/ first, then the later **/logs wins
        ("docs/getting-started.md", ("@doctocat",)),  # docs/* then /docs/: the last one wins
        ("docs/build-app/troubleshooting.md", ("@doctocat",)),
        ("src/apps/main.py", ("@octocat",)),  # apps/ at any depth
        ("scripts/deploy.sh", ("@doctocat", "@octocat")),
        ("deeply/nested/logs/x.txt", ("@octocat",)),
        ("apps/web/index.html", ("@octocat",)),
        ("apps/github/hook.py", ()),  # un-owned by the pattern-only line
    ],
)
def test_githubs_documented_example(path: str, expected: tuple[str, ...]) -> None:
    assert owners(GITHUB_EXAMPLE, path) == expected


def test_docs_star_owns_direct_children_only() -> None:
    text = "docs/*  @docs-owner"
    assert owners(text, "docs/getting-started.md") == ("@docs-owner",)
    assert owners(text, "docs/build-app/troubleshooting.md") == ()
    assert owners(text, "sub/docs/page.md") == ()  # a slash in the middle anchors at the root


# --- precedence -------------------------------------------------------------------------------------


def test_the_last_matching_line_wins_not_the_most_specific() -> None:
    text = "/shop/pricing.py @specific\n* @catch-all\n"
    assert owners(text, "shop/pricing.py") == ("@catch-all",)
    assert owners("* @catch-all\n/shop/pricing.py @specific\n", "shop/pricing.py") == ("@specific",)


def test_owners_on_separate_lines_do_not_add_up() -> None:
    # "If the code owners are not on the same line, the pattern matches only the last mentioned"
    assert owners("*.py @first\n*.py @second\n", "a.py") == ("@second",)


def test_a_pattern_without_owners_unowns_and_a_later_line_owns_again() -> None:
    text = "* @everyone\n/generated/\n/generated/keep.py @keeper\n"
    assert owners(text, "generated/x.py") == ()
    assert owners(text, "generated/keep.py") == ("@keeper",)
    assert owners(text, "src/x.py") == ("@everyone",)


# --- patterns ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "matching", "not_matching"),
    [
        ("pricing.py", ["pricing.py", "shop/pricing.py", "a/b/pricing.py"], ["pricing.pyc", "shop/pricing.py.bak"]),
        ("/pricing.py", ["pricing.py"], ["shop/pricing.py"]),
        ("shop", ["shop", "shop/a.py", "x/shop/a.py"], ["shopping/a.py", "x/shop.py"]),
        ("/shop", ["shop/a.py", "shop/b/c.py"], ["x/shop/a.py"]),
        ("shop/", ["shop/a.py", "x/shop/a.py"], ["shop"]),  # a directory, never a file of that name
        ("/shop/", ["shop/a.py"], ["x/shop/a.py", "shop"]),
        ("shop/orders.py", ["shop/orders.py"], ["x/shop/orders.py"]),  # a middle slash anchors
        ("*.py", ["a.py", "shop/a.py", "a/b/c.py"], ["a.pyc", "py"]),
        ("shop/*.py", ["shop/a.py"], ["shop/sub/a.py", "x/shop/a.py"]),  # * does not cross /
        ("shop/**/*.py", ["shop/a.py", "shop/sub/a.py", "shop/a/b/c.py"], ["x/shop/a.py"]),  # ** does
        ("**/logs", ["logs", "logs/x", "build/logs/x", "a/b/logs/c/d"], ["logsx/y", "catalogs/x"]),
        ("shop/**", ["shop/a.py", "shop/a/b.py"], ["shop"]),
        ("/*", ["a.py", "Makefile"], ["shop/a.py"]),
        ("*", ["a.py", "shop/a.py", ".github/workflows/ci.yml"], []),
        ("f?o.py", ["foo.py", "x/fao.py"], ["fo.py", "fooo.py", "f/o.py"]),
        ("f\\*o", ["f*o"], ["foo"]),
        ("my\\ file.py", ["my file.py"], ["my", "file.py"]),
        ("Shop/", ["Shop/a.py"], ["shop/a.py"]),  # case-sensitive, like GitHub
    ],
)
def test_pattern_semantics(pattern: str, matching: list[str], not_matching: list[str]) -> None:
    compiled = compile_pattern(pattern)
    assert [p for p in matching if not compiled.matches(p)] == []
    assert [p for p in not_matching if compiled.matches(p)] == []


def test_an_escaped_blank_keeps_the_pattern_whole_and_the_owner_separate() -> None:
    assert owners("docs/my\\ guide.md @writer\n", "docs/my guide.md") == ("@writer",)


def test_a_hostile_pattern_is_matched_in_linear_time() -> None:
    pattern = compile_pattern("*a*a*a*a*a*a*a*a*a*a*b")
    path = "/".join(["a" * 200] * 20)
    started = time.perf_counter()
    assert not pattern.matches(path)
    assert time.perf_counter() - started < 0.5


def test_a_huge_hostile_line_is_parsed_in_linear_time() -> None:
    line = "*.py " + "a@" + "a." * 200_000 + " @ok\n"
    started = time.perf_counter()
    parsed = parse(line + "*.py @" + "a" * 100_000 + "\n")
    assert time.perf_counter() - started < 2 and [e.kind for e in parsed.errors] == ["Invalid owner"] * 2


# --- what GitHub rejects: the line is skipped and reported ------------------------------------


def test_unsupported_gitignore_syntax_is_reported_and_the_line_skipped() -> None:
    text = "* @all\n!keep.py @nobody\nPython/ceval*.[ch] @markshannon\n\\#notes.md @writer\n"
    parsed = parse(text, ".github/CODEOWNERS")
    assert [(e.line, e.kind) for e in parsed.errors] == [
        (2, "Invalid pattern"),
        (3, "Invalid pattern"),
        (4, "Invalid pattern"),
    ]
    assert "negation" in parsed.errors[0].detail and "character ranges" in parsed.errors[1].detail
    assert "escaping #" in parsed.errors[2].detail
    # THEN the skipped lines own nothing: the catch-all still applies
    for path in ("keep.py", "Python/ceval.c", "#notes.md"):
        assert parsed.owners_for(path) == ("@all",)


def test_an_invalid_owner_skips_the_whole_line_with_its_column() -> None:
    parsed = parse("* @all\n*.py @ok user\n")
    [error] = parsed.errors
    assert (error.line, error.column, error.kind) == (2, 10, "Invalid owner")
    assert parsed.owners_for("a.py") == ("@all",)
    assert "line 2 column 10: Invalid owner" in str(error)


def test_crlf_line_endings_and_tabs_are_read() -> None:
    assert owners("*\t@all\r\n*.py\t\t@py  \r\n", "a.py") == ("@py",)


def test_a_file_of_three_megabytes_or_more_is_ignored_like_github_does() -> None:
    padding = "# " + "x" * 98 + "\n"
    big = "* @owner\n" + padding * (MAX_BYTES // len(padding) + 1)
    parsed = parse(big, "CODEOWNERS")
    assert parsed.rules == () and "3 MB" in parsed.ignored
    just_under = "* @owner\n" + padding * ((MAX_BYTES - 100) // len(padding))
    assert parse(just_under).owners_for("a.py") == ("@owner",)
    choice = choose(["a.py"], parsed, ["fallback"])
    assert choice.source == "service" and any("3 MB" in n for n in choice.notes)


# --- owners → reviewers ----------------------------------------------------------------------------


def test_owners_of_changed_files_are_united_and_emails_skipped() -> None:
    reviewers = owners_of(["src/app.js", "notes.txt", "main.go"], GITHUB_EXAMPLE)
    assert reviewers == Reviewers(users=("js-owner",), teams=("octo-org/octocats",))


def test_owners_of_real_cpython_rules() -> None:
    assert owners_of(["Python/import.c"], CPYTHON_EXCERPT).users == (
        "brettcannon", "ericsnowcurrently", "kumaraditya303", "ncoghlan", "warsaw",
    )  # fmt: skip
    assert owners_of(["Lib/importlib/_bootstrap.py"], CPYTHON_EXCERPT).users == (
        "brettcannon", "ericsnowcurrently", "ncoghlan", "warsaw",
    )  # fmt: skip
    assert owners_of(["Lib/email/parser.py"], CPYTHON_EXCERPT) == Reviewers(teams=("python/email-team",))
    assert owners_of([".mailmap"], CPYTHON_EXCERPT) == Reviewers()  # the exclusion at the end
    assert owners_of(["Modules/_io/clinic/bufferedio.c.h"], CPYTHON_EXCERPT) == Reviewers()
    assert owners_of(["PC/launcher.c"], CPYTHON_EXCERPT) == Reviewers(("vsajip",), ("python/windows-team",))
    assert owners_of(["Objects/dictobject.c"], CPYTHON_EXCERPT).users == ("markshannon", "methane")
    assert owners_of(["configure.ac"], CPYTHON_EXCERPT).users == ("AA-Turner", "corona10", "erlend-aasland")
    assert owners_of(["Lib/test/test_exceptions.py"], CPYTHON_EXCERPT).users == ("iritkatriel",)


def test_reviewers_are_deduplicated_case_insensitively_and_the_author_removed() -> None:
    text = "*.py @Alice @bob\n*.js @alice @carol\n"
    reviewers = owners_of(["a.py", "b.js"], text)
    assert reviewers.users == ("Alice", "bob", "carol")
    assert reviewers.without("ALICE").users == ("bob", "carol")
    assert reviewers.names() == ["Alice", "bob", "carol"]


def test_no_codeowners_gives_nobody() -> None:
    assert owners_of(["a.py"], None) == Reviewers() and not Reviewers()


# --- the choice ------------------------------------------------------------------------------------


def test_owners_of_the_changed_files_are_chosen_over_the_configured_reviewers() -> None:
    choice = choose(["shop/pricing.py"], parse("shop/ @acme/pricing\n", ".github/CODEOWNERS"), ["oncall"])
    assert choice.reviewers == Reviewers(teams=("acme/pricing",)) and choice.source == ".github/CODEOWNERS"


def test_the_service_reviewers_are_used_when_codeowners_names_nobody_for_the_change() -> None:
    parsed = parse("docs/ @writer\n*.go owners@example.com\n", "CODEOWNERS")
    choice = choose(["shop/pricing.py", "main.go"], parsed, ["@alice", "acme/billing-team", "not a login"])
    assert choice.reviewers == Reviewers(("alice",), ("acme/billing-team",)) and choice.source == "service"
    assert any("e-mail owners" in n and "owners@example.com" in n for n in choice.notes)
    assert any("not a login" in n for n in choice.notes)


def test_nobody_at_all_is_an_empty_choice() -> None:
    choice = choose(["a.py"], None, ())
    assert choice.reviewers == Reviewers() and choice.source == ""


def test_malformed_lines_are_named_in_the_choice_notes() -> None:
    choice = choose(["a.py"], parse("* @all\n[abc] @x\n", ".github/CODEOWNERS"))
    assert choice.reviewers.users == ("all",)
    assert choice.notes == (
        ".github/CODEOWNERS: 1 malformed line(s) skipped: line 2 column 1: Invalid pattern "
        "([ ] character ranges do not work in CODEOWNERS): '[abc] @x'",
    )


def test_configured_reviewers_accept_logins_and_team_slugs_with_or_without_at() -> None:
    assert configured_reviewers(["alice", "@Bob", "acme/ops", "@acme/billing-team", "", "a b"]) == (
        Reviewers(("alice", "Bob"), ("acme/billing-team", "acme/ops")),
        ("a b",),
    )
