"""Micro-benchmark of typed decoding: what a listed item costs beyond ``json.loads``.

Not a test (``make bench`` measures end to end): this isolates the model side. For each
provider it builds one realistic list item from the pinned spec's schema at run time (every
optional field filled, nested objects present, fields the list endpoint does not send left
out; the spec is read through the pins, nothing of it is stored), makes a page of
``BENCH_PAGE`` copies with distinct ids, and prints CPU µs per item for:

- ``json``: ``json.loads`` of the page (what raw ``httpx`` ``.json()`` does);
- ``orjson``: ``orjson.loads`` of the page (what polvo's transport does);
- ``+lenient``: orjson plus the generated per-item parser polvo runs on each listed item
  (the default, lenient read);
- ``+strict``: the same with ``strict=True`` (validated first);
- ``+id``: lenient, then each item's ``id`` read (what pagination and most code do);
- ``+access``: lenient, then every attribute read once, recursively (what lazy decoding
  defers: the cost of a fully read item);

and the ratios ``(orjson + typed decode) / json.loads`` — polvo's per-item client cost over
raw httpx + ``.json()`` without the transport, the issue's target being ≤ 1.3x end to end —
and ``/ orjson.loads``. Medians of ``BENCH_ROUNDS`` (default 7) rounds; ``--json`` prints one
JSON line per figure.

    .venv/bin/python scripts/bench_models.py [--json] [stripe|github|openai ...]
"""

from __future__ import annotations

import importlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGE = int(os.environ.get("BENCH_PAGE", "100"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))

#: provider → (schema of one listed item, generated item parser module and name, fields the
#: list endpoint does not send: Stripe's includable lists, ``tax`` and ``cash_balance`` come
#: only with ``expand[]``; GitHub's repository issue list carries no ``repository``, and
#: ``body_html`` / ``body_text`` only with other media types)
ITEMS: dict[str, tuple[str, str, str, frozenset[str]]] = {
    "stripe": ("customer", "resources.customers", "_parse_item_customer", frozenset({"tax", "cash_balance"})),
    "github": (
        "issue",
        "resources.issues",
        "_parse_item_issue",
        frozenset({"repository", "body_html", "body_text", "performed_via_github_app", "pinned_comment"}),
    ),
    "openai": ("OpenAIFile", "resources.files", "_parse_item_open_ai_file", frozenset()),
}
#: fields sent as ``null`` (a customer without a discount, an open issue)
NULLS = {"stripe": ("discount",), "github": ("closed_by", "closed_at", "active_lock_reason")}


