"""Adversarial webhook requests (issue 14): hostile headers, bodies, secrets and clocks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from usepolvo.github.webhooks import GitHubWebhooks
from usepolvo.openai.webhooks import OpenAIWebhooks
from usepolvo.stripe.webhooks import StripeWebhooks

from usepolvo.core import (
    ConfigurationError,
    MalformedWebhookHeaderError,
    MissingWebhookHeaderError,
    UnknownWebhookEvent,
    WebhookPayloadError,
    WebhookSignatureError,
    WebhookTimestampError,
    WebhookVerificationError,
)

NOW = 1_700_000_000
SSECRET = "whsec_stripe_topsecret_value"
GSECRET = "gh_topsecret_value"
OKEY = b"k" * 24
OSECRET = "whsec_" + base64.b64encode(OKEY).decode()
BODY = json.dumps(
    {"id": "evt_1", "object": "event", "type": "customer.created", "data": {"object": {"object": "customer"}}}
).encode()


def ssig(t: object, body: bytes, secret: str = SSECRET) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def gsig(body: bytes, secret: str = GSECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def osig(msg_id: str, t: int, body: bytes) -> str:
    mac = hmac.new(OKEY, f"{msg_id}.{t}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def _no_secret(exc: BaseException) -> None:
    text = str(exc) + repr(exc.args) + repr(vars(exc))
    for secret in (SSECRET, GSECRET, OSECRET, base64.b64encode(OKEY).decode()):
        assert secret not in text


V = ssig(NOW, BODY)


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({"Stripe-Signature": f"t={NOW},v1={V}"}, None),
        ({"stripe-SIGNATURE": f"t={NOW},v1={V}"}, None),
        ({"Stripe-Signature": f"  t={NOW} ,  v1={V}  "}, None),
        ({"Stripe-Signature": f"t={NOW},v1={'0' * 64},v1={V}"}, None),
        ({"Stripe-Signature": f"t={NOW},v1={V.upper()}"}, None),
        ({b"Stripe-Signature": f"t={NOW},v1={V}".encode()}, None),
        ({"Stripe-Signature": ""}, MissingWebhookHeaderError),
        ({"Stripe-Signature": " \t "}, MissingWebhookHeaderError),
        ({}, MissingWebhookHeaderError),
        ({"Stripe-Signature": f"t={NOW},v1={V}é"}, MalformedWebhookHeaderError),
        (
            {"Stripe-Signature": "t=\u0661\u0667\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660,v1=" + V},
            MalformedWebhookHeaderError,
        ),
        ({"Stripe-Signature": f"t={NOW}.0,v1={V}"}, MalformedWebhookHeaderError),
        ({"Stripe-Signature": f"t=+{NOW},v1={ssig('+' + str(NOW), BODY)}"}, MalformedWebhookHeaderError),
        (
            {"Stripe-Signature": f"t=1_700_000_000,v1={ssig('1_700_000_000', BODY)}"},
            MalformedWebhookHeaderError,
        ),
        ({"Stripe-Signature": f"t=-1,v1={ssig(-1, BODY)}"}, MalformedWebhookHeaderError),
        ({"Stripe-Signature": f"t={10**400},v1={ssig(10**400, BODY)}"}, MalformedWebhookHeaderError),
        ({"Stripe-Signature": "t=1,v1=" + "a" * 2_000_000}, WebhookVerificationError),
        ({"Stripe-Signature": f"t={NOW},v1={ssig(NOW, BODY, 'whsec_other')}"}, WebhookSignatureError),
        ({"Stripe-Signature": f"v1={V}"}, WebhookVerificationError),
        ({"Stripe-Signature": f"t={NOW}"}, WebhookVerificationError),
        ({"Stripe-Signature": "=,=,,,"}, WebhookVerificationError),
    ],
)
def test_stripe_hostile_headers(headers: Any, error: type[Exception] | None) -> None:
    hooks = StripeWebhooks(secret=SSECRET, replay_store=None)
    if error is None:
        hooks.unwrap(BODY, headers, now=NOW)
        return
    with pytest.raises(error) as info:
        hooks.unwrap(BODY, headers, now=NOW)
    _no_secret(info.value)


@pytest.mark.parametrize(
    ("now", "ok"),
    [(NOW + 300, True), (NOW + 301, False), (NOW - 300, True), (NOW - 301, False), (NOW + 300.5, False)],
)
def test_stripe_tolerance_boundary(now: float, ok: bool) -> None:
    hooks = StripeWebhooks(secret=SSECRET, replay_store=None)
    headers = {"Stripe-Signature": f"t={NOW},v1={V}"}
    if ok:
        hooks.unwrap(BODY, headers, now=now)
    else:
        with pytest.raises(WebhookTimestampError) as info:
            hooks.unwrap(BODY, headers, now=now)
        _no_secret(info.value)


def test_skewed_clock_injected() -> None:
    hooks = StripeWebhooks(secret=SSECRET, replay_store=None, clock=lambda: NOW + 10_000)
    with pytest.raises(WebhookTimestampError):
        hooks.unwrap(BODY, {"Stripe-Signature": f"t={NOW},v1={V}"})
    assert StripeWebhooks(secret=SSECRET, replay_store=None, clock=lambda: NOW + 10_000, tolerance=0).unwrap(
        BODY, {"Stripe-Signature": f"t={NOW},v1={V}"}
    )


@pytest.mark.parametrize("tolerance", [float("nan"), -1, "300", True])
def test_bad_tolerance_is_refused(tolerance: Any) -> None:
    # fixed: NaN passed `tolerance < 0` and silently turned the timestamp check off
    with pytest.raises(ConfigurationError):
        StripeWebhooks(secret=SSECRET, tolerance=tolerance)
    hooks = StripeWebhooks(secret=SSECRET, replay_store=None)
    with pytest.raises(ConfigurationError):
        hooks.unwrap(BODY, {"Stripe-Signature": f"t={NOW},v1={V}"}, now=NOW + 10**9, tolerance=tolerance)


@pytest.mark.parametrize("secret", [12345, {"a": 1}, {SSECRET: 1}, 1.5, object(), "", [], [""], [SSECRET, 5]])
def test_wrong_type_secret_is_a_configuration_error(secret: Any) -> None:
    # fixed: an int gave a bare TypeError and a dict was silently read as the list of its keys
    hooks = StripeWebhooks(secret=secret, replay_store=None)
    with pytest.raises(ConfigurationError) as info:
        hooks.unwrap(BODY, {"Stripe-Signature": f"t={NOW},v1={V}"}, now=NOW)
    _no_secret(info.value)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"hello", WebhookPayloadError),
        ('{"a": "\xe9"}'.encode("latin-1"), WebhookPayloadError),
        (b"", WebhookPayloadError),
        (b'{"a": NaN}', WebhookPayloadError),
        (b'{"a":"\\ud800"}', WebhookPayloadError),
        (b"[" * 100_000 + b"]" * 100_000, WebhookPayloadError),
        (b"[1]", UnknownWebhookEvent),
        (b"null", UnknownWebhookEvent),
        (b'{"object":"event","type":"zzz.unknown","data":{"object":{"object":"zzz"}}}', None),
        (b'{"object":"event","type":"customer.created","data":null}', None),
        (b'{"object":"event","type":"customer.created","data":{"object":[1]}}', None),
        (
            b'{"type":"customer.created","type":"x.y","object":"event","data":{"object":{"object":"customer"}}}',
            None,
        ),
    ],
)
def test_stripe_hostile_bodies(body: bytes, expected: type | None) -> None:
    hooks = StripeWebhooks(secret=SSECRET, replay_store=None)
    headers = {"Stripe-Signature": f"t={NOW},v1={ssig(NOW, body)}"}
    if expected is not None and issubclass(expected, Exception):
        with pytest.raises(expected) as info:
            hooks.unwrap(body, headers, now=NOW)
        _no_secret(info.value)
    else:
        event = hooks.unwrap(body, headers, now=NOW)
        if expected is not None:
            assert isinstance(event, expected)


def test_unknown_events_are_lossless() -> None:
    body = b'{"zen": "x", "\\u00e9": [1, null], "action": "__class__"}'
    hooks = GitHubWebhooks(secret=GSECRET, replay_store=None)
    for event_name in ("__class__", "pushé", "x" * 100_000, "pull_request"):
        event = hooks.unwrap(body, {"X-Hub-Signature-256": gsig(body), "X-GitHub-Event": event_name})
        assert isinstance(event, UnknownWebhookEvent)
        assert event.data == json.loads(body)


@pytest.mark.parametrize(
    ("signature", "error"),
    [
        (lambda b: gsig(b), None),
        (lambda b: "  " + gsig(b) + " \t", None),
        (lambda b: gsig(b).replace("sha256=", "SHA256="), MalformedWebhookHeaderError),
        (lambda b: gsig(b)[7:], MalformedWebhookHeaderError),
        (lambda b: "sha256=abc", MalformedWebhookHeaderError),
        (lambda b: "sha256=" + "0" * 64 + "," + gsig(b), MalformedWebhookHeaderError),
        (lambda b: gsig(b, "other"), WebhookSignatureError),
        (lambda b: "sha256=" + "g" * 64, MalformedWebhookHeaderError),
    ],
)
def test_github_hostile_signature(signature: Any, error: type[Exception] | None) -> None:
    body = b'{"zen":"x","hook_id":1}'
    hooks = GitHubWebhooks(secret=GSECRET, replay_store=None)
    headers = {"X-Hub-Signature-256": signature(body), "X-GitHub-Event": "ping"}
    if error is None:
        hooks.unwrap(body, headers)
        return
    with pytest.raises(error) as info:
        hooks.unwrap(body, headers)
    _no_secret(info.value)


def test_github_sha1_only_is_missing() -> None:
    body = b"{}"
    hooks = GitHubWebhooks(secret=GSECRET, replay_store=None)
    sha1 = "sha1=" + hmac.new(GSECRET.encode(), body, hashlib.sha1).hexdigest()
    with pytest.raises(MissingWebhookHeaderError):
        hooks.unwrap(body, {"X-Hub-Signature": sha1, "X-GitHub-Event": "ping"})


OBODY = b'{"id":"evt_1","object":"event","type":"batch.completed","created_at":1,"data":{"id":"b"}}'


def _oh(msg_id: str = "msg_1", t: int = NOW, body: bytes = OBODY) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(t), "webhook-signature": osig(msg_id, t, body)}


@pytest.mark.parametrize(
    ("headers", "now", "error"),
    [
        (_oh(), NOW, None),
        (_oh("a.b"), NOW, None),
        ({**_oh(), "webhook-signature": "v1,AAAA " + _oh()["webhook-signature"]}, NOW, None),
        ({**_oh(), "webhook-signature": "v1a,xxx"}, NOW, MalformedWebhookHeaderError),
        ({**_oh(), "webhook-signature": "garbage"}, NOW, MalformedWebhookHeaderError),
        ({**_oh(), "webhook-timestamp": f"{NOW}.0"}, NOW, MalformedWebhookHeaderError),
        (_oh(""), NOW, MissingWebhookHeaderError),
        (_oh(), NOW + 300, None),
        (_oh(), NOW + 301, WebhookTimestampError),
        (_oh(), NOW - 301, WebhookTimestampError),
    ],
)
def test_openai_hostile_headers(headers: dict[str, str], now: int, error: type[Exception] | None) -> None:
    hooks = OpenAIWebhooks(secret=OSECRET, replay_store=None)
    if error is None:
        hooks.unwrap(OBODY, headers, now=now)
        return
    with pytest.raises(error) as info:
        hooks.unwrap(OBODY, headers, now=now)
    _no_secret(info.value)


@pytest.mark.parametrize("secret", ["whsec_!!!notbase64", "whsec_", 7])
def test_openai_bad_secret_format(secret: Any) -> None:
    hooks = OpenAIWebhooks(secret=secret, replay_store=None)
    with pytest.raises(ConfigurationError) as info:
        hooks.unwrap(OBODY, _oh(), now=NOW)
    if isinstance(secret, str) and len(secret) > len("whsec_"):
        assert secret not in str(info.value)


def test_receivers_repr_hides_secret() -> None:
    for hooks in (
        StripeWebhooks(secret=SSECRET),
        GitHubWebhooks(secret=GSECRET),
        OpenAIWebhooks(secret=OSECRET),
    ):
        _no_secret(Exception(repr(hooks)))


@pytest.mark.parametrize("body", [b"null", b"5", b"[]", b'"s"', b"true"])
@pytest.mark.parametrize("event", ["ping", "push", "pull_request"])
def test_github_known_event_with_non_object_body_is_generic(body: bytes, event: str) -> None:
    # fixed: a known event's decoder handed a non-object body back as it was (None, 5, [] ...)
    hooks = GitHubWebhooks(secret=GSECRET, replay_store=None)
    result = hooks.unwrap(body, {"X-Hub-Signature-256": gsig(body), "X-GitHub-Event": event})
    assert isinstance(result, UnknownWebhookEvent)
    assert result.data == json.loads(body)


@pytest.mark.parametrize("body", [b"null", b"[]", b"5"])
def test_openai_non_object_body_is_generic(body: bytes) -> None:
    hooks = OpenAIWebhooks(secret=OSECRET, replay_store=None)
    result = hooks.unwrap(body, _oh(body=body), now=NOW)
    assert isinstance(result, UnknownWebhookEvent)
