"""GitHub auth (token alias, App installation tokens), rate-limit headers and vendor Accept
types, against the local GitHub-like server (tests/servers/github.py)."""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Iterator

import pytest
from usepolvo.github import GitHubClient

from tests.servers.github import OCTOCAT, GitHubServer
from usepolvo.core import (
    Auth,
    ConfigurationError,
    GitHubAppAuth,
    NotFoundError,
    RateLimitInfo,
    TokenAuth,
)

jwt = pytest.importorskip("jwt")
rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")


@pytest.fixture(scope="module")
def app_keys() -> tuple[bytes, bytes]:
    """(private PEM, public PEM) of a throwaway RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


@pytest.fixture
def server(app_keys: tuple[bytes, bytes]) -> Iterator[GitHubServer]:
    with GitHubServer(issues=5, token="ghp_test", app_public_key=app_keys[1]) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _no_github_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_TOKEN", "GITHUB_API_KEY", "GITHUB_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def _app(app_keys: tuple[bytes, bytes], **kwargs: float) -> GitHubAppAuth:
    return GitHubAppAuth("12345", app_keys[0], 777, **kwargs)


# -- token= and TokenAuth ----------------------------------------------------------------


async def test_token_is_an_alias_of_api_key(server: GitHubServer) -> None:
    async with GitHubClient(token="ghp_test", base_url=server.url) as gh:
        repo = await gh.repos.get("o", "r")
    assert repo.full_name == "o/r"
    assert server.requests_for("/repos/o/r")[0].headers["authorization"] == "Bearer ghp_test"


def test_token_and_a_different_api_key_conflict() -> None:
    with pytest.raises(ConfigurationError, match="token="):
        GitHubClient(api_key="a", token="b")
    with pytest.raises(ConfigurationError, match="token="):
        GitHubClient()  # no key anywhere: the message names every way to give one


async def test_token_auth_is_a_static_key(server: GitHubServer) -> None:
    async with GitHubClient(auth=TokenAuth("ghp_test"), base_url=server.url) as gh:
        assert gh._auth is None  # precomputed header, no per-request hook
        await gh.repos.get("o", "r")
    assert server.requests_for("/repos/o/r")[0].headers["authorization"] == "Bearer ghp_test"
    with pytest.raises(ConfigurationError):
        GitHubClient(api_key="x", auth=TokenAuth("y"))


# -- GitHub App ----------------------------------------------------------------------------


def test_app_jwt_verifies_and_has_githubs_claims(app_keys: tuple[bytes, bytes]) -> None:
    auth = _app(app_keys)
    now = time.time()
    token = auth.make_jwt()
    claims = jwt.decode(token, app_keys[1], algorithms=["RS256"], options={"verify_exp": True})
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert claims["iss"] == "12345"
    assert now - 62 <= claims["iat"] <= now - 58  # backdated 60 s for clock drift
    assert claims["exp"] - now <= 600 and claims["exp"] > now
    assert "BEGIN" not in repr(auth) and "***" in repr(auth)
    with pytest.raises(ConfigurationError):
        GitHubAppAuth(1, app_keys[0], 2, jwt_ttl=601)
    with pytest.raises(ConfigurationError, match="RSA key"):
        GitHubAppAuth(1, "not a key", 2).make_jwt()


async def test_app_installation_token_is_used_and_cached(
    server: GitHubServer, app_keys: tuple[bytes, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    auth = _app(app_keys)
    caplog.set_level(logging.DEBUG)
    async with GitHubClient(auth=auth, base_url=server.url) as gh:
        await gh.repos.get("o", "r")
        await gh.repos.get("o", "r")
        numbers = [i.number async for i in gh.issues.list_for_repo("o", "r")]
    assert numbers == [1, 2, 3, 4, 5]
    assert server.minted == ["ghs_installation0001"]  # one exchange, then the cache
    (mint,) = server.requests_for("/app/installations/777/access_tokens")
    assert mint.headers["authorization"].startswith("Bearer ey")  # the JWT, not a token
    claims = server.jwt_claims[0]
    assert claims["iss"] == "12345" and claims["exp"] - claims["iat"] <= 600
    for req in [*server.requests_for("/repos/o/r"), *server.requests_for("/repos/o/r/issues")]:
        assert req.headers["authorization"] == "Bearer ghs_installation0001"
        assert req.headers["x-github-api-version"] == "2022-11-28"
    assert auth.expires_at is not None
    assert auth.expires_at > datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=50)
    jwt_sent = mint.headers["authorization"].split(" ", 1)[1]
    assert caplog.records  # attempts were logged…
    assert "ghs_installation" not in caplog.text and jwt_sent not in caplog.text  # …without credentials


async def test_app_token_is_refreshed_before_it_expires(
    server: GitHubServer, app_keys: tuple[bytes, bytes]
) -> None:
    server.token_ttl = 120  # within the 5-minute refresh margin as soon as it is minted
    async with GitHubClient(auth=_app(app_keys), base_url=server.url) as gh:
        await gh.repos.get("o", "r")
        await gh.repos.get("o", "r")
    assert server.minted == ["ghs_installation0001", "ghs_installation0002"]
    first, second = server.requests_for("/repos/o/r")
    assert first.headers["authorization"] == "Bearer ghs_installation0001"
    assert second.headers["authorization"] == "Bearer ghs_installation0002"


async def test_app_token_refresh_after_real_expiry(
    server: GitHubServer, app_keys: tuple[bytes, bytes]
) -> None:
    server.token_ttl = 2.2  # expires_at has whole seconds: valid for 1.2-2.2 s
    auth = _app(app_keys, refresh_before=0.2)
    async with GitHubClient(auth=auth, base_url=server.url) as gh:
        await gh.repos.get("o", "r")
        await gh.repos.get("o", "r")
        assert len(server.minted) == 1
        await asyncio.sleep(2.3)
        await gh.repos.get("o", "r")
    assert len(server.minted) == 2
    assert [r.headers["authorization"] for r in server.requests_for("/repos/o/r")] == [
        "Bearer ghs_installation0001",
        "Bearer ghs_installation0001",
        "Bearer ghs_installation0002",
    ]


async def test_concurrent_calls_share_one_refresh(
    server: GitHubServer, app_keys: tuple[bytes, bytes]
) -> None:
    server.token_ttl = 120  # every token is "near expiry": each wave needs a refresh
    server.mint_delay = 0.1
    auth = _app(app_keys)
    async with GitHubClient(auth=auth, base_url=server.url) as gh:
        repos = await asyncio.gather(*(gh.repos.get("o", f"r{i}") for i in range(20)))
        assert len(server.minted) == 1
        await asyncio.gather(*(gh.repos.get("o", f"r{i}") for i in range(20)))
    assert [r.name for r in repos] == [f"r{i}" for i in range(20)]
    assert server.minted == ["ghs_installation0001", "ghs_installation0002"]


async def test_app_auth_failure_is_a_typed_error(server: GitHubServer, app_keys: tuple[bytes, bytes]) -> None:
    wrong = GitHubAppAuth("12345", app_keys[0], 999)  # not this app's installation
    async with GitHubClient(auth=wrong, base_url=server.url, max_retries=0) as gh:
        with pytest.raises(NotFoundError):
            await gh.repos.get("o", "r")
    assert server.requests_for("/repos/o/r") == []


async def test_custom_auth_subclass(server: GitHubServer) -> None:
    class Rotating(Auth):
        calls = 0

        async def authorization(self, client: object) -> str:
            self.calls += 1
            return "token ghp_test" if self.calls else ""

    async with GitHubClient(auth=Rotating(), base_url=server.url) as gh:
        await gh.repos.get("o", "r")
        # a per-call Authorization wins over the auth hook
        await gh.repos.get("o", "r", request_options={"headers": {"Authorization": "Bearer ghp_test"}})
    assert [r.headers["authorization"] for r in server.requests_for("/repos/o/r")] == [
        "token ghp_test",
        "Bearer ghp_test",
    ]


# -- rate-limit headers --------------------------------------------------------------------


async def test_rate_limit_headers_are_exposed(server: GitHubServer) -> None:
    async with GitHubClient(token="ghp_test", base_url=server.url) as gh:
        assert gh.last_rate_limit is None
        await gh.repos.get("o", "r")
        first = gh.last_rate_limit
        await gh.repos.get("o", "r")
        info = gh.last_rate_limit
        with pytest.raises(NotFoundError) as caught:
            await gh.users.get_by_username("nobody-here")
    assert isinstance(first, RateLimitInfo) and isinstance(info, RateLimitInfo)
    assert (first.limit, first.remaining, first.used, first.resource) == (5000, 4999, 1, "core")
    assert (info.limit, info.remaining, info.used) == (5000, 4998, 2)
    assert info.reset == datetime.datetime.fromtimestamp(server.rate_limit_reset, tz=datetime.timezone.utc)
    assert not info.exhausted
    err = caught.value.rate_limit
    assert err is not None and err.remaining == 4997 and err.resource == "core"


# -- vendor media types --------------------------------------------------------------------


async def test_vendor_media_type_is_sent_as_accept(server: GitHubServer) -> None:
    async with GitHubClient(token="ghp_test", base_url=server.url) as gh:
        art = await gh.meta.get_octocat()
        await gh.repos.get("o", "r")
    assert isinstance(art, bytes) and art.decode() == OCTOCAT
    (req,) = server.requests_for("/octocat")
    assert req.headers["accept"] == "application/octocat-stream"
    assert (
        server.requests_for("/repos/o/r")[0].headers["accept"] == "application/vnd.github+json"
    )  # issue 11: GitHub's advised default