class _Builder:
    """A JSON value for a schema: every property filled, examples used where the spec has them."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def deref(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.spec
            for token in node["$ref"].lstrip("#/").split("/"):
                target = target[token.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def value(self, schema: Any, name: str, depth: int) -> Any:
        s = self.deref(schema)
        if not isinstance(s, dict):
            return "x"
        if "x-expansionResources" in s:  # Stripe's expandable fields arrive as an ID
            return f"{name[:3]}_1NqzXuLkdIwHu7ix"
        for key in ("anyOf", "oneOf"):
            if key in s:
                variants = [self.deref(v) for v in s[key]]
                rich = [v for v in variants if v.get("type") == "object" or "properties" in v]
                return self.value(rich[0] if rich else variants[0], name, depth)
        if "allOf" in s:
            merged: dict[str, Any] = {"type": "object", "properties": {}}
            for part in s["allOf"]:
                part = self.deref(part)
                merged["properties"].update(part.get("properties", {}))
            return self.value(merged, name, depth)
        if s.get("enum"):
            return next((v for v in s["enum"] if v not in ("", None)), s["enum"][0])
        ex = s.get("example")
        kind = s.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "string")
        if kind == "object" or "properties" in s:
            return self.obj(s, depth)
        if kind == "array":
            if depth > 3:
                return []
            return [self.value(s.get("items", {}), name, depth + 1)]
        if kind == "string":
            fmt = s.get("format")
            if fmt == "date-time":
                return "2024-05-14T09:31:27Z"
            if fmt == "date":
                return "2024-05-14"
            if isinstance(ex, str):
                return ex
            if fmt == "uri":
                return f"https://api.example.com/{name}/1347"
            return {"id": "cus_NffrFeUfNV2Hib", "email": "jennyrosen@example.com"}.get(name, f"{name} value")
        if kind == "integer":
            if s.get("format") == "unix-time":
                return 1680893993
            return ex if isinstance(ex, int) and not isinstance(ex, bool) else 1347
        if kind == "number":
            return ex if isinstance(ex, (int, float)) and not isinstance(ex, bool) else 12.5
        if kind == "boolean":
            return ex if isinstance(ex, bool) else False
        return ex if ex is not None else "x"

    def obj(self, s: dict[str, Any], depth: int, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
        props: dict[str, Any] = s.get("properties", {})
        if not props:
            extra = s.get("additionalProperties")
            if isinstance(extra, dict) and depth <= 3:
                return {"order_id": self.value(extra, "order_id", depth + 1)}
            return {}
        if "has_more" in props and "data" in props and depth > 0:  # a nested Stripe list: includable only
            return {"__omit__": True}
        out: dict[str, Any] = {}
        for key, sub in props.items():
            if key in skip:
                continue
            if depth > 3 and self._is_object(sub):
                continue
            v = self.value(sub, key, depth + 1)
            if isinstance(v, dict) and v.get("__omit__"):
                continue
            out[key] = v
        return out

    def _is_object(self, schema: Any) -> bool:
        s = self.deref(schema)
        if not isinstance(s, dict):
            return False
        if "anyOf" in s or "oneOf" in s or "allOf" in s:
            return True
        return s.get("type") in ("object", "array") or "properties" in s


def _load_spec(provider: str) -> dict[str, Any]:
    from generator._loader import load_file
    from generator._pins import load_providers, locate_spec

    settings = load_providers()[provider]
    spec: dict[str, Any] = load_file(locate_spec(settings.pins[settings.default], allow_download=False))
    return spec


def build_item(provider: str) -> dict[str, Any]:
    schema, _, _, skip = ITEMS[provider]
    spec = _load_spec(provider)
    b = _Builder(spec)
    item = b.obj(b.deref(spec["components"]["schemas"][schema]), 0, skip)
    item.update(dict.fromkeys(NULLS.get(provider, ()), None))
    return item


def _parser(provider: str) -> Callable[..., Any]:
    _, module, name, _ = ITEMS[provider]
    pkg = importlib.import_module(f"usepolvo.{provider}")
    version = (
        pkg.__name__
        + "."
        + next(p.name for p in Path(pkg.__path__[0]).iterdir() if p.is_dir() and p.name.startswith("v"))
    )
    fn: Callable[..., Any] = getattr(importlib.import_module(f"{version}.{module}"), name)
    return fn


def _page(item: dict[str, Any]) -> bytes:
    items = []
    for i in range(PAGE):
        one = dict(item)
        if isinstance(one.get("id"), str):
            one["id"] = f"{one['id']}{i:04d}"
        elif isinstance(one.get("id"), int):
            one["id"] = one["id"] + i
        items.append(one)
    return json.dumps({"object": "list", "data": items, "has_more": False}).encode()


def _cpu(fn: Callable[[], object], n: int) -> float:
    """CPU µs per item of ``fn`` (one page) over ``n`` calls."""
    t0 = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - t0) / n / PAGE * 1e6


def _access(obj: Any) -> None:
    """Read every attribute, recursing into models and lists of models."""
    from usepolvo.core import BaseModel

    for _, attr, _, _ in obj.wire_spec:
        v = getattr(obj, attr)
        if isinstance(v, BaseModel):
            _access(v)
        elif isinstance(v, list):
            for x in v:
                if isinstance(x, BaseModel):
                    _access(x)


def bench(provider: str) -> dict[str, float]:
    import orjson

    item = build_item(provider)
    parse = _parser(provider)
    body = _page(item)
    size = len(json.dumps(item).encode())

    def std() -> object:
        return json.loads(body)

    def fast() -> object:
        return orjson.loads(body)

    def lenient() -> object:
        return [parse(v) for v in orjson.loads(body)["data"]]

    def strict() -> object:
        return [parse(v, True) for v in orjson.loads(body)["data"]]

    def ids() -> object:
        out = [parse(v) for v in orjson.loads(body)["data"]]
        for m in out:
            m.id  # noqa: B018 - the read is the point
        return out

    def access() -> object:
        out = [parse(v) for v in orjson.loads(body)["data"]]
        for m in out:
            _access(m)
        return out

    first = parse(orjson.loads(body)["data"][0])
    assert first.to_dict() == orjson.loads(body)["data"][0], "to_dict() must give back the item"
    assert not first.spec_mismatches(), first.spec_mismatches()
    n = max(3, 2000 // PAGE)
    fns = {"json": std, "orjson": fast, "+lenient": lenient, "+strict": strict, "+id": ids, "+access": access}
    runs: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(ROUNDS):  # interleaved, so each figure sees the same machine state
        for k, fn in fns.items():
            runs[k].append(_cpu(fn, n))
    out = {k: statistics.median(v) for k, v in runs.items()}
    out["bytes"] = size
    out["fields"] = len(item)
    return out


def main(argv: list[str]) -> None:
    as_json = "--json" in argv
    providers = [a for a in argv if not a.startswith("-")] or list(ITEMS)
    print(f"per item, CPU µs, median of {ROUNDS} rounds, pages of {PAGE}")
    print(
        f"{'provider':9} {'bytes':>6} {'fields':>6} {'json':>7} {'orjson':>7} {'+lenient':>9} "
        f"{'+strict':>8} {'+id':>7} {'+access':>8}   {'len/json':>8} {'str/json':>8} {'id/json':>8} "
        f"{'acc/json':>8} {'len/orj':>8}"
    )
    for p in providers:
        r = bench(p)
        ratio = {k: r[k] / r["json"] for k in ("+lenient", "+strict", "+id", "+access")}
        print(
            f"{p:9} {r['bytes']:>6.0f} {r['fields']:>6.0f} {r['json']:>7.2f} {r['orjson']:>7.2f} "
            f"{r['+lenient']:>9.2f} {r['+strict']:>8.2f} {r['+id']:>7.2f} {r['+access']:>8.2f}   "
            f"{ratio['+lenient']:>7.2f}x {ratio['+strict']:>7.2f}x {ratio['+id']:>7.2f}x {ratio['+access']:>7.2f}x "
            f"{r['+lenient'] / r['orjson']:>7.2f}x"
        )
        if as_json:
            for k, v in r.items():
                print(json.dumps({"bench": "models", "provider": p, "figure": k, "value": round(v, 3)}))
            for k, v in ratio.items():
                print(
                    json.dumps(
                        {"bench": "models", "provider": p, "figure": f"{k}/json", "value": round(v, 3)}
                    )
                )


if __name__ == "__main__":
    main(sys.argv[1:])
