"""List calls that are both awaitable (one page) and async-iterable (every item).

``page = await client.customers.list_customers(size=10)`` fetches one page;
``async for customer in client.customers.list_customers(size=100)`` walks every page,
fetching each only when the previous one is used up. A page *style* says only how to set
the page size, where the items are and how to ask for the next page:

- ``stripe``: ``limit`` + ``starting_after`` (or ``ending_before`` when walking backwards)
- ``stripe_search``: ``limit`` + ``page`` = the previous body's ``next_page``
- ``cursor`` (OpenAI): ``limit`` + ``after`` = ``last_id`` (or the last item's id)
- ``link`` (GitHub): ``per_page`` + ``page``, next page from the ``Link: rel="next"`` header;
  ``link:<key>`` when the items sit under ``<key>`` of an object body

Every style also understands ``size=`` (page size) and ``page=N`` (1-based page number),
walking the cursor where the API has no page numbers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from ._errors import APIConnectionError, ConfigurationError, ResponseValidationError
from ._json import loads
from ._types import NotGiven

if TYPE_CHECKING:
    import httpx

    from ._client import BaseClient, RequestOptions
    from ._operation import Operation

__all__ = ["AsyncPaginator", "Page"]

T = TypeVar("T")

_SIZE_PARAM = {"stripe": "limit", "stripe_search": "limit", "cursor": "limit", "link": "per_page"}


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

    __slots__ = ("_client", "_headers", "_item", "_op", "_options", "_page", "_path", "_query", "_style")

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
        style = op.paging or "stripe"
        base = style.split(":", 1)[0]
        query = dict(query)
        if not isinstance(size, NotGiven) and size is not None:
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ConfigurationError(f"size must be a positive integer, got {size!r}")
            query[_SIZE_PARAM[base]] = size
        page_no = 1
        if not isinstance(page, NotGiven) and page is not None:
            if isinstance(page, str):
                query["page"] = page  # a native page token (Stripe search)
            elif isinstance(page, bool) or not isinstance(page, int) or page < 1:
                raise ConfigurationError(f"page must be a page number from 1, got {page!r}")
            elif base == "link":
                query["page"] = page
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

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self._first_page().__await__()

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iterate()

    async def _first_page(self) -> Page[T]:
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
        client, op = self._client, self._op
        if isinstance(next_request, str):  # a full URL from a Link header
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
        base, _, key = self._style.partition(":")
        items_raw: Any
        nxt: Any = None
        if base == "link":
            items_raw = raw.get(key) if key and isinstance(raw, dict) else raw
            if not isinstance(items_raw, list):
                items_raw = []
            nxt = response.links.get("next", {}).get("url")
            has_more = nxt is not None
        else:
            if not isinstance(raw, dict):
                raise ResponseValidationError(
                    f"expected a list object, got {type(raw).__name__}", path=op.name
                )
            items_raw = raw.get("data") or []
            has_more = bool(raw.get("has_more"))
            if has_more:
                nxt = self._next_query(next_request, raw, items_raw, base)
                has_more = nxt is not None
        item = self._item
        data = [item(x) for x in items_raw] if item is not None else items_raw
        return Page(self, data, has_more, raw, response, nxt)

    def _next_query(
        self, previous: Any, raw: dict[str, Any], items: list[Any], base: str
    ) -> dict[str, Any] | None:
        query: dict[str, Any] = dict(previous)
        if base == "stripe_search":
            token = raw.get("next_page")
            if not token:
                return None
            query["page"] = token
            return query
        if base == "cursor":
            last = raw.get("last_id") or (
                items[-1].get("id") if items and isinstance(items[-1], dict) else None
            )
            if not last:
                return None
            query["after"] = last
            return query
        if not items:
            return None
        if "ending_before" in query and not isinstance(query["ending_before"], NotGiven):
            first = items[0].get("id") if isinstance(items[0], dict) else None
            if not first:
                return None
            query["ending_before"] = first
            return query
        last = items[-1].get("id") if isinstance(items[-1], dict) else None
        if not last:
            return None
        query["starting_after"] = last
        return query
