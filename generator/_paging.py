"""Which page style a list operation follows: declared in ``provider.toml``, or proposed.

A style is a table of :class:`usepolvo.core.PageStyle` fields (``kind``, ``items``,
``cursor_param``…) plus ``requires``: the query parameters an operation must have for the
style to apply (default: the style's own cursor / offset / page parameter). Declared
styles (``[[pagination]]``) are tried in order; the first whose parameters the operation
has and whose fields its response has wins. Without declared styles, the generator
proposes one per ``GET`` operation from well-known names: a next-page URL in the body
(``links.next``, ``_links.next.href``), a cursor parameter answered by a body field
(``after`` ← ``page.endCursor``, ``bookmark`` ← ``bookmark``), a page number (with
``nbPages``/``pagesTotal``), an offset (with a total), or a documented ``Link`` header.
``pagination_overrides`` (operation id → style table, or ``"none"``) settles the rest.
"""

from __future__ import annotations

from typing import Any

from ._ir import ListTy, Model, ModelTy, NullableTy, Param, PrimTy, Ty, UnionTy

__all__ = ["STYLE_KEYS", "match_style", "propose_style", "resolve"]

STYLE_KEYS = frozenset(
    {
        "kind",
        "items",
        "size_param",
        "page_param",
        "first_page",
        "cursor_param",
        "cursor_field",
        "reverse_param",
        "reverse_field",
        "has_more",
        "next_field",
        "offset_param",
        "total_field",
        "total_pages_field",
        "requires",
    }
)
KINDS = ("cursor", "next_url", "link", "offset", "page")

_ITEM_NAMES = ("data", "items", "results", "hits", "entries", "records", "values", "elements", "list")
_NEXT_NAMES = {
    "next",
    "next_url",
    "nexturl",
    "next_page_url",
    "nextpageurl",
    "next_link",
    "nextlink",
    "next_href",
}
_CURSOR_PARAMS = (
    "after",
    "cursor",
    "starting_after",
    "bookmark",
    "page_token",
    "pagetoken",
    "next_token",
    "continuation_token",
    "next_record_id",
    "next_cursor",
    "start_cursor",
    "marker",
)
_CURSOR_FIELDS = ("endcursor", "end_cursor", "next_cursor", "nextcursor", "next_page_token", "nextpagetoken")
_HAS_MORE = ("has_more", "hasmore", "hasnextpage", "has_next_page", "has_next")
_PAGE_PARAMS = ("page", "pagenumber", "page_number", "page[number]", "pageno", "page_no")
_SIZE_PARAMS = (
    "per_page",
    "perpage",
    "pagesize",
    "page_size",
    "page[size]",
    "hitsperpage",
    "limit",
    "page[limit]",
    "size",
    "count",
    "max_results",
)
_TOTAL_PAGES = ("pagestotal", "nbpages", "total_pages", "totalpages", "page_count", "pagecount")
_TOTALS = (
    "total",
    "total_count",
    "totalcount",
    "itemstotal",
    "nbhits",
    "total_results",
    "total_filtered_count",
)
_OFFSET_PARAMS = ("offset", "page[offset]", "start", "skip")


def _bare(ty: Ty | None) -> Ty | None:
    return ty.inner if isinstance(ty, NullableTy) else ty


def type_at(ty: Ty | None, path: str, models: dict[str, Model]) -> Ty | None:
    """The type at a field path of a response type (``None`` when the path is not there)."""
    from usepolvo.core._paging import _steps

    for step in _steps(path):
        ty = _bare(ty)
        if isinstance(step, int):
            if not isinstance(ty, ListTy):
                return None
            ty = ty.item
        elif isinstance(ty, ModelTy) and ty.name in models:
            field = next((f for f in models[ty.name].fields if f.wire == step), None)
            if field is None:
                return None
            ty = field.ty
        else:
            return None
    return ty


def _resolvable(ty: Ty, path: str, models: dict[str, Model]) -> bool:
    return any("[" in alt or type_at(ty, alt.strip(), models) is not None for alt in path.split("|"))


def _items(ty: Ty, items: str, models: dict[str, Model]) -> tuple[str, Ty] | None:
    """The items path (``""``: the body) and the item type, or ``None``."""
    bare = _bare(ty)
    if items in ("", "*") and isinstance(bare, ListTy):
        return "", bare.item
    if items == "*":
        if not isinstance(bare, ModelTy) or bare.name not in models:
            return None
        arrays = [f for f in models[bare.name].fields if isinstance(_bare(f.ty), ListTy)]
        if len(arrays) != 1:
            return None
        return arrays[0].wire, _bare(arrays[0].ty).item  # type: ignore[union-attr]
    if not items:
        return None
    found = _bare(type_at(ty, items, models))
    return (items, found.item) if isinstance(found, ListTy) else None


def _requires(style: dict[str, Any]) -> list[str]:
    if "requires" in style:
        return list(style["requires"])
    key = {"cursor": "cursor_param", "offset": "offset_param", "page": "page_param"}.get(style["kind"])
    return [style[key]] if key and style.get(key) else []


def _native(style: dict[str, Any], query: dict[str, Param]) -> Param | None:
    """The query parameter the ``page=`` argument stands for: the page number, or a cursor
    parameter that is itself called ``page`` (it would clash with ``page=`` otherwise)."""
    if style.get("page_param") in query:
        return query[style["page_param"]]
    if style.get("cursor_param") == "page" and "page" in query:
        return query["page"]
    return None


