"""A local stand-in for any spec's API: answers every operation with a body built from the
spec's own response schema, and pages list operations by their generated page style.

The server matches the request path against the spec's path templates (below an optional
base path), records every request (method, path, query, headers, body), and for a list
operation serves ``pages`` pages of one item each, linked the way the operation's
:class:`~usepolvo.core.PageStyle` says (cursor field, next URL — absolute or relative —,
``Link`` header, offset with a total, page number with a page count).
"""

from __future__ import annotations

import json
import re
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.contract._schema import Synth, randomly
from tests.servers._threaded import ThreadedServer
from usepolvo.core import Operation, PageStyle


class _SpecView:
    """What :class:`Synth` needs of a spec: ``deref`` and ``oas31``."""

    def __init__(self, doc: Any) -> None:
        self.doc = doc
        self.oas31 = str(doc.root.get("openapi", "3.0")).startswith("3.1")

    def deref(self, node: Any) -> Any:
        return self.doc.deref(node)


def _template(path: str) -> re.Pattern[str]:
    out = ""
    for part in re.split(r"(\{[^}]+\})", path):
        out += "([^/]+)" if part.startswith("{") else re.escape(part)
    return re.compile(out + "$")


def _set(body: Any, path: str, value: Any) -> None:
    parts = path.split(".")
    node = body
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value


def _get(body: Any, path: str) -> Any:
    for part in path.split("."):
        body = body.get(part) if isinstance(body, dict) else None
    return body


class CorpusServer(ThreadedServer):
    def __init__(self, doc: Any, ops: list[Operation], *, base_path: str = "", pages: int = 3) -> None:
        self.doc = doc
        self.view = _SpecView(doc)
        self.base_path = base_path.rstrip("/")
        self.pages = pages
        self.records: list[dict[str, Any]] = []
        self.relative_next = False
        #: an OAuth2 token endpoint served beside the API (client credentials)
        self.token_path = ""
        self.token_requests = 0
        self.routes: list[tuple[re.Pattern[str], str, str, Operation | None]] = []
        by_key = {(o.method, o.path): o for o in ops}
        for path, item in (doc.root.get("paths") or {}).items():
            for method in ("get", "put", "post", "delete", "patch"):
                if method in item:
                    self.routes.append(
                        (_template(path), method.upper(), path, by_key.get((method.upper(), path)))
                    )

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    @property
    def url(self) -> str:
        return self.origin + self.base_path

    # -- answers -----------------------------------------------------------------------

    def answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        split = urlsplit(target)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        self.records.append(
            {"method": method, "path": split.path, "query": query, "headers": headers, "body": body}
        )
        if split.path == self.token_path:
            self.token_requests += 1
            return (
                200,
                {},
                {"access_token": f"token-{self.token_requests}", "token_type": "bearer", "expires_in": 3600},
            )
        path = split.path[len(self.base_path) :] if split.path.startswith(self.base_path) else split.path
        for rx, m, template, op in self.routes:
            if m == method and rx.match(path):
                return self._respond(template, method, op, query, split.path)
        return 404, {}, {"error": "no such route"}

    def _respond(
        self, template: str, method: str, op: Operation | None, query: dict[str, str], path: str
    ) -> tuple[int, dict[str, str], Any]:
        raw = self.doc.deref(self.doc.root["paths"][template][method.lower()])
        status, schema = "200", None
        for code, resp in (raw.get("responses") or {}).items():
            if str(code).startswith("2"):
                status = str(code)
                content = self.doc.deref(resp).get("content") or {}
                media = next((v for k, v in content.items() if "json" in k), None)
                schema = (media or {}).get("schema")
                break
        synth = Synth(self.view, randomly(7), max_depth=2, optional=100)  # type: ignore[arg-type]
        body = synth.value(schema) if schema is not None else None
        headers: dict[str, str] = {}
        if op is not None and isinstance(op.paging, PageStyle):
            body, headers = self._page(op.paging, schema, body, query, path)
        return int(status), headers, body

    def _page(
        self, style: PageStyle, schema: Any, body: Any, query: dict[str, str], path: str
    ) -> tuple[Any, dict[str, str]]:
        item_schema = self._item_schema(schema, style.items)
        item = Synth(self.view, randomly(3), max_depth=2, optional=100).value(item_schema)  # type: ignore[arg-type]
        if style.kind == "cursor":
            k = int(query.get(style.cursor_param or "", "c0")[1:] or 0)
        elif style.kind in ("next_url", "link"):
            k = int(query.get("__page", "0"))
        elif style.kind == "page":
            k = int(query.get(style.page_param or "page", str(style.first_page))) - style.first_page
        else:
            k = int(query.get(style.offset_param or "offset", "0"))
        last = k >= self.pages - 1
        if not isinstance(body, dict) and style.items:
            body = {}
        if style.items:
            _set(body, style.items, [item])
        else:
            body = [item]
        headers: dict[str, str] = {}
        if style.has_more:
            _set(body, style.has_more, not last)
        if style.kind == "cursor" and style.cursor_field:
            _set(body, style.cursor_field.split("|")[0], None if last else f"c{k + 1}")
        elif style.kind == "next_url" and style.next_field:
            nxt = f"{path}?__page={k + 1}" if self.relative_next else f"{self.origin}{path}?__page={k + 1}"
            _set(body, style.next_field, None if last else nxt)
        elif style.kind == "link" and not last:
            headers["Link"] = f'<{self.origin}{path}?__page={k + 1}>; rel="next"'
        elif style.kind == "page" and style.total_pages_field:
            _set(body, style.total_pages_field, self.pages)
        elif style.kind == "offset" and style.total_field:
            _set(body, style.total_field, self.pages)
        return body, headers

    def _item_schema(self, schema: Any, items: str) -> Any:
        s = self.doc.deref(schema)
        for part in [p for p in items.split(".") if p]:
            s = self.doc.deref(s)
            props: dict[str, Any] = {}
            for sub in [s, *[self.doc.deref(x) for x in (s.get("allOf") or [])]]:
                props.update(sub.get("properties") or {})
            s = props.get(part, {})
        s = self.doc.deref(s)
        return s.get("items", {}) if isinstance(s, dict) else {}


class _Handler(BaseHTTPRequestHandler):
    owner: CorpusServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, payload = self.owner.answer(self.command, self.path, headers, body)
        data = b"" if status == 204 or payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve
