"""A small GitHub-like HTTP server on loopback, for the GitHub client tests.

- ``GET /repos/{owner}/{repo}/issues``: ``issues`` issues paged with ``per_page`` (default
  30, at most 100) and ``page``, the next and last pages in a ``Link`` header.
- ``GET /repos/{owner}/{repo}``: a full repository object.
- ``GET /octocat``: ASCII art as ``application/octocat-stream`` (406 unless asked for by
  ``Accept``).
- ``POST /app/installations/{id}/access_tokens`` (with ``app_public_key`` set): verifies the
  app's RS256 JWT (claims kept in ``jwt_claims``) and mints an installation token valid for
  ``token_ttl`` seconds (``minted``); minted, unexpired tokens are accepted like ``token``.
  ``mint_delay`` slows the exchange down, so that concurrent callers overlap.

Every answer carries GitHub's ``x-ratelimit-*`` headers (limit 5000, ``remaining`` going
down by one per request, reset an hour ahead, resource ``core``).

Objects carry every field the 23.0.2 spec requires (``github_samples.json``, derived from
the spec). Every request is recorded in ``requests``; 401 unless the token is ``token`` (or
a minted installation token).
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.servers._threaded import ThreadedServer

__all__ = ["OCTOCAT", "GitHubServer", "Recorded"]

OCTOCAT = "MMM.           .MMM\nMMMMMMMMMMMMMMMMMMM\n  Keep it logically awesome.\n"

_SAMPLES = json.loads((Path(__file__).parent / "github_samples.json").read_text())


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class GitHubServer(ThreadedServer):
    issues: int = 250
    token: str = "ghp_test"
    requests: list[Recorded] = field(default_factory=list)
    app_id: str = "12345"
    app_public_key: bytes | None = None
    installation_id: str = "777"
    token_ttl: float = 3600.0
    mint_delay: float = 0.0
    minted: list[str] = field(default_factory=list)
    jwt_claims: list[dict[str, Any]] = field(default_factory=list)
    rate_limit_reset: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}
        self.rate_limit_reset = self.rate_limit_reset or int(time.time()) + 3600

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    @property
    def url(self) -> str:
        return self.origin

    def requests_for(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def accepts(self, authorization: str | None) -> bool:
        if authorization in (f"Bearer {self.token}", f"token {self.token}"):
            return True
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            expiry = self._expiry.get(token)
        return scheme.lower() in ("bearer", "token") and expiry is not None and time.time() < expiry

    def mint(self, jwt_token: str, installation: str) -> tuple[int, dict[str, Any]]:
        """Verify an app JWT and issue an installation token (status, body)."""
        import jwt  # PyJWT, only needed by the App auth tests

        if self.app_public_key is None or installation != self.installation_id:
            return 404, {"message": "Not Found"}
        try:
            claims = jwt.decode(jwt_token, self.app_public_key, algorithms=["RS256"], issuer=self.app_id)
        except jwt.PyJWTError as exc:
            return 401, {"message": f"A JSON web token could not be decoded ({type(exc).__name__})"}
        time.sleep(self.mint_delay)
        with self._lock:
            self.jwt_claims.append(claims)
            token = f"ghs_installation{len(self.minted) + 1:04d}"
            self.minted.append(token)
            expires = time.time() + self.token_ttl
            self._expiry[token] = expires
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))
        return 201, {"token": token, "expires_at": stamp, "permissions": {"issues": "read"}}

    def rate_headers(self) -> dict[str, str]:
        with self._lock:
            used = len(self.requests)
        return {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(max(0, 5000 - used)),
            "x-ratelimit-used": str(used),
            "x-ratelimit-reset": str(self.rate_limit_reset),
            "x-ratelimit-resource": "core",
        }


def _issue(owner: str, repo: str, number: int) -> dict[str, Any]:
    issue: dict[str, Any] = copy.deepcopy(_SAMPLES["issue"])
    issue.update(
        id=1000 + number,
        number=number,
        title=f"Issue {number}",
        state="open",
        url=f"https://api.github.test/repos/{owner}/{repo}/issues/{number}",
    )
    return issue


class _Handler(BaseHTTPRequestHandler):
    owner: GitHubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-github-request-id", "ABCD:1234")
        for k, v in {**self.owner.rate_headers(), **(headers or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _record(self, method: str) -> Recorded:
        parts = urlsplit(self.path)
        rec = Recorded(
            method, parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()}
        )
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        with self.owner._lock:
            self.owner.requests.append(rec)
        return rec

    def do_POST(self) -> None:
        rec = self._record("POST")
        if m := re.fullmatch(r"/app/installations/([^/]+)/access_tokens", rec.path):
            scheme, _, token = rec.headers.get("authorization", "").partition(" ")
            status, body = self.owner.mint(token if scheme == "Bearer" else "", m.group(1))
            self._json(status, body)
        else:
            self._json(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})

    def do_GET(self) -> None:
        rec = self._record("GET")
        parts = urlsplit(self.path)
        query = rec.query
        if not self.owner.accepts(rec.headers.get("authorization")):
            self._json(
                401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
            )
            return
        if parts.path == "/octocat":
            if rec.headers.get("accept") != "application/octocat-stream":
                self._json(406, {"message": "Unsupported 'Accept' header"})
                return
            art = OCTOCAT.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/octocat-stream")
            self.send_header("Content-Length", str(len(art)))
            self.end_headers()
            self.wfile.write(art)
        elif m := re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues", parts.path):
            owner, repo = m.groups()
            per_page = min(int(query.get("per_page", ["30"])[0]), 100)
            page = int(query.get("page", ["1"])[0])
            total = self.owner.issues
            last = max(1, -(-total // per_page))
            start = (page - 1) * per_page
            items = [_issue(owner, repo, n) for n in range(start + 1, min(start + per_page, total) + 1)]
            base = f"{self.owner.url}{parts.path}"
            links = []
            if page < last:
                links.append(f'<{base}?{urlencode({"per_page": per_page, "page": page + 1})}>; rel="next"')
                links.append(f'<{base}?{urlencode({"per_page": per_page, "page": last})}>; rel="last"')
            if page > 1:
                links.append(f'<{base}?{urlencode({"per_page": per_page, "page": 1})}>; rel="first"')
            self._json(200, items, {"Link": ", ".join(links)} if links else None)
        elif m := re.fullmatch(r"/repos/([^/]+)/([^/]+)", parts.path):
            owner, repo = m.groups()
            full = copy.deepcopy(_SAMPLES["repo"])
            full.update(id=42, name=repo, full_name=f"{owner}/{repo}", private=False)
            self._json(200, full)
        else:
            self._json(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
