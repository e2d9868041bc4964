"""Issue 11 end to end: lenient responses, strict on request, downloads, top-level kinds.

Against a loopback server (127.0.0.1) that answers each path with a canned response, so
both transports (httpx, aiohttp) are exercised.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from usepolvo.github import GitHubClient
from usepolvo.github.v23_0_2 import models as gm
from usepolvo.openai import OpenAIClient
from usepolvo.stripe import StripeClient

from tests.servers._threaded import ThreadedServer
from usepolvo.core import AsyncStream, NotFoundError, ResponseValidationError

SAMPLES = json.loads((Path(__file__).parent / "servers" / "github_samples.json").read_text())
GZIP = b"\x1f\x8b\x08\x00polvo-archive-bytes"


class Canned(ThreadedServer):
    """Answers ``routes[path]`` = (status, content type, body bytes, extra headers)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, str, bytes, dict[str, str]]] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []

    def json(self, path: str, body: Any, status: int = 200) -> None:
        self.routes[path] = (status, "application/json", json.dumps(body).encode(), {})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            owner: Canned

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                self._answer()

            def _answer(self) -> None:
                path = self.path.split("?", 1)[0]
                self.owner.seen.append((path, {k.lower(): v for k, v in self.headers.items()}))
                status, ctype, body, headers = self.owner.routes.get(
                    path, (404, "application/json", b'{"message": "Not Found"}', {})
                )
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def canned() -> Iterator[Canned]:
    with Canned() as server:
        yield server


def _repo_2022() -> dict[str, Any]:
    """``GET /repos/{owner}/{repo}`` as GitHub sent it in 2022: no ``has_discussions`` (the
    pinned spec requires it), a field the pin does not list, a null where it says object."""
    repo = copy.deepcopy(SAMPLES["repo"])
    repo.pop("has_discussions", None)
    repo["a_field_added_later"] = {"nested": [1, None]}
    repo["license"] = None
    if isinstance(repo.get("owner"), dict):
        repo["owner"]["type"] = "Organization-v2"
    return repo


# -- GitHub: a missing required field (defect 1), dates, strict on request ---------------


async def test_github_repo_without_a_required_field_reads(canned: Canned) -> None:
    body = _repo_2022()
    canned.json("/repos/o/r", body)
    async with GitHubClient(api_key="ghp_x", base_url=canned.origin, max_retries=0) as gh:
        repo = await gh.repos.get("o", "r")
    assert isinstance(repo, gm.FullRepository)
    assert repo.has_discussions is None and "has_discussions" not in repo.fields_set
    assert isinstance(repo.created_at, dt.datetime) and repo.created_at.tzinfo is not None
    assert repo.to_dict() == body  # lossless: the date strings come back exactly
    assert repo.extra_fields == {"a_field_added_later": {"nested": [1, None]}}
    problems = repo.spec_mismatches()
    assert "FullRepository.has_discussions: required field is missing" in problems
    assert "FullRepository.a_field_added_later: field not in the spec" in problems
    # GitHub's advised media type goes out on every request
    assert canned.seen[0][1]["accept"] == "application/vnd.github+json"


