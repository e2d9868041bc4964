"""A small GitHub-like HTTP server on loopback, for the GitHub client tests.

- ``GET /repos/{owner}/{repo}/issues``: ``issues`` issues paged with ``per_page`` (default
  30, at most 100) and ``page``, the next and last pages in a ``Link`` header.
- ``GET /repos/{owner}/{repo}``: a full repository object.

Objects carry every field the 23.0.2 spec requires (``github_samples.json``, derived from
the spec). Every request is recorded in ``requests``; 401 unless the token is ``token``.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

__all__ = ["GitHubServer", "Recorded"]

_SAMPLES = json.loads((Path(__file__).parent / "github_samples.json").read_text())


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class GitHubServer:
    issues: int = 250
    token: str = "ghp_test"
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> GitHubServer:
        server = self

        class Handler(_Handler):
            owner = server

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> GitHubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests_for(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path]


def _issue(owner: str, repo: str, number: int) -> dict[str, Any]:
    issue: dict[str, Any] = copy.deepcopy(_SAMPLES["issue"])
    issue.update(
        id=1000 + number, number=number, title=f"Issue {number}", state="open",
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
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        rec = Recorded("GET", parts.path, query, {k.lower(): v for k, v in self.headers.items()})
        with self.owner._lock:
            self.owner.requests.append(rec)
        if rec.headers.get("authorization") != f"Bearer {self.owner.token}":
            self._json(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
            return
        if m := re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues", parts.path):
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
