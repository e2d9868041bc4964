"""Webhook signature verification, per provider: what is accepted and each typed rejection.

Signatures here are made independently of the code under test (``hmac`` by hand for Stripe
and GitHub, the ``standardwebhooks`` reference library for OpenAI), so a shared mistake in
signing and verifying cannot pass unnoticed.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
import standardwebhooks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from usepolvo.github.webhooks import GitHubWebhooks
from usepolvo.openai.webhooks import OpenAIWebhooks
from usepolvo.stripe.webhooks import StripeWebhooks, WebhookEnvelope

from usepolvo.core import (
    ConfigurationError,
    MalformedWebhookHeaderError,
    MemoryReplayStore,
    MissingWebhookHeaderError,
    UnknownWebhookEvent,
    WebhookPayloadError,
    WebhookReplayError,
    Webhooks,
    WebhookScheme,
    WebhookSignatureError,
    WebhookTimestampError,
    WebhookVerificationError,
    sign_webhook,
    verify_webhook,
)

NOW = 1_750_000_000
SECRETS = {
    "stripe": "whsec_stripe_test_9f8e7d6c5b4a",
    "github": "gh-hook-secret-5d1c0ffee",
    "openai": "whsec_" + base64.b64encode(b"openai-signing-key-0123456789abcdef").decode(),
}
OTHER = {
    "stripe": "whsec_stripe_other_000000",
    "github": "gh-hook-other-000000",
    "openai": "whsec_" + base64.b64encode(b"another-key-entirely-000000000000").decode(),
}

STRIPE_BODY = {
    "id": "evt_1",
    "object": "event",
    "api_version": "2023-08-16",
    "created": NOW,
    "livemode": False,
    "pending_webhooks": 1,
    "request": None,
    "type": "customer.deleted",
    "data": {"object": {"id": "cus_1", "object": "customer", "deleted": True}},
}
GITHUB_BODY = {
    "zen": "Keep it logically awesome.",
    "hook_id": 1,
    "hook": {
        "type": "Repository",
        "id": 1,
        "name": "web",
        "active": True,
        "events": ["push"],
        "config": {"content_type": "json", "url": "https://example.com/hook"},
        "updated_at": "2023-01-01T00:00:00Z",
        "created_at": "2023-01-01T00:00:00Z",
    },
}
OPENAI_BODY = {
    "id": "evt_abc",
    "object": "event",
    "type": "batch.completed",
    "created_at": NOW,
    "data": {"id": "batch_abc"},
}
BODIES = {"stripe": STRIPE_BODY, "github": GITHUB_BODY, "openai": OPENAI_BODY}
CLASSES: dict[str, type[Webhooks]] = {
    "stripe": StripeWebhooks,
    "github": GitHubWebhooks,
    "openai": OpenAIWebhooks,
}
PROVIDERS = ["stripe", "github", "openai"]
TIMED = ["stripe", "openai"]  # GitHub signs no timestamp


def body_of(provider: str) -> bytes:
    # spaces and key order as a server might send them: verification must use these bytes
    return json.dumps(BODIES[provider], indent=1).encode()


def sign(
    provider: str, body: bytes, secret: str, *, ts: int = NOW, msg_id: str = "msg_2Lh9"
) -> dict[str, str]:
    """The provider's headers, computed without the code under test."""
    if provider == "stripe":
        sig = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        return {"Stripe-Signature": f"t={ts},v1={sig}"}
    if provider == "github":
        sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return {"X-Hub-Signature-256": f"sha256={sig}", "X-GitHub-Event": "ping", "X-GitHub-Delivery": "d1"}
    stamp = dt.datetime.fromtimestamp(ts, dt.timezone.utc)
    signature = standardwebhooks.Webhook(secret).sign(msg_id, stamp, body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


def receiver(provider: str, **kwargs: Any) -> Webhooks:
    return CLASSES[provider](secret=SECRETS[provider], clock=lambda: NOW + 5, **kwargs)


EXPECTED = {"stripe": WebhookEnvelope, "github": None, "openai": None}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_valid_signature_is_accepted_and_decoded(provider: str) -> None:
    body = body_of(provider)
    event = receiver(provider).unwrap(body, sign(provider, body, SECRETS[provider]))
    assert not isinstance(event, UnknownWebhookEvent), event
    if provider == "stripe":
        assert isinstance(event, WebhookEnvelope)
        assert type(event.object).__name__ == "DeletedCustomer"
        assert event.type == "customer.deleted"
    else:
        assert type(event).__name__ == {"github": "WebhookPing", "openai": "WebhookBatchCompleted"}[provider]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_verify_alone_returns_none(provider: str) -> None:
    body = body_of(provider)
    receiver(provider).verify(body, sign(provider, body, SECRETS[provider]))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_tampered_body_is_a_signature_error(provider: str) -> None:
    body = body_of(provider)
    headers = sign(provider, body, SECRETS[provider])
    for tampered in (
        body.replace(b"1", b"2", 1),
        body + b" ",
        body[:-1],
        json.dumps(BODIES[provider]).encode(),
    ):
        with pytest.raises(WebhookSignatureError) as info:
            receiver(provider).unwrap(tampered, headers)
        assert "altered" in str(info.value)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_wrong_secret_is_a_signature_error(provider: str) -> None:
    body = body_of(provider)
    with pytest.raises(WebhookSignatureError):
        receiver(provider).verify(body, sign(provider, body, OTHER[provider]))
    with pytest.raises(WebhookSignatureError):  # signed right, verified with another secret
        receiver(provider).verify(body, sign(provider, body, SECRETS[provider]), secret=OTHER[provider])


@pytest.mark.parametrize("provider", TIMED)
def test_expired_and_future_timestamps_are_timestamp_errors(provider: str) -> None:
    body = body_of(provider)
    for ts in (NOW - 301, NOW - 86_400, NOW + 400):
        with pytest.raises(WebhookTimestampError) as info:
            receiver(provider).verify(body, sign(provider, body, SECRETS[provider], ts=ts), now=NOW)
        assert info.value.tolerance == 300
        assert info.value.timestamp == ts
    # at the edge of the default 300 s tolerance: still fine
    receiver(provider).verify(body, sign(provider, body, SECRETS[provider], ts=NOW - 300), now=NOW)


@pytest.mark.parametrize("provider", TIMED)
def test_tolerance_and_clock_are_configurable(provider: str) -> None:
    body = body_of(provider)
    headers = sign(provider, body, SECRETS[provider], ts=NOW - 1000)
    with pytest.raises(WebhookTimestampError):
        receiver(provider).verify(body, headers)  # clock says NOW + 5
    receiver(provider, tolerance=2000).verify(body, headers)
    receiver(provider).verify(body, headers, tolerance=2000)
    late = CLASSES[provider](secret=SECRETS[provider], clock=lambda: NOW - 999)
    late.verify(body, headers)
    with pytest.raises(WebhookTimestampError):
        receiver(provider).verify(body, headers, now=NOW + 10_000, tolerance=2000)
    receiver(provider, tolerance=0).verify(body, headers, now=NOW + 10**7)  # 0: no timestamp check


def test_github_signs_no_timestamp_so_only_replays_are_caught() -> None:
    body = body_of("github")
    headers = sign("github", body, SECRETS["github"])
    hooks = GitHubWebhooks(secret=SECRETS["github"])
    hooks.verify(body, headers, now=NOW + 10**6)
    with pytest.raises(WebhookReplayError):
        hooks.verify(body, headers, now=NOW + 10**6 + 1)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_replayed_valid_request_within_tolerance_is_a_replay_error(provider: str) -> None:
    body = body_of(provider)
    headers = sign(provider, body, SECRETS[provider])
    hooks = receiver(provider)
    first = hooks.unwrap(body, headers)
    with pytest.raises(WebhookReplayError) as info:
        hooks.unwrap(body, headers)
    assert "already accepted" in str(info.value)
    # a fresh delivery of the same event (new signature) is not a replay
    again = sign(provider, body, SECRETS[provider], ts=NOW + 1, msg_id="msg_other")
    if provider == "github":
        again = sign(provider, body + b"\n", SECRETS[provider])
        assert type(hooks.unwrap(body + b"\n", again)) is type(first)
    else:
        assert type(hooks.unwrap(body, again)) is type(first)
    # the store forgets a signature once its timestamp could no longer pass
    store = MemoryReplayStore()
    hooks = receiver(provider, replay_store=store)
    hooks.verify(body, headers, now=NOW)
    hooks2 = CLASSES[provider](secret=SECRETS[provider], replay_store=store, tolerance=0)
    hooks2.verify(body, headers, now=NOW + 601)
    if provider in TIMED:
        # signed ahead of this clock (skew) and replayed as late as its timestamp still passes
        ahead = sign(provider, body, SECRETS[provider], ts=NOW + 250, msg_id="msg_ahead")
        hooks = receiver(provider)
        hooks.verify(body, ahead, now=NOW)
        with pytest.raises(WebhookReplayError):
            hooks.verify(body, ahead, now=NOW + 540)
    # off when asked
    off = receiver(provider, replay_store=None)
    off.verify(body, headers)
    off.verify(body, headers)


MISSING = {
    "stripe": ["Stripe-Signature"],
    "github": ["X-Hub-Signature-256"],
    "openai": ["webhook-id", "webhook-timestamp", "webhook-signature"],
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_missing_header_is_named(provider: str) -> None:
    body = body_of(provider)
    headers = sign(provider, body, SECRETS[provider])
    for name in MISSING[provider]:
        without = {k: v for k, v in headers.items() if k.lower() != name.lower()}
        with pytest.raises(MissingWebhookHeaderError) as info:
            receiver(provider).unwrap(body, without)
        assert info.value.header == name
        assert name in str(info.value)
        blank = {**without, name: "  "}
        with pytest.raises(MissingWebhookHeaderError):
            receiver(provider).unwrap(body, blank)


def _garbled(provider: str, headers: dict[str, str]) -> list[dict[str, str]]:
    if provider == "stripe":
        sig = headers["Stripe-Signature"]
        v1 = sig.split(",")[1]
        values = [
            "garbage",
            v1,  # no timestamp
            f"t={NOW}",  # no signature
            f"t=yesterday,{v1}",
            f"t=-5,{v1}",
            f"t={NOW},v1=not-hex",
            f"t={NOW},,{v1}",
            "t=1e9," + v1,
            "t=١٢٣," + v1,  # non-ASCII digits
        ]
        return [{"Stripe-Signature": v} for v in values]
    if provider == "github":
        hexsig = headers["X-Hub-Signature-256"].removeprefix("sha256=")
        values = [hexsig, "sha1=" + hexsig, "sha256=zz" + hexsig[2:], "sha256=" + hexsig[:-1], "sha256=ünï"]
        return [{**headers, "X-Hub-Signature-256": v} for v in values]
    sig = headers["webhook-signature"]
    b64 = sig.split(",", 1)[1]
    out = [{**headers, "webhook-signature": v} for v in ("garbage", b64, "v2," + b64, "v1,@@@not base64@@@")]
    out += [{**headers, "webhook-timestamp": v} for v in ("soon", "1.5e9", "-1", "\uff19\uff19")]
    return out


@pytest.mark.parametrize("provider", PROVIDERS)
def test_garbled_header_is_a_malformed_header_error(provider: str) -> None:
    body = body_of(provider)
    headers = sign(provider, body, SECRETS[provider])
    for bad in _garbled(provider, headers):
        with pytest.raises(MalformedWebhookHeaderError) as info:
            receiver(provider).unwrap(body, bad)
        assert info.value.header is not None


@pytest.mark.parametrize("provider", PROVIDERS)
def test_rotation_two_secrets_or_two_signatures(provider: str) -> None:
    body = body_of(provider)
    old, new = OTHER[provider], SECRETS[provider]
    # the receiver knows both secrets while rotating: a request signed with either passes
    for signer in (old, new):
        hooks = CLASSES[provider](secret=[old, new], clock=lambda: NOW)
        hooks.verify(body, sign(provider, body, signer))
    with pytest.raises(WebhookSignatureError):
        CLASSES[provider](secret=[old, new], clock=lambda: NOW).verify(
            body, sign(provider, body, "whsec_" + base64.b64encode(b"third").decode())
        )
    # the provider signs with both secrets: one header carries two signatures
    if provider == "stripe":
        a = sign(provider, body, old)["Stripe-Signature"]
        b = sign(provider, body, new)["Stripe-Signature"].split(",", 1)[1]
        headers = {"Stripe-Signature": f"{a},{b},v0=ignored"}
    elif provider == "openai":
        a = sign(provider, body, old)
        b = sign(provider, body, new)["webhook-signature"]
        headers = {**a, "webhook-signature": f"v1a,x {a['webhook-signature']} {b}"}
    else:
        return  # GitHub sends one signature per request
    receiver(provider).verify(body, headers)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_secret_never_in_errors_reprs_or_logs(provider: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="usepolvo")
    secret = SECRETS[provider]
    body = body_of(provider)
    good = sign(provider, body, secret)
    cases: list[Callable[[], object]] = [
        lambda: receiver(provider).verify(body + b"x", good),
        lambda: receiver(provider).verify(body, sign(provider, body, secret, ts=NOW - 10_000)),
        lambda: receiver(provider).verify(body, {}),
        lambda: receiver(provider).verify(body, {k: v + "," for k, v in good.items()}),
        lambda: receiver(provider).verify(body, good, secret=[OTHER[provider], secret + "x"]),
    ]
    hooks = receiver(provider)
    hooks.verify(body, good)
    cases.append(lambda: hooks.verify(body, good))
    errors: list[BaseException] = []
    for case in cases:
        try:
            case()
        except (WebhookVerificationError, ConfigurationError) as exc:
            errors.append(exc)
    assert len(errors) >= 4
    raw_key = secret.removeprefix("whsec_")
    forbidden = {secret, raw_key}
    if provider == "openai":
        forbidden.add(base64.b64decode(raw_key).decode())
    texts = [str(e) + repr(e) + repr(e.args) + repr(vars(e)) for e in errors]
    texts += [caplog.text, repr(hooks), repr(receiver(provider))]
    for text in texts:
        for s in forbidden:
            assert s not in text


def test_bad_secret_configuration_never_echoes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    body = body_of("openai")
    headers = sign("openai", body, SECRETS["openai"])
    monkeypatch.delenv("OPENAI_WEBHOOK_SECRET", raising=False)
    with pytest.raises(ConfigurationError, match="OPENAI_WEBHOOK_SECRET"):
        OpenAIWebhooks().verify(body, headers)
    with pytest.raises(ConfigurationError) as info:
        OpenAIWebhooks(secret="whsec_not base64 !!secretvalue").verify(body, headers)
    assert "secretvalue" not in str(info.value)
    for empty in ("", [], [""]):
        with pytest.raises(ConfigurationError):
            OpenAIWebhooks(secret=empty).verify(body, headers)
    monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", SECRETS["openai"])
    OpenAIWebhooks(clock=lambda: NOW).verify(body, headers)


def test_body_must_be_the_raw_bytes() -> None:
    body = body_of("github")
    headers = sign("github", body, SECRETS["github"])
    with pytest.raises(ConfigurationError, match="raw request body"):
        receiver("github").verify(json.loads(body), headers)  # type: ignore[arg-type]
    receiver("github").verify(body.decode(), headers)  # text is its UTF-8 bytes
    receiver("github", replay_store=None).verify(bytearray(body), headers)
    receiver("github", replay_store=None).verify(memoryview(body), headers)


def test_headers_any_case_mapping_or_raw_asgi_pairs() -> None:
    body = body_of("openai")
    headers = sign("openai", body, SECRETS["openai"])
    hooks = receiver("openai", replay_store=None)
    hooks.verify(body, {k.upper(): v for k, v in headers.items()})
    hooks.verify(body, [(k.encode(), v.encode()) for k, v in headers.items()])
    hooks.verify(body, list(headers.items()))


def test_standard_webhooks_published_vectors() -> None:
    # the reference library's test vectors (standard-webhooks/libraries/python/tests)
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    msg_id, ts, payload = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    scheme = OpenAIWebhooks.scheme
    assert sign_webhook(scheme, payload, secret, timestamp=ts, msg_id=msg_id)["webhook-signature"] == expected
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": expected}
    verify_webhook(scheme, payload, headers, secret, now=ts)
    verify_webhook(scheme, payload, headers, secret.removeprefix("whsec_"), now=ts)  # prefix optional
    multi = " ".join(
        [
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            expected,
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        ]
    )
    verify_webhook(scheme, payload, {**headers, "webhook-signature": multi}, secret, now=ts)
    with pytest.raises(WebhookSignatureError):
        bad = {**headers, "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="}
        verify_webhook(scheme, payload, bad, secret, now=ts)


def test_agrees_with_the_standardwebhooks_library_both_ways() -> None:
    body = b'{"type": "batch.failed", "data": {"id": "b"}, "note": "\\u00fc \xc3\xbc"}'
    secret = SECRETS["openai"]
    ours = sign_webhook(OpenAIWebhooks.scheme, body, secret, timestamp=NOW, msg_id="msg_x")
    lib = standardwebhooks.Webhook(secret)
    # the library checks against the real clock: sign "now" for it
    import time

    current = int(time.time())
    ours_now = sign_webhook(OpenAIWebhooks.scheme, body, secret, timestamp=current, msg_id="msg_x")
    assert lib.verify(body, ours_now)["type"] == "batch.failed"
    theirs = lib.sign("msg_x", dt.datetime.fromtimestamp(NOW, dt.timezone.utc), body.decode())
    assert theirs == ours["webhook-signature"]


def test_plain_hmac_scheme_from_config_only() -> None:
    scheme = WebhookScheme.from_config(
        "hmac", signature_header="X-Acme-Signature", encoding="base64", algorithm="sha512"
    )
    body = b'{"event": "thing.done"}'
    mac = base64.b64encode(hmac.new(b"acme-secret", body, hashlib.sha512).digest()).decode()
    verify_webhook(scheme, body, {"x-acme-signature": mac}, "acme-secret")
    with pytest.raises(WebhookSignatureError):
        verify_webhook(scheme, body + b" ", {"x-acme-signature": mac}, "acme-secret")
    with pytest.raises(MalformedWebhookHeaderError):
        verify_webhook(scheme, body, {"x-acme-signature": "%%%"}, "acme-secret")
    with pytest.raises(MissingWebhookHeaderError):
        verify_webhook(scheme, body, {"x-other": mac}, "acme-secret")
    bad_configs: list[dict[str, Any]] = [
        {"kind": "rsa"},
        {"kind": "hmac"},
        {"kind": "hmac", "signature_header": "X", "encoding": "b32"},
        {"kind": "hmac", "signature_header": "X", "algorithm": "md4x"},
        {"kind": "hmac", "signature_header": "X", "timestamp_header": "X-Ts"},  # unsigned: proves nothing
        {"kind": "stripe", "tolerance": -1},
    ]
    for bad in bad_configs:
        kind = bad.pop("kind")
        with pytest.raises(ConfigurationError):
            WebhookScheme.from_config(kind, **bad)


def test_unknown_event_is_generic_and_lossless() -> None:
    hooks = GitHubWebhooks(secret="s")
    body = b'{"action": "teleported", "thing": {"id": 1}}'
    event = hooks.parse(body, {"X-GitHub-Event": "pull_request"})
    assert isinstance(event, UnknownWebhookEvent)
    assert (event.type, event.action) == ("pull_request", "teleported")
    assert event.to_dict() == json.loads(body)
    event = hooks.parse(body, {"X-GitHub-Event": "brand_new_event"})
    assert isinstance(event, UnknownWebhookEvent) and event.type == "brand_new_event"
    assert isinstance(hooks.parse(b"[1, 2]", {}), UnknownWebhookEvent)
    event = OpenAIWebhooks(secret="whsec_AA==").parse(b'{"type": "video.generated", "data": {}}')
    assert isinstance(event, UnknownWebhookEvent) and event.type == "video.generated"
    # Stripe: a body that is no event envelope (a v2 thin event) stays generic too
    thin = b'{"id": "evt_2", "object": "v2.core.event", "type": "v1.billing.meter.error_report_triggered"}'
    event = StripeWebhooks(secret="x").parse(thin)
    assert isinstance(event, UnknownWebhookEvent) and event.type.startswith("v1.billing")


def test_non_json_body_is_a_payload_error_after_verification() -> None:
    body = b"not json at all"
    with pytest.raises(WebhookPayloadError):
        receiver("github").unwrap(body, sign("github", body, SECRETS["github"]))
    with pytest.raises(WebhookSignatureError):  # verification comes first
        receiver("github").unwrap(body, sign("github", b"other", SECRETS["github"]))


def test_github_form_encoded_delivery() -> None:
    from urllib.parse import urlencode

    body = urlencode({"payload": json.dumps(GITHUB_BODY)}).encode()
    headers = {**sign("github", body, SECRETS["github"]), "Content-Type": "application/x-www-form-urlencoded"}
    assert type(receiver("github").unwrap(body, headers)).__name__ == "WebhookPing"


async def test_client_webhooks_is_lazy_and_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    from usepolvo.stripe import StripeClient

    async with StripeClient(api_key="sk_test_x", base_url="http://127.0.0.1:9") as client:
        hooks = client.webhooks
        assert hooks is client.webhooks
        assert isinstance(hooks, StripeWebhooks)
        body = body_of("stripe")
        event = hooks.unwrap(body, sign("stripe", body, SECRETS["stripe"]), secret=SECRETS["stripe"], now=NOW)
        assert isinstance(event, WebhookEnvelope)


def test_webhooks_load_lazily() -> None:
    """Importing a client loads no webhook code; ``client.webhooks`` loads no event model."""
    import subprocess
    import sys
    import textwrap

    probe = textwrap.dedent(
        """
        import json, sys
        from usepolvo.github import GitHubClient
        before = sorted(m for m in sys.modules if "webhooks" in m)
        client = GitHubClient(token="t", base_url="http://127.0.0.1:9")
        hooks = client.webhooks
        models = sorted(m for m in sys.modules if m.startswith("usepolvo.github.v23_0_2.models."))
        hooks.parse(b'{"zen": "z", "hook_id": 1}', {"X-GitHub-Event": "ping"})
        after = sorted(m for m in sys.modules if m.startswith("usepolvo.github.v23_0_2.models."))
        print(json.dumps([before, models, after]))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    before, models, after = json.loads(out.stdout)
    assert [m for m in before if m.startswith("usepolvo")] == []
    assert models == []
    assert 0 < len(after) < 10, after


_HEADER_TEXT = st.text(
    alphabet=st.sampled_from([*"tv01=,; abcdefABCDEF+/xyz-_.", "\u00fc", "\t", "\uff19"]), max_size=60
)


@pytest.mark.parametrize("provider", PROVIDERS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=64), values=st.lists(_HEADER_TEXT, min_size=4, max_size=4))
def test_hostile_headers_only_ever_give_verification_errors(
    provider: str, body: bytes, values: list[str]
) -> None:
    names = {
        "stripe": ["Stripe-Signature"],
        "github": ["X-Hub-Signature-256"],
        "openai": ["webhook-id", "webhook-timestamp", "webhook-signature"],
    }[provider]
    headers = dict(zip(names, values, strict=False))
    try:
        receiver(provider).unwrap(body, headers)
    except WebhookVerificationError as exc:
        assert SECRETS[provider] not in str(exc)


@pytest.mark.parametrize("provider", PROVIDERS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.recursive(
        # 64-bit integers: orjson reads larger ones as floats, a defect recorded as a strict
        # xfail in test_adversarial_lenient_models.py (it made this test fail at random)
        st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(["type", "action", "object", "data", "id", "deleted", "hook", "zen", "x"]),
                inner,
                max_size=4,
            )
        ),
        max_leaves=12,
    ),
    event=st.sampled_from(["ping", "push", "pull_request", "issues", "", "nope"]),
)
def test_any_json_decodes_to_an_event_never_an_exception(provider: str, data: Any, event: str) -> None:
    body = json.dumps(data).encode()
    result = receiver(provider).parse(body, {"X-GitHub-Event": event})
    assert result is not None
    if isinstance(result, UnknownWebhookEvent):
        assert result.data == data
