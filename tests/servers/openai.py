"""A small OpenAI-like HTTP server on loopback, for the OpenAI client tests.

- ``GET /v1/models``: a model list.
- ``POST /v1/chat/completions``: a JSON completion, or with ``"stream": true`` a chunked
  ``text/event-stream`` of ``chat.completion.chunk`` events ending in ``data: [DONE]``.
  With ``"model": "hold-open"`` it sends two chunks and then waits for the client to close
  the connection (``client_closed`` is set when it does).
- ``POST /v1/files``: multipart upload; the decoded parts are recorded in ``uploads``.
- ``GET /v1/files``: a cursor list (``limit``, ``after``) over ``files`` file objects.
- ``POST /v1/audio/speech``: ``audio/mpeg`` bytes (``SPEECH``).

JSON answers carry OpenAI-style ``x-ratelimit-*-requests``/``-tokens`` headers.

Every request is recorded in ``requests``. The server binds 127.0.0.1 on a free port and
serves from a background thread; :meth:`OpenAIServer.stop` shuts it down.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.servers._threaded import ThreadedServer

__all__ = ["RATE_LIMIT_HEADERS", "SPEECH", "OpenAIServer", "Part", "Recorded"]

SPEECH = bytes(range(256)) * 4 + b"\x00\xff ID3 end"

#: sent with every JSON answer, the way OpenAI reports its request and token budgets
RATE_LIMIT_HEADERS = {
    "x-ratelimit-limit-requests": "500",
    "x-ratelimit-remaining-requests": "499",
    "x-ratelimit-reset-requests": "120ms",
    "x-ratelimit-limit-tokens": "30000",
    "x-ratelimit-remaining-tokens": "29000",
    "x-ratelimit-reset-tokens": "1m2s",
}


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class OpenAIServer(ThreadedServer):
    files: int = 25
    requests: list[Recorded] = field(default_factory=list)
    uploads: list[list[Part]] = field(default_factory=list)
    client_closed: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    @property
    def url(self) -> str:
        return self.origin + "/v1"

    def record(self, rec: Recorded) -> None:
        with self._lock:
            self.requests.append(rec)

    def requests_for(self, method: str, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]


def _file(i: int) -> dict[str, Any]:
    return {
        "id": f"file-{i:04d}",
        "object": "file",
        "bytes": 100 + i,
        "created_at": 1_700_000_000 + i,
        "filename": f"f{i}.jsonl",
        "purpose": "fine-tune",
        "status": "processed",
    }


def _chunk(i: int, content: str | None, finish: str | None = None) -> dict[str, Any]:
    delta: dict[str, Any] = {} if content is None else {"role": "assistant", "content": content}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "gpt-test",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


class _Handler(BaseHTTPRequestHandler):
    owner: OpenAIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read(self) -> Recorded:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        rec = Recorded(
            self.command,
            parts.path,
            parse_qs(parts.query),
            {k.lower(): v for k, v in self.headers.items()},
            body,
        )
        self.owner.record(rec)
        return rec

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", "req_test")
        for name, value in RATE_LIMIT_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _chunked(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def do_GET(self) -> None:
        rec = self._read()
        if rec.headers.get("authorization") != "Bearer sk-test":
            self._json(401, {"error": {"message": "bad key", "type": "invalid_request_error"}})
            return
        if rec.path == "/v1/models":
            self._json(
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": "gpt-test", "object": "model", "created": 1_700_000_000, "owned_by": "openai"},
                        {"id": "tts-test", "object": "model", "created": 1_700_000_001, "owned_by": "system"},
                    ],
                },
            )
        elif rec.path == "/v1/files":
            limit = int(rec.query.get("limit", ["10"])[0])
            after = rec.query.get("after", [None])[0]
            ids = [_file(i) for i in range(self.owner.files)]
            start = 0
            if after is not None:
                start = next(i for i, f in enumerate(ids) if f["id"] == after) + 1
            page = ids[start : start + limit]
            self._json(
                200,
                {
                    "object": "list",
                    "data": page,
                    "has_more": start + limit < len(ids),
                    "first_id": page[0]["id"] if page else None,
                    "last_id": page[-1]["id"] if page else None,
                },
            )
        else:
            self._json(404, {"error": {"message": f"no route {rec.path}"}})

    def do_POST(self) -> None:
        rec = self._read()
        if rec.path == "/v1/chat/completions":
            self._chat(rec)
        elif rec.path == "/v1/files":
            self._upload(rec)
        elif rec.path == "/v1/audio/speech":
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Content-Length", str(len(SPEECH)))
            self.end_headers()
            self.wfile.write(SPEECH)
        else:
            self._json(404, {"error": {"message": f"no route {rec.path}"}})

    def _chat(self, rec: Recorded) -> None:
        body = json.loads(rec.body)
        if not body.get("stream"):
            self._json(
                200,
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "created": 1_700_000_000,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "logprobs": None,
                            "message": {"role": "assistant", "content": "Hello there", "refusal": None},
                        }
                    ],
                },
            )
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        words = ["Hel", "lo", " there"]
        if body["model"] == "hold-open":
            try:
                for i, w in enumerate(words[:2]):
                    self._chunked(f"data: {json.dumps(_chunk(i, w))}\n\n".encode())
            except OSError:  # the client closed before the chunks went out: closed all the same
                self.owner.client_closed.set()
                self.close_connection = True
                return
            self._wait_for_close()
            return
        # a comment, an event split over several data lines, \r\n line ends, an id
        self._chunked(b": keep-alive\n\n")
        first = json.dumps(_chunk(0, words[0]), indent=1).split("\n")
        self._chunked(("id: 1\r\n" + "".join(f"data: {line}\r\n" for line in first) + "\r\n").encode())
        for i, w in enumerate(words[1:], 1):
            self._chunked(f"id: {i + 1}\nevent: message\ndata:{json.dumps(_chunk(i, w))}\n\n".encode())
        self._chunked(f"data: {json.dumps(_chunk(9, None, 'stop'))}\n\n".encode())
        self._chunked(b"data: [DONE]\n\n")
        self._chunked(b"")

    def _wait_for_close(self) -> None:
        conn: socket.socket = self.connection
        conn.settimeout(5)
        try:
            while conn.recv(1024):
                pass
        except TimeoutError:
            return  # the client kept the connection open
        except OSError:
            pass  # reset: the client closed with unread data (RST instead of FIN)
        self.owner.client_closed.set()
        self.close_connection = True

    def _upload(self, rec: Recorded) -> None:
        ctype = rec.headers.get("content-type", "")
        if not ctype.startswith("multipart/form-data"):
            self._json(400, {"error": {"message": f"expected multipart, got {ctype}"}})
            return
        msg = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {ctype}\r\n\r\n".encode() + rec.body)
        parts = []
        for part in msg.iter_parts():
            payload = part.get_payload(decode=True)
            parts.append(
                Part(
                    part.get_param("name", header="content-disposition") or "",  # type: ignore[arg-type]
                    part.get_filename(),
                    part.get("Content-Type"),
                    payload if isinstance(payload, bytes) else b"",
                )
            )
        self.owner.uploads.append(parts)
        by_name = {p.name: p for p in parts}
        f = by_name.get("file")
        self._json(
            200,
            {
                "id": "file-new",
                "object": "file",
                "bytes": len(f.data) if f else 0,
                "created_at": 1_700_000_000,
                "filename": f.filename if f else "",
                "purpose": by_name["purpose"].data.decode(),
                "status": "uploaded",
            },
        )