@pytest.mark.parametrize("how", ["client", "call", "env"])
async def test_strict_mode_names_the_field(canned: Canned, how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    canned.json("/repos/o/r", _repo_2022())
    options: dict[str, Any] = {}
    if how == "env":
        monkeypatch.setenv("POLVO_STRICT", "1")
    strict: dict[str, Any] = {"strict": True} if how == "client" else {}
    async with GitHubClient(api_key="ghp_x", base_url=canned.origin, max_retries=0, **strict) as gh:
        if how == "call":
            options = {"strict": True}
            assert isinstance(await gh.repos.get("o", "r"), gm.FullRepository)  # lenient without it
        with pytest.raises(ResponseValidationError) as info:
            await gh.repos.get("o", "r", request_options=options or None)  # type: ignore[arg-type]
    assert info.value.path.startswith("FullRepository.")
    assert "strict mode" in str(info.value)


async def test_strict_per_call_can_turn_strict_off(canned: Canned) -> None:
    canned.json("/repos/o/r", _repo_2022())
    async with GitHubClient(api_key="ghp_x", base_url=canned.origin, max_retries=0, strict=True) as gh:
        repo = await gh.repos.get("o", "r", request_options={"strict": False})
    assert repo.has_discussions is None


async def test_lenient_mismatches_are_logged_at_debug(
    canned: Canned, caplog: pytest.LogCaptureFixture
) -> None:
    canned.json("/repos/o/r", _repo_2022())
    async with GitHubClient(api_key="ghp_x", base_url=canned.origin, max_retries=0) as gh:
        with caplog.at_level(logging.DEBUG, logger="usepolvo.models"):
            await gh.repos.get("o", "r")
    lines = [r.getMessage() for r in caplog.records if r.name == "usepolvo.models"]
    assert any("FullRepository.has_discussions: required field is missing" in line for line in lines)
    assert all("ghp_x" not in line for line in lines)


# -- top-level kind: the one thing lenient mode refuses (issue 10, defect 10) -------------


@pytest.mark.parametrize(
    ("body", "got"),
    [(b'[{"id": "cus_1"}]', "an array"), (b"null", "null"), (b"", "empty body"), (b'"cus_1"', "a string")],
)
async def test_a_body_of_the_wrong_top_level_kind_is_refused(canned: Canned, body: bytes, got: str) -> None:
    canned.routes["/v1/customers/cus_1"] = (200, "application/json", body, {})
    async with StripeClient(api_key="sk_test_x", base_url=canned.origin, max_retries=0) as client:
        with pytest.raises(ResponseValidationError, match="expected an object") as info:
            await client.customers.retrieve_customer("cus_1")
    assert got in str(info.value)


async def test_stripe_defective_customer_reads(canned: Canned) -> None:
    body = {
        "id": "cus_1",
        "object": "customer",
        "created": "1680893993",  # a number as a string
        "balance": None,  # null where the spec says integer
        "tax_exempt": "partially_exempt",  # an enum value the pin does not list
        "invoice_settings": None,  # null where the spec says object
        "preferred_locales": ["en", None],  # null in an array
        "address": {"city": 7, "country": "US", "newer_field": True},
        "default_source": {"id": "card_1", "object": "card", "last4": "4242"},  # expanded, fields missing
    }
    canned.json("/v1/customers/cus_1", body)
    async with StripeClient(api_key="sk_test_x", base_url=canned.origin, max_retries=0) as client:
        customer = await client.customers.retrieve_customer("cus_1")
        with pytest.raises(ResponseValidationError, match="Customer"):
            await client.customers.retrieve_customer("cus_1", request_options={"strict": True})
    assert customer.created == "1680893993" and customer.balance is None
    assert customer.address is not None and customer.address.city == 7
    assert type(customer.default_source).__name__ == "Card"
    assert customer.to_dict() == body


# -- OpenAI: a stream whose events carry nulls and unknown fields (defect 2) --------------


async def test_stream_with_nulls_and_unknown_fields_reads_to_done(canned: Canned) -> None:
    events = [
        {"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "usage": None}},
        {
            "type": "response.output_text.delta",
            "sequence_number": 1,
            "delta": "Hi",
            "item_id": None,
            "new": {},
        },
        {"type": "response.brand_new_event", "sequence_number": 2, "payload": [None]},
        {"type": "response.completed", "sequence_number": 3, "response": None},
    ]
    sse = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    canned.routes["/v1/responses"] = (200, "text/event-stream", sse.encode(), {})
    async with OpenAIClient(api_key="sk-x", base_url=canned.origin + "/v1", max_retries=0) as ai:
        stream = await ai.responses.create_response(model="gpt-test", input="hi", stream=True)
        assert isinstance(stream, AsyncStream)
        got = [e async for e in stream]
        assert [e.to_dict() if hasattr(e, "to_dict") else e for e in got] == events
        assert stream.closed
        strict = await ai.responses.create_response(
            model="gpt-test", input="hi", stream=True, request_options={"strict": True}
        )
        with pytest.raises(ResponseValidationError):
            _ = [e async for e in strict]


# -- GitHub downloads documented only as 302 (defect 3) -----------------------------------

DOWNLOADS = [
    ("actions", "download_artifact", ("o", "r", 1, "zip"), "/repos/o/r/actions/artifacts/1/zip"),
    ("actions", "download_job_logs_for_workflow_run", ("o", "r", 2), "/repos/o/r/actions/jobs/2/logs"),
    (
        "actions",
        "download_workflow_run_attempt_logs",
        ("o", "r", 3, 1),
        "/repos/o/r/actions/runs/3/attempts/1/logs",
    ),
    ("actions", "download_workflow_run_logs", ("o", "r", 4), "/repos/o/r/actions/runs/4/logs"),
    ("migrations", "download_archive_for_org", ("org", 5), "/orgs/org/migrations/5/archive"),
    ("migrations", "get_archive_for_authenticated_user", (6,), "/user/migrations/6/archive"),
    ("repos", "download_tarball_archive", ("o", "r", "main"), "/repos/o/r/tarball/main"),
    ("repos", "download_zipball_archive", ("o", "r", "main"), "/repos/o/r/zipball/main"),
]


async def test_the_eight_redirect_downloads_return_bytes(canned: Canned) -> None:
    canned.routes["/files/archive"] = (200, "application/x-gzip", GZIP, {})
    for _, _, _, path in DOWNLOADS:
        canned.routes[path] = (302, "", b"", {"Location": canned.origin + "/files/archive"})
    async with GitHubClient(api_key="ghp_x", base_url=canned.origin, max_retries=0) as gh:
        for resource, method, args, path in DOWNLOADS:
            data = await getattr(getattr(gh, resource), method)(*args)
            assert data == GZIP, (method, path)
            # the URL without the download
            url = await gh.redirect_url(getattr(getattr(gh, resource), method), *args)
            assert url == canned.origin + "/files/archive", method
    downloads = [p for p, _ in canned.seen if p == "/files/archive"]
    assert len(downloads) == len(DOWNLOADS)  # redirect_url never fetched the file


async def test_redirect_url_reports_errors(canned: Canned) -> None:
    async with GitHubClient(api_key="ghp_x", base_url=canned.origin, max_retries=0) as gh:
        with pytest.raises(NotFoundError):
            await gh.redirect_url(gh.repos.download_tarball_archive, "o", "r", "missing")
