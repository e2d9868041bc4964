"""Every webhook event of every pinned spec decodes into its typed model.

Bodies are synthesized from each event's schema in the pinned spec (the contract tests'
``Synth``), then bent out of shape — extra fields, optional fields dropped, a required field
dropped — and decoded through the generated ``webhooks.py``. GitHub: all ``x-webhooks``
entries, keyed by ``X-GitHub-Event`` and ``action``; OpenAI: all ``webhooks`` entries, by
``type``; Stripe (both pins): an ``event`` envelope around every schema with an ``object``
enum, decoded into that schema's model.
"""

from __future__ import annotations

import copy
import importlib
import json
from typing import Any

import pytest

from generator._build import version_module
from generator._ir import ModelTy, UnionTy
from generator._webhooks import _field_values
from tests.contract._schema import Spec, Synth, conforms, randomly, spec_for
from usepolvo.core import ResponseValidationError, UnknownWebhookEvent

SEEDS = (0, 1)
EXTRA = {"polvo_future_field": {"nested": [1, "two"]}}


def _module(spec: Spec, name: str) -> Any:
    return importlib.import_module(f"usepolvo.{spec.provider}.{version_module(spec.version)}.{name}")


def _receiver(spec: Spec) -> Any:
    webhooks = _module(spec, "webhooks")
    cls = next(getattr(webhooks, k) for k in webhooks.__all__ if k.endswith("Webhooks"))
    return cls(secret="unused")


def _lenient(models: Any, name: str) -> bool:
    """Whether models accept a body missing required fields (lenient response decoding)."""
    try:
        getattr(models, name).from_dict({})
    except ResponseValidationError:
        return False
    return True


def _required(spec: Spec, schema: Any, body: dict[str, Any]) -> list[str]:
    """The required properties of ``schema`` (of the union variant ``body`` was built from)."""
    s = spec.deref(schema)
    if not isinstance(s, dict):
        return []
    out = list(s.get("required") or [])
    for part in s.get("allOf") or []:
        out += _required(spec, part, body)
    for key in ("oneOf", "anyOf"):
        options = [_required(spec, part, body) for part in s.get(key) or []]
        fitting = [o for o in options if all(r in body for r in o)]
        if fitting:
            out += max(fitting, key=len)
    return out


def _variants(spec: Spec, schema: Any, body: dict[str, Any], keep: set[str]) -> dict[str, dict[str, Any]]:
    """The conforming body and its non-conforming variants."""
    required = [r for r in _required(spec, schema, body) if r in body and r not in keep]
    trimmed = {k: v for k, v in body.items() if k in keep or k in required}
    out = {
        "conforming": body,
        "extra fields": {**body, **EXTRA},
        "optional fields missing": trimmed,
    }
    if required:
        out["required field missing"] = {k: v for k, v in body.items() if k != required[0]} | EXTRA
    return out


def _check(
    result: Any, ty: Any, models: Any, body: dict[str, Any], variant: str, lenient: bool
) -> str | None:
    """None when ``result`` is right for the variant, else what is wrong."""
    if isinstance(result, UnknownWebhookEvent):
        # the clearly marked fallback while models are strict about required fields:
        # generic, lossless, with the reason
        fallback = variant == "required field missing" and not lenient
        if fallback and result.data == body and "does not match" in result.reason:
            return None
        return f"{variant}: generic event ({result.reason[:200]})"
    if variant != "required field missing" and not conforms(result, ty, models):
        return f"{variant}: {type(result).__name__} is not {ty}"
    if (
        "polvo_future_field" in body
        and result.extra_fields.get("polvo_future_field") != EXTRA["polvo_future_field"]
    ):
        return f"{variant}: extra field lost"
    return None


def _section_events(spec: Spec) -> list[tuple[str, str, Any, dict[str, Any]]]:
    """(entry key, event header value, body schema, operation) for each webhook entry."""
    root = spec.root
    section = root.get("webhooks") or root.get("x-webhooks")
    out = []
    for key, item in section.items():
        op = item["post"]
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        event = ""
        for p in op.get("parameters") or []:
            p = spec.deref(p)
            if p.get("in") == "header" and p["name"].lower() == "x-github-event":
                event = p["example"]
        out.append((key, event, schema, op))
    return out


