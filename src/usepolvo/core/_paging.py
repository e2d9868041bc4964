"""Page styles as data: how one list operation pages, read the same way everywhere.

The generator writes one :class:`PageStyle` per list operation, from the provider's
``[[pagination]]`` tables in ``provider.toml`` or from its own proposal; the paginator
(``_pagination``) follows it. Five kinds cover the usual APIs:

- ``cursor``: the next request sets ``cursor_param`` to the value at ``cursor_field`` of
  the last body (``next_page``, ``page.endCursor``, or ``data[-1].id`` — the last item's
  id); ``has_more`` (a boolean field) may end the walk early;
- ``next_url``: the body holds the next page's URL at ``next_field`` (``links.next``,
  ``_links.next.href``), absolute or relative to the page it came in;
- ``link``: the ``Link: <…>; rel="next"`` header holds the next URL;
- ``offset``: ``offset_param`` grows by the items received, until an empty page or
  ``total_field``;
- ``page``: ``page_param`` counts pages from ``first_page``, until an empty page or
  ``total_pages_field``.

Field paths are dotted (``metadata.pagination.next_record_id``), may index the last or
first element (``data[-1].id``, ``data[0].id``) and may list alternatives with ``|``
(``last_id|data[-1].id``: the first one present wins).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["PAGE_KINDS", "PageStyle", "field_path"]

PAGE_KINDS = ("cursor", "next_url", "link", "offset", "page")
_STEP = r"([^.\[\]]+)|\[(-?\d+)\]"  # compiled (and cached) by re on first use


def _steps(path: str) -> list[str | int]:
    out: list[str | int] = []
    for name, index in re.findall(_STEP, path):
        out.append(int(index) if index else name)
    return out


def field_path(body: Any, path: str) -> Any:
    """The value at ``path`` in a decoded JSON body, or ``None`` when absent."""
    for alternative in path.split("|"):
        node = body
        for step in _steps(alternative.strip()):
            if isinstance(step, int):
                node = node[step] if isinstance(node, list) and -len(node) <= step < len(node) else None
            else:
                node = node.get(step) if isinstance(node, dict) else None
            if node is None:
                break
        if node is not None and node != "":
            return node
    return None


class PageStyle:
    """How a list operation pages; see the module docstring for the kinds and fields."""

    __slots__ = (
        "cursor_field",
        "cursor_param",
        "first_page",
        "has_more",
        "items",
        "kind",
        "next_field",
        "offset_param",
        "page_param",
        "reverse_field",
        "reverse_param",
        "size_param",
        "total_field",
        "total_pages_field",
    )

    def __init__(
        self,
        kind: str,
        *,
        items: str = "",
        size_param: str | None = None,
        page_param: str | None = None,
        first_page: int = 1,
        cursor_param: str | None = None,
        cursor_field: str | None = None,
        reverse_param: str | None = None,
        reverse_field: str | None = None,
        has_more: str | None = None,
        next_field: str | None = None,
        offset_param: str | None = None,
        total_field: str | None = None,
        total_pages_field: str | None = None,
    ) -> None:
        if kind not in PAGE_KINDS:
            raise ValueError(f"unknown page style kind {kind!r} (one of {', '.join(PAGE_KINDS)})")
        self.kind = kind
        self.items = items
        self.size_param = size_param
        self.page_param = page_param
        self.first_page = first_page
        self.cursor_param = cursor_param
        self.cursor_field = cursor_field
        self.reverse_param = reverse_param
        self.reverse_field = reverse_field
        self.has_more = has_more
        self.next_field = next_field
        self.offset_param = offset_param
        self.total_field = total_field
        self.total_pages_field = total_pages_field

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{k}={getattr(self, k)!r}"
            for k in self.__slots__
            if k != "kind" and getattr(self, k) not in (None, "", 1)
        )
        return f"PageStyle({self.kind!r}{', ' if fields else ''}{fields})"
