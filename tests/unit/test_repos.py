"""Repository address forms and the fixer they compose."""

from __future__ import annotations

import pytest

from chalicelib.core.repos import RepoUrlError, parse_repo_url


@pytest.mark.parametrize(
    ("url", "kind", "name", "api"),
    [
        ("acme/shop", "github", "acme/shop", "https://api.github.com"),
        ("https://github.com/acme/shop.git", "github", "acme/shop", "https://api.github.com"),
        ("https://ghe.corp.example/acme/shop", "github", "acme/shop", "https://ghe.corp.example/api/v3"),
        ("git@github.com:acme/shop.git", "ssh", "acme/shop", "https://api.github.com"),
        ("ssh://git@ghe.corp.example:22/acme/shop.git", "ssh", "acme/shop", "https://ghe.corp.example/api/v3"),
        ("/srv/repos/shop.git", "local", "", "https://api.github.com"),
        ("file:///srv/repos/shop", "local", "", "https://api.github.com"),
    ],
)
def test_repo_url_forms(url, kind, name, api) -> None:
    ref = parse_repo_url(url)
    assert (ref.kind, ref.full_name, ref.api_base_url) == (kind, name, api)


@pytest.mark.parametrize("url", ["", "shop", "http://github.com/acme/shop", "ftp://x/y/z"])
def test_other_forms_are_refused_with_the_accepted_ones_named(url) -> None:
    with pytest.raises(RepoUrlError, match="owner/name"):
        parse_repo_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://user:ghp_secret@github.com/acme/shop",
        "https://ghp_secret@github.com/acme/shop",
        "https://x-access-token:tok@ghe.corp.example/acme/shop.git",
        "ssh://git:password@ghe.corp.example/acme/shop.git",
    ],
)
def test_repository_urls_with_credentials_are_refused_and_the_secret_not_echoed(url) -> None:
    with pytest.raises(RepoUrlError, match="carries credentials") as refused:
        parse_repo_url(url)
    assert "secret" not in str(refused.value) and "password" not in str(refused.value)
