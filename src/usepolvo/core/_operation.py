"""Static description of one API operation, emitted by the generator once per operation.

Generated methods stay thin: they collect their arguments and hand them, together with an
:class:`Operation`, to the client. Everything the runtime needs to know about the wire
format lives here, so the same code path serves every operation of every provider.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._paging import PageStyle

__all__ = ["Operation", "ResponseSpec"]

#: How a response body is read: ``json`` (decoded, then parsed), ``binary`` (bytes),
#: ``text`` (str), ``sse`` (server-sent events), ``empty`` (no body).
ResponseKind = str
#: reads one decoded JSON body; generated parsers also take ``strict`` (validate first)
Parser = Callable[..., Any]


class ResponseSpec:
    """How to read the body of one documented status (or status range).

    ``events`` parses the data of each server-sent event when the status may also be
    answered as ``text/event-stream`` (e.g. a JSON body, or events with ``stream=True``);
    for ``kind="sse"`` the ``parser`` itself reads each event.
    """

    __slots__ = ("events", "kind", "parser")

    def __init__(
        self, kind: ResponseKind, parser: Parser | None = None, *, events: Parser | None = None
    ) -> None:
        self.kind = kind
        self.parser = parser
        self.events = events

    @property
    def event_parser(self) -> Parser | None:
        """The reader of one event's JSON data when this status is streamed."""
        if self.events is not None:
            return self.events
        return self.parser if self.kind == "sse" else None


_EMPTY = ResponseSpec("empty")
_JSON = ResponseSpec("json")


class Operation:
    """One operation of a spec: method, path template, encodings and response readers.

    ``responses`` maps ``"200"``, ``"2XX"`` or ``"default"`` to a :class:`ResponseSpec`;
    ``error`` parses error bodies into the spec's error model when one is declared.
    ``paging`` is the :class:`PageStyle` of list operations (see ``_paging``);
    ``accept`` the ``Accept`` header when the success body is not plain JSON (GitHub's
    ``application/vnd.github.raw``, ``application/octocat-stream``…).
    """

    __slots__ = (
        "accept",
        "body",
        "docs_url",
        "error",
        "method",
        "multi_segment",
        "name",
        "paging",
        "path",
        "path_params",
        "query_styles",
        "responses",
        "security",
        "server",
        "streams",
    )

    def __init__(
        self,
        name: str,
        method: str,
        path: str,
        *,
        path_params: tuple[str, ...] = (),
        multi_segment: frozenset[str] = frozenset(),
        query_styles: Mapping[str, str] | None = None,
        body: str | None = None,
        responses: Mapping[str, ResponseSpec] | None = None,
        error: Parser | None = None,
        paging: PageStyle | None = None,
        server: str | None = None,
        docs_url: str | None = None,
        accept: str | None = None,
        security: tuple[tuple[str, ...], ...] | None = None,
    ) -> None:
        self.name = name
        self.method = method
        self.path = path
        self.path_params = path_params
        self.multi_segment = multi_segment
        self.query_styles = query_styles or {}
        self.body = body
        self.responses = responses or {}
        #: whether a response is documented as ``text/event-stream`` (decided once, not per call)
        self.streams = any(s.kind == "sse" or s.events is not None for s in self.responses.values())
        self.error = error
        self.paging = paging
        self.server = server
        self.docs_url = docs_url
        self.accept = accept
        #: the operation's own security requirement (alternatives of scheme names), or
        #: ``None`` for the spec's default (see ``_security``)
        self.security = security

    def response_for(self, status: int) -> ResponseSpec:
        """The reader for a success status; JSON when the spec documents nothing."""
        responses = self.responses
        spec = responses.get(str(status)) or responses.get(f"{status // 100}XX")
        if spec is not None:
            return spec
        if status == 204:
            return _EMPTY
        return responses.get("default") or _JSON

    def __repr__(self) -> str:
        return f"<Operation {self.name}: {self.method} {self.path}>"
