"""The GitHub client end to end against a local GitHub-like server (tests/servers/github.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from usepolvo.github import GitHubClient
from usepolvo.github.v23_0_2 import models as m

from tests.servers.github import GitHubServer


@pytest.fixture
def server() -> Iterator[GitHubServer]:
    with GitHubServer(issues=250, token="ghp_test") as srv:
        yield srv


@pytest.fixture
async def client(server: GitHubServer) -> AsyncIterator[GitHubClient]:
    async with GitHubClient(api_key="ghp_test", base_url=server.url, max_retries=0) as c:
        yield c


async def test_iterates_every_issue_across_link_pages(client: GitHubClient, server: GitHubServer) -> None:
    numbers = [issue.number async for issue in client.issues.list_for_repo("o", "r", per_page=100)]
    assert numbers == list(range(1, 251))
    reqs = server.requests_for("/repos/o/r/issues")
    assert len(reqs) == 3
    assert [r.query.get("page") for r in reqs] == [None, ["2"], ["3"]]
    assert all(r.query["per_page"] == ["100"] for r in reqs)
    for r in reqs:
        assert r.headers["x-github-api-version"] == "2022-11-28"
        assert r.headers["authorization"] == "Bearer ghp_test"


async def test_page_and_size_map_to_page_and_per_page(client: GitHubClient, server: GitHubServer) -> None:
    page = await client.issues.list_for_repo("o", "r", page=3, size=20)
    assert [i.number for i in page] == list(range(41, 61))
    assert isinstance(page.data[0], m.Issue)
    assert page.has_more
    (req,) = server.requests_for("/repos/o/r/issues")
    assert req.query["page"] == ["3"] and req.query["per_page"] == ["20"]
    last = await client.issues.list_for_repo("o", "r", page=13, size=20)
    assert [i.number for i in last] == list(range(241, 251))
    assert not last.has_more and await last.next_page() is None


async def test_get_repository_parses(client: GitHubClient, server: GitHubServer) -> None:
    repo = await client.repos.get("o", "r")
    assert isinstance(repo, m.FullRepository)
    assert repo.full_name == "o/r" and repo.id == 42
    (req,) = server.requests_for("/repos/o/r")
    assert req.headers["x-github-api-version"] == "2022-11-28"


async def test_token_from_environment(server: GitHubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_test")
    async with GitHubClient(base_url=server.url) as client:
        repo = await client.repos.get("o", "r")
    assert repo.name == "r"
    assert server.requests_for("/repos/o/r")[0].headers["authorization"] == "Bearer ghp_test"
