"""Realistic benchmark payloads, synthesized from each pinned spec's schemas at bench time.

A canned payload with a handful of fields flatters any client: the cost of typed access
grows with the fields and nested objects of a real answer. Here each body is built from the
schema of its operation in the pinned spec (read from the spec mirror, never copied into the
repository), by one general rule:

- every property of every object is filled, required or optional, nullable or not;
- a union (``anyOf``/``oneOf``) is its first object branch, except an expandable one
  (Stripe's ``x-expansionResources``), which is its string branch: an ID unless expanded;
- a scalar is the schema's ``example`` when it has one of the right type, else its first
  ``enum`` value, else a value fitting its ``format`` (date-time, uri, email, unix time…);
- an array holds ``ARRAY_ITEMS`` items, a free-form map (``additionalProperties``) two
  entries;
- objects nested deeper than ``FULL_DEPTH`` get their required properties only, and below
  ``MAX_DEPTH`` nothing (a cycle such as an issue's ``repository.owner…`` ends there);
- per provider, the fields the API leaves out unless asked (``OMIT``: Stripe's
  ``expand[]``-only lists and balances, GitHub's ``repository``, ``body_html``/``body_text``
  that need a media type, a user's ``name``/``email``) are left out, and the few a typical
  object has as ``null`` (``NULL``: a customer's ``discount``, an open issue's ``closed_by``,
  ``closed_at``) are ``null``, as the API sends them.

``describe()`` prints the sizes (``python scripts/_bench_payloads.py``). Synthesized bodies are cached under
``.cache/bench/`` keyed by the pin's sha256 (reading Stripe's YAML takes seconds).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench"
#: bump when the synthesis rules change (invalidates the cache)
RULES_VERSION = "3"
FULL_DEPTH = 2
MAX_DEPTH = 4
ARRAY_ITEMS = 1
LIST_ITEMS = 100

#: (provider, schema) → properties the API leaves out unless asked for
OMIT: dict[tuple[str, str], frozenset[str]] = {
    # only with expand[]= (https://stripe.com/docs/api/customers/object: "expandable", "includable")
    ("stripe", "customer"): frozenset(
        {"cash_balance", "invoice_credit_balance", "sources", "subscriptions", "tax", "tax_ids"}
    ),
    # `repository` is sent by the cross-repository issue searches, body_html/body_text with
    # the html/text media types; the rest are newer fields GitHub omits when empty
    ("github", "issue"): frozenset(
        {
            "repository",
            "body_html",
            "body_text",
            "performed_via_github_app",
            "pinned_comment",
            "issue_field_values",
            "type",
            "pull_request",  # issues that are pull requests only
            "draft",
        }
    ),
    # name/email are filled in user-profile answers only; starred_at in stargazer lists
    ("github", "simple-user"): frozenset({"name", "email", "starred_at"}),
    ("github", "nullable-simple-user"): frozenset({"name", "email", "starred_at"}),
}
#: (provider, schema) → properties a typical object has as null
NULL: dict[tuple[str, str], frozenset[str]] = {
    ("stripe", "customer"): frozenset({"discount"}),
    ("github", "issue"): frozenset({"closed_by", "closed_at"}),
}

#: provider → (schema name, path of the single GET, path of the list, list shape)
TARGETS: dict[str, tuple[str, str, str, str]] = {
    "stripe": ("customer", "/v1/customers/cus_bench", "/v1/customers", "stripe_list"),
    "github": ("issue", "/repos/o/r/issues/1", "/repos/o/r/issues", "array"),
    "openai": ("OpenAIFile", "/files/file-bench", "/files", "openai_list"),
}


class _Synth:
    def __init__(self, provider: str, spec: dict[str, Any]) -> None:
        self.provider = provider
        self.schemas: dict[str, Any] = spec.get("components", {}).get("schemas", {})
        self.counter = 0

    def ref(self, node: Any) -> tuple[Any, str | None]:
        name = None
        while isinstance(node, dict) and "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            node = self.schemas[name]
        return node, name

    def value(self, node: Any, depth: int, key: str = "", name: str | None = None) -> Any:
        node, ref_name = self.ref(node)
        name = ref_name or name
        if not isinstance(node, dict):
            return "x"
        if "allOf" in node:
            merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
            for part in node["allOf"]:
                part, _ = self.ref(part)
                merged["properties"].update(part.get("properties", {}))
                merged["required"] += part.get("required", [])
            return self.value(merged, depth, key, name)
        branches = node.get("anyOf") or node.get("oneOf")
        if branches:
            resolved = [self.ref(b) for b in branches]
            for b, _ in resolved:
                if "x-expansionResources" in node and isinstance(b, dict) and b.get("type") == "string":
                    return self.value(b, depth, key)
            for b, n in resolved:
                if isinstance(b, dict) and (b.get("type") == "object" or "properties" in b):
                    return self.value(b, depth, key, n)
            non_null = [b for b, _ in resolved if isinstance(b, dict) and b.get("type") != "null"]
            return self.value(non_null[0] if non_null else resolved[0][0], depth, key)
        kind = node.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "string")
        if kind == "object" or "properties" in node:
            return self.object(node, depth, name)
        if kind == "array":
            return [self.value(node.get("items", {}), depth + 1, key) for _ in range(ARRAY_ITEMS)]
        return self.scalar(node, kind, key)

    def object(self, node: dict[str, Any], depth: int, name: str | None) -> Any:
        props: dict[str, Any] = node.get("properties", {})
        if depth > MAX_DEPTH:
            return None
        required = set(node.get("required", []))
        omit = OMIT.get((self.provider, name or ""), frozenset())
        null = NULL.get((self.provider, name or ""), frozenset())
        out: dict[str, Any] = {}
        for prop, sub in props.items():
            if prop in omit or (depth > FULL_DEPTH and prop not in required):
                continue
            out[prop] = None if prop in null else self.value(sub, depth + 1, prop)
        extra = node.get("additionalProperties")
        if not props and isinstance(extra, dict):
            for i in range(2):
                out[f"key_{i}"] = self.value(extra, depth + 1, "value")
        return out

    def scalar(self, node: dict[str, Any], kind: Any, key: str) -> Any:
        example = node.get("example")
        types = {"string": str, "integer": int, "number": (int, float), "boolean": bool}
        want = types.get(kind) if isinstance(kind, str) else None
        if example is not None and want is not None and isinstance(example, want):
            return example
        if node.get("enum"):
            values = [v for v in node["enum"] if v is not None]
            if values:
                return values[0]
        self.counter += 1
        fmt = node.get("format", "")
        if kind == "integer":
            return (
                1_700_000_000 + self.counter
                if "time" in fmt or key in ("created", "updated")
                else 42 + self.counter
            )
        if kind == "number":
            return 1.5
        if kind == "boolean":
            return False
        if fmt == "date-time":
            return "2024-05-01T12:34:56Z"
        if fmt == "date":
            return "2024-05-01"
        if fmt == "uri" or key.endswith("url"):
            return f"https://example.com/{key or 'x'}/{self.counter}"
        if fmt == "email" or key == "email":
            return f"user{self.counter}@example.com"
        return f"{key or 'value'} {self.counter}"


def _pin(provider: str) -> tuple[str, Path]:
    sys.path.insert(0, str(ROOT))
    from generator._pins import load_providers, locate_spec

    settings = load_providers()[provider]
    pin = settings.pins[settings.default]
    return pin.sha256, locate_spec(pin, allow_download=False)


def synthesize(provider: str) -> dict[str, bytes]:
    """``{"get": body of the single GET, "list": body of a page of LIST_ITEMS}`` for a provider."""
    schema, _, _, shape = TARGETS[provider]
    sha, path = _pin(provider)
    key = hashlib.sha256(
        f"{sha}:{RULES_VERSION}:{FULL_DEPTH}:{MAX_DEPTH}:{ARRAY_ITEMS}".encode()
    ).hexdigest()[:16]
    cached = CACHE / f"{provider}-{key}.json"
    if cached.is_file():
        data = json.loads(cached.read_text())
        return {k: v.encode() for k, v in data.items()}
    from generator._loader import load_file

    synth = _Synth(provider, load_file(path))
    one = synth.value({"$ref": f"#/components/schemas/{schema}"}, 0)
    items = []
    for i in range(LIST_ITEMS):
        item = synth.value({"$ref": f"#/components/schemas/{schema}"}, 0)
        if "id" in item:
            item["id"] = f"{item['id']}_{i}" if isinstance(item["id"], str) else i + 1
        items.append(item)
    if shape == "stripe_list":
        page: Any = {"object": "list", "data": items, "has_more": False, "url": "/v1/customers"}
    elif shape == "openai_list":
        page = {"object": "list", "data": items, "first_id": "a", "last_id": "b", "has_more": False}
    else:
        page = items
    out = {"get": json.dumps(one, separators=(",", ":")), "list": json.dumps(page, separators=(",", ":"))}
    CACHE.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(out))
    return {k: v.encode() for k, v in out.items()}


def routes() -> dict[tuple[str, str], bytes]:
    """Every realistic route the bench server answers: ``(method, path) → body``."""
    out: dict[tuple[str, str], bytes] = {}
    for provider, (_, get_path, list_path, _) in TARGETS.items():
        bodies = synthesize(provider)
        out[("GET", get_path)] = bodies["get"]
        out[("GET", list_path)] = bodies["list"]
    return out


def describe() -> dict[str, dict[str, int]]:
    """Sizes in bytes: one object, and one listed item on average."""
    out = {}
    for provider in TARGETS:
        bodies = synthesize(provider)
        page = json.loads(bodies["list"])
        items = page if isinstance(page, list) else page["data"]
        out[provider] = {
            "object_bytes": len(bodies["get"]),
            "fields": len(json.loads(bodies["get"])),
            "item_bytes": len(bodies["list"]) // len(items),
        }
    return out


if __name__ == "__main__":
    print(json.dumps(describe()))
    if len(sys.argv) > 1:
        print(synthesize(sys.argv[1])["get"].decode())
