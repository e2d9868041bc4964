"""List calls that are both awaitable (one page) and async-iterable (every item).

``page = await client.customers.list_customers(size=10)`` fetches one page;
``async for customer in client.customers.list_customers(size=100)`` walks every page,
fetching each only when the previous one is used up. How to ask for the next page is data,
a :class:`~usepolvo.core._paging.PageStyle` per operation (cursor, next-page URL, ``Link``
header, offset, page number); there is no per-provider code here.

Every style also understands ``size=`` (page size, the style's ``size_param``) and
``page=N`` (1-based page number: the style's ``page_param`` when it has one, else N-1
pages are walked; a string is a native page token). A server that answers the same cursor
or next URL twice would loop forever: the walk stops with :class:`PaginationLoopError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from ._errors import APIConnectionError, ConfigurationError, ResponseValidationError
from ._json import loads
from ._paging import PageStyle, field_path
from ._types import NotGiven

if TYPE_CHECKING:
    import httpx

    from ._client import BaseClient, RequestOptions
    from ._operation import Operation

__all__ = ["AsyncPaginator", "Page", "PaginationLoopError"]

T = TypeVar("T")


class PaginationLoopError(ResponseValidationError):
    """The server asked for a page that was already fetched (the same cursor or next URL
    again, e.g. ``has_more: true`` with an unchanged cursor): following it would never end."""


class Page(Generic[T]):
    """One page of a list: its items (``data``), whether more follow, and the raw body."""

    __slots__ = ("_next", "_paginator", "data", "has_more", "raw", "response")

    def __init__(
        self,
        paginator: AsyncPaginator[T],
        data: list[T],
        has_more: bool,
        raw: Any,
        response: httpx.Response,
        next_request: Any,
    ) -> None:
        self._paginator = paginator
        self.data = data
        self.has_more = has_more
        self.raw = raw
        self.response = response
        self._next = next_request

    @property
    def items(self) -> list[T]:
        """Alias of ``data``."""
        return self.data

    async def next_page(self) -> Page[T] | None:
        """Fetch the following page, or ``None`` when this is the last one."""
        if not self.has_more or self._next is None:
            return None
        if isinstance(self._next, str):  # checked when followed: this page itself stays readable
            _same_origin(self._next, self.response)
        return await self._paginator._fetch(self._next)

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        return self.data[index]

    def __repr__(self) -> str:
        return f"<Page of {len(self.data)} items, has_more={self.has_more}>"


class AsyncPaginator(Generic[T]):
    """The lazy result of a list call; nothing is sent until awaited or iterated."""

    __slots__ = (
        "_client",
        "_headers",
        "_item",
        "_op",
        "_options",
        "_page",
        "_path",
        "_query",
        "_seen",
        "_style",
    )

    def __init__(
        self,
        client: BaseClient,
        op: Operation,
        item: Callable[[Any], T] | None,
        *,
        path: tuple[Any, ...],
        query: dict[str, Any],
        headers: Mapping[str, Any] | None,
        page: Any,
        size: Any,
        request_options: RequestOptions | None,
    ) -> None:
        style = op.paging if isinstance(op.paging, PageStyle) else PageStyle("cursor")
        query = dict(query)
        if not isinstance(size, NotGiven) and size is not None:
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ConfigurationError(f"size must be a positive integer, got {size!r}")
            if style.size_param:
                query[style.size_param] = size
        page_no = 1
        if not isinstance(page, NotGiven) and page is not None:
            if isinstance(page, str):
                query[style.cursor_param or style.page_param or "page"] = page  # a native page token
            elif isinstance(page, bool) or not isinstance(page, int) or page < 1:
                raise ConfigurationError(f"page must be a page number from 1, got {page!r}")
            elif style.page_param:
                query[style.page_param] = page - 1 + style.first_page
            else:
                page_no = page
        self._client = client
        self._op = op
        self._item = item
        self._path = path
        self._query = query
        self._headers = headers
        self._options = request_options
        self._page = page_no
        self._style = style
        self._seen: set[str] = set()

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self._first_page().__await__()

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iterate()

    async def _first_page(self) -> Page[T]:
        self._seen = set()
        page = await self._fetch(self._query)
        for _ in range(self._page - 1):
            following = await page.next_page()
            if following is None:
                return Page(self, [], False, None, page.response, None)
            page = following
        return page

    async def _iterate(self) -> AsyncIterator[T]:
        page: Page[T] | None = await self._first_page()
        while page is not None:
            for item in page.data:
                yield item
            page = await page.next_page()

    async def _fetch(self, next_request: Any) -> Page[T]:
        client, op, style = self._client, self._op, self._style
        seen = next_request if isinstance(next_request, str) else repr(sorted(next_request.items(), key=str))
        if seen in self._seen:
            raise PaginationLoopError(
                "the server sent the same next page twice (an unchanged cursor or next URL); "
                "stopping instead of looping",
                path=op.name,
            )
        self._seen.add(seen)
        if isinstance(next_request, str):  # a full URL from a Link header or the body
            request = client.build_request(
                op, headers=self._headers, request_options=self._options, url=next_request
            )
        else:
            request = client.build_request(
                op, path=self._path, query=next_request, headers=self._headers, request_options=self._options
            )
        response = await client.send(op, request, self._options)
        try:
            raw = loads(response.content) if response.content else None
        except ValueError as exc:
            raise APIConnectionError(
                f"{op.name}: response body is not valid JSON ({exc})",
                method=op.method,
                url=str(response.url.path),
            ) from None
        if style.items:
            if not isinstance(raw, dict):
                raise ResponseValidationError(
                    f"expected a list object, got {type(raw).__name__}", path=op.name
                )
            items_raw = field_path(raw, style.items)
        else:
            items_raw = raw
        if not isinstance(items_raw, list):
            items_raw = []
        nxt = _next_request(style, next_request, raw, items_raw, response)
        item = self._item
        data = [item(x) for x in items_raw] if item is not None else items_raw
        return Page(self, data, nxt is not None, raw, response, nxt)


def _next_request(
    style: PageStyle, previous: Any, raw: Any, items: list[Any], response: httpx.Response
) -> dict[str, Any] | str | None:
    """The query (or URL) of the page after this one, or ``None`` at the end."""
    kind = style.kind
    if kind == "link":
        url: str | None = response.links.get("next", {}).get("url")
        return url or None
    if style.has_more and not field_path(raw, style.has_more):
        return None
    if kind == "next_url":
        target = field_path(raw, style.next_field or "next")
        if not isinstance(target, str) or not target:
            return None
        from urllib.parse import urljoin

        return urljoin(str(response.url), target)
    if isinstance(previous, str):  # a URL-walked list has no query to build on
        return None
    query: dict[str, Any] = dict(previous)
    if kind == "cursor":
        param, path = style.cursor_param, style.cursor_field
        if style.reverse_param and not isinstance(query.get(style.reverse_param, NotGiven()), NotGiven):
            param, path = style.reverse_param, style.reverse_field
        if not param or not path:
            return None
        token = field_path(raw, path)
        if token is None or isinstance(token, (dict, list)):
            return None
        query[param] = token
        return query
    if not items:
        return None
    if kind == "offset":
        param = style.offset_param or "offset"
        start = query.get(param)
        offset = (start if isinstance(start, int) and not isinstance(start, bool) else 0) + len(items)
        total = field_path(raw, style.total_field) if style.total_field else None
        if isinstance(total, int) and offset >= total:
            return None
        query[param] = offset
        return query
    if kind == "page":
        param = style.page_param or "page"
        current = query.get(param)
        number = current if isinstance(current, int) and not isinstance(current, bool) else style.first_page
        pages = field_path(raw, style.total_pages_field) if style.total_pages_field else None
        last = pages - 1 + style.first_page if isinstance(pages, int) else None
        if last is not None and number >= last:
            return None
        query[param] = number + 1
        return query
    return None


def _same_origin(url: str, response: httpx.Response) -> str:
    """The next page's URL, refused when it leaves the API's host: the credentials go
    with every page, and a body (or header) must not be able to send them elsewhere."""
    import httpx

    target, here = httpx.URL(url), response.url
    if (target.scheme, target.host, target.port) != (here.scheme, here.host, here.port):
        raise ResponseValidationError(
            f"the next page is on another host ({target.scheme}://{target.host}); not following it",
            path="pagination",
        )
    return url