@pytest.mark.parametrize(("provider", "count"), [("github", 270), ("openai", 16)])
def test_every_spec_event_decodes_to_its_model(provider: str, count: int) -> None:
    spec = spec_for(provider)
    ir = spec.ir.webhooks
    assert ir is not None
    models = _module(spec, "models")
    receiver = _receiver(spec)
    by_key = {(e.event, e.action): e for e in ir.events}
    entries = _section_events(spec)
    assert len(entries) == count
    field = ir.event_field
    lenient = _lenient(models, next(m.name for e in ir.events if isinstance((m := e.ty), ModelTy)))
    failures: list[str] = []
    decoded = 0
    for key, event, schema, _ in entries:
        for seed in SEEDS:
            body = Synth(spec, randomly(seed)).value(schema)
            assert isinstance(body, dict), key
            if field and field not in body and (values := _field_values(spec.doc, schema, field)):
                body[field] = values[0]  # optional in some schemas, always sent
            action = body.get(field) if field else None
            ir_event = by_key.get((event, action)) or by_key.get((event, None))
            if ir_event is None:
                failures.append(f"{key}: no IR event for {(event, action)}")
                continue
            keep = {field} if field else set()
            for variant, data in _variants(spec, schema, body, keep).items():
                headers = {"X-GitHub-Event": event, "Content-Type": "application/json"} if event else {}
                result = receiver.parse(json.dumps(data).encode(), headers)
                problem = _check(result, ir_event.ty, models, data, variant, lenient)
                if problem:
                    failures.append(f"{key} (seed {seed}): {problem}")
                else:
                    decoded += 1
    assert not failures, "\n".join(failures[:30])
    assert decoded >= count * len(SEEDS) * 3


def test_github_dispatch_keys_cover_every_event_and_action() -> None:
    spec = spec_for("github")
    ir = spec.ir.webhooks
    assert ir is not None and ir.event_header == "X-GitHub-Event"
    keys = {(e.event, e.action) for e in ir.events}
    assert len(keys) == len(ir.events) == 270
    assert ("push", None) in keys
    assert ("pull_request", "opened") in keys
    assert ("repository_dispatch", None) in keys  # its action is free text
    review = next(e for e in ir.events if (e.event, e.action) == ("pull_request", "review_requested"))
    assert isinstance(review.ty, UnionTy)  # oneOf: a requested reviewer or a requested team


@pytest.mark.parametrize("version", ["2023-08-16", "2022-11-15"])
def test_stripe_event_decodes_every_object_type(version: str) -> None:
    spec = spec_for("stripe", version)
    ir = spec.ir.webhooks
    assert ir is not None
    models = _module(spec, "models")
    webhooks = _module(spec, "webhooks")
    receiver = _receiver(spec)
    lenient = _lenient(models, "Customer")
    components = spec.root["components"]["schemas"]
    with_enum = {
        key: s["properties"]["object"]["enum"]
        for key, s in components.items()
        if "enum" in ((s.get("properties") or {}).get("object") or {})
    }
    assert len(with_enum) >= 135
    model_of = {m.source.rsplit("/", 1)[-1]: m.name for m in spec.ir.models.values() if m.source}
    assert {o.value for o in ir.objects} == {v for values in with_enum.values() for v in values}
    failures: list[str] = []
    envelope = Synth(spec, randomly(7)).value(components["event"])
    for key in sorted(with_enum):
        for seed in SEEDS:
            obj = Synth(spec, randomly(seed)).value({"$ref": f"#/components/schemas/{key}"})
            for variant, data in _variants(spec, components[key], obj, {"object", "deleted"}).items():
                event = copy.deepcopy(envelope)
                event["data"] = {"object": data, "previous_attributes": {"x": 1}}
                event["type"] = f"{data['object']}.updated"
                result = receiver.parse(json.dumps(event).encode())
                if not isinstance(result, webhooks.WebhookEnvelope):
                    failures.append(f"{key} {variant}: {result}"[:300])
                    continue
                got = result.object
                if isinstance(got, dict):
                    if variant == "required field missing" and not lenient and got == data:
                        continue  # the marked fallback: the object stays its JSON
                    failures.append(f"{key} {variant}: object left undecoded")
                    continue
                if type(got).__name__ != model_of[key]:
                    failures.append(f"{key} {variant}: {type(got).__name__}, expected {model_of[key]}")
                if "polvo_future_field" in data and "polvo_future_field" not in got.extra_fields:
                    failures.append(f"{key} {variant}: extra field lost")
                assert result.type == event["type"]
                assert result.event.id == event["id"]
    assert not failures, "\n".join(failures[:30])