def match_style(
    style: dict[str, Any], query: dict[str, Param], ty: Ty, models: dict[str, Model]
) -> tuple[dict[str, Any], Ty, Param | None] | None:
    """``(resolved style, item type, native page parameter)`` when ``style`` fits."""
    if any(p not in query for p in _requires(style)):
        return None
    found = _items(ty, str(style.get("items", "")), models)
    if found is None:
        return None
    items, item = found
    for key in ("has_more", "cursor_field", "next_field", "total_field", "total_pages_field"):
        path = style.get(key)
        if path and key != "reverse_field" and not _resolvable(ty, str(path), models):
            return None
    resolved = {k: v for k, v in style.items() if k != "requires"}
    resolved["items"] = items
    return resolved, item, _native(style, query)


def _fields(
    ty: Ty | None, models: dict[str, Model], depth: int = 3, prefix: str = ""
) -> list[tuple[str, Ty]]:
    """Every ``(path, type)`` of a response up to ``depth`` levels of objects."""
    ty = _bare(ty)
    if depth == 0 or not isinstance(ty, ModelTy) or ty.name not in models:
        return []
    out: list[tuple[str, Ty]] = []
    for f in models[ty.name].fields:
        path = f"{prefix}{f.wire}"
        out.append((path, f.ty))
        out.extend(_fields(f.ty, models, depth - 1, path + "."))
    return out


def _is(ty: Ty, *names: str) -> bool:
    ty = _bare(ty)  # type: ignore[assignment]
    if isinstance(ty, UnionTy):
        return any(_is(v, *names) for v in ty.variants)
    return isinstance(ty, PrimTy) and ty.name in names


def _key(name: str) -> str:
    return name.lower().replace("-", "_")


def _first_page(param: Param, raw: dict[str, Any] | None) -> int:
    schema = (raw or {}).get("schema") or {}
    options = [schema, *(schema.get("oneOf") or []), *(schema.get("anyOf") or [])]
    for s in options:
        if isinstance(s, dict) and (s.get("minimum") == 0 or s.get("default") == 0):
            return 0
    return 1


def propose_style(
    query: dict[str, Param],
    ty: Ty,
    models: dict[str, Model],
    *,
    link_header: bool,
    raw_params: dict[str, dict[str, Any]],
) -> dict[str, Any] | None:
    """A style for a ``GET`` operation from the names of its parameters and fields."""
    bare = _bare(ty)
    fields = _fields(ty, models)
    if isinstance(bare, ListTy):
        items = ""
    else:
        top = [(p, t) for p, t in fields if "." not in p and isinstance(_bare(t), ListTy)]
        named = [p for p, _ in top if _key(p) in _ITEM_NAMES]
        if len(top) == 1:
            items = top[0][0]
        elif named:
            items = sorted(named, key=lambda p: _ITEM_NAMES.index(_key(p)))[0]
        else:
            return None
    by_key = {_key(w): w for w in query}
    size = next((by_key[k] for k in _SIZE_PARAMS if k in by_key), None)
    base: dict[str, Any] = {"items": items}
    if size:
        base["size_param"] = size
    has_more = next(
        (p for p, t in fields if _key(p.rsplit(".", 1)[-1]) in _HAS_MORE and _is(t, "bool")), None
    )
    for path, t in fields:
        last = _key(path.rsplit(".", 1)[-1])
        if _is(t, "str") and (last in _NEXT_NAMES or path.lower().endswith("next.href")):
            return {"kind": "next_url", **base, "next_field": path}
    for name in _CURSOR_PARAMS:
        if name not in by_key:
            continue
        wire = by_key[name]
        candidates = [p for p, t in fields if _key(p.rsplit(".", 1)[-1]) in (name, *_CURSOR_FIELDS)]
        candidates = [p for p in candidates if _is(type_at(ty, p, models) or PrimTy("Any"), "str", "int")]
        if candidates:
            style = {"kind": "cursor", **base, "cursor_param": wire, "cursor_field": candidates[0]}
            if has_more:
                style["has_more"] = has_more
            return style
    page = next((by_key[k] for k in _PAGE_PARAMS if k in by_key), None)
    if page:
        style = {"kind": "page", **base, "page_param": page}
        first = _first_page(query[page], raw_params.get(page))
        if first != 1:
            style["first_page"] = first
        pages = next(
            (p for p, t in fields if _key(p.rsplit(".", 1)[-1]) in _TOTAL_PAGES and _is(t, "int")), None
        )
        if pages:
            style["total_pages_field"] = pages
        return style
    offset = next((by_key[k] for k in _OFFSET_PARAMS if k in by_key), None)
    if offset:
        style = {"kind": "offset", **base, "offset_param": offset}
        total = next((p for p, t in fields if _key(p.rsplit(".", 1)[-1]) in _TOTALS and _is(t, "int")), None)
        if total:
            style["total_field"] = total
        return style
    if link_header:
        return {"kind": "link", **base}
    return None


def resolve(
    styles: list[dict[str, Any]] | None,
    override: dict[str, Any] | str | None,
    *,
    method: str,
    query: dict[str, Param],
    ty: Ty,
    models: dict[str, Model],
    link_header: bool,
    raw_params: dict[str, dict[str, Any]],
) -> tuple[dict[str, Any], Ty, Param | None] | None:
    """The style of one operation: its override, the first declared style that fits, or
    (with none declared) the proposal."""
    if override == "none":
        return None
    if isinstance(override, dict):
        return match_style(override, query, ty, models)
    if styles:
        for style in styles:
            found = match_style(style, query, ty, models)
            if found is not None:
                return found
        return None
    if styles is not None or method != "get":
        return None
    proposed = propose_style(query, ty, models, link_header=link_header, raw_params=raw_params)
    return match_style(proposed, query, ty, models) if proposed else None
