"""Receiving webhooks: signature verification and dispatch to the generated event models.

Verification works on the raw request body bytes (never re-serialized JSON) and compares
signatures in constant time. Each provider declares its scheme in the ``[webhooks]`` table
of ``specs/<provider>/provider.toml``; the generator turns it into a :class:`WebhookScheme`
and a :class:`Webhooks` subclass whose ``unwrap`` returns the spec's typed event models:

- ``stripe``: ``Stripe-Signature: t=<unix>,v1=<hex hmac-sha256 of "<t>.<body>">`` (several
  ``v1`` while a secret rotates), timestamp within ``tolerance``;
- ``standard`` (Standard Webhooks, OpenAI): ``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature: v1,<base64 hmac-sha256 of "<id>.<timestamp>.<body>">`` with
  ``whsec_<base64>`` secrets;
- ``github``: ``X-Hub-Signature-256: sha256=<hex hmac-sha256 of the body>``;
- ``hmac``: any other provider's plain HMAC header (header name, prefix, hex or base64,
  algorithm from the config).

Failures raise a :class:`WebhookVerificationError` subclass naming what is wrong (missing
header, malformed header, bad signature, timestamp outside tolerance, replay), never the
secret or the signatures. Several secrets may be given (rotation): any one verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal, Protocol, Union
from urllib.parse import parse_qs

import attrs

from ._errors import ConfigurationError, PolvoError, ResponseValidationError

__all__ = [
    "EnvelopeWebhooks",
    "MalformedWebhookHeaderError",
    "MemoryReplayStore",
    "MissingWebhookHeaderError",
    "ReplayStore",
    "UnknownWebhookEvent",
    "WebhookBody",
    "WebhookHeaders",
    "WebhookPayloadError",
    "WebhookReplayError",
    "WebhookScheme",
    "WebhookSecret",
    "WebhookSignatureError",
    "WebhookTimestampError",
    "WebhookVerificationError",
    "Webhooks",
    "sign_webhook",
    "verify_webhook",
]

logger = logging.getLogger("usepolvo")

#: the raw body as received: bytes (``await request.body()``), or text that is encoded as UTF-8
WebhookBody = Union[bytes, bytearray, memoryview, str]
#: request headers: any mapping (Starlette's ``Headers``, a dict) or (name, value) pairs,
#: including ASGI's raw ``list[tuple[bytes, bytes]]``; names are matched case-insensitively
WebhookHeaders = Union[Mapping[str, str], Iterable[tuple[str, str]], Iterable[tuple[bytes, bytes]]]
#: one secret, or several while a secret is being rotated (any one of them verifies)
WebhookSecret = Union[str, bytes, Sequence[Union[str, bytes]]]

SchemeKind = Literal["stripe", "standard", "github", "hmac"]


# -- errors --------------------------------------------------------------------------------


class WebhookVerificationError(PolvoError, ValueError):
    """A webhook request could not be verified: answer it with 400 and do not act on it.

    ``header`` names the header concerned (when there is one). Messages never contain the
    secret, the signatures or the body.
    """

    def __init__(self, message: str, *, header: str | None = None) -> None:
        self.header = header
        super().__init__(message)


class MissingWebhookHeaderError(WebhookVerificationError):
    """A header the scheme needs is absent (is the request really from the provider?)."""


class MalformedWebhookHeaderError(WebhookVerificationError):
    """A signature or timestamp header is present but cannot be read."""


class WebhookSignatureError(WebhookVerificationError):
    """No signature matches: the body was altered, or the secret is not the endpoint's."""


class WebhookTimestampError(WebhookVerificationError):
    """The signed timestamp is further than ``tolerance`` seconds from now.

    Either a captured request is being replayed later, or this machine's clock is off.
    """

    def __init__(self, message: str, *, header: str | None, timestamp: int, tolerance: float) -> None:
        self.timestamp = timestamp
        self.tolerance = tolerance
        super().__init__(message, header=header)


class WebhookReplayError(WebhookVerificationError):
    """A correctly signed request this receiver already accepted was received again."""


class WebhookPayloadError(PolvoError, ValueError):
    """The verified body is not JSON, so it cannot be turned into an event."""


# -- scheme ---------------------------------------------------------------------------------

_PRESETS: dict[str, dict[str, Any]] = {
    "stripe": {"signature_header": "Stripe-Signature", "encoding": "hex"},
    "standard": {
        "signature_header": "webhook-signature",
        "timestamp_header": "webhook-timestamp",
        "id_header": "webhook-id",
        "encoding": "base64",
    },
    "github": {"signature_header": "X-Hub-Signature-256", "prefix": "sha256=", "encoding": "hex"},
    "hmac": {},
}


@attrs.frozen
class WebhookScheme:
    """How a provider signs its webhook requests (the ``[webhooks]`` table of its config).

    ``kind`` picks the algorithm; the other fields default per kind and can be overridden,
    so a provider that signs like Stripe or Standard Webhooks under other header names, or
    with a plain HMAC header, needs configuration and no code.
    """

    kind: SchemeKind
    signature_header: str
    timestamp_header: str | None = None
    id_header: str | None = None
    prefix: str = ""
    encoding: Literal["hex", "base64"] = "hex"
    algorithm: str = "sha256"
    tolerance: float = 300.0
    secret_env: str | None = None

    @classmethod
    def from_config(cls, kind: str, **options: Any) -> WebhookScheme:
        """The scheme ``kind`` with its preset defaults, overridden by ``options``."""
        if kind not in _PRESETS:
            raise ConfigurationError(
                f"unknown webhook scheme {kind!r}: use one of {', '.join(sorted(_PRESETS))}"
            )
        values = {**_PRESETS[kind], **{k: v for k, v in options.items() if v is not None}}
        if not values.get("signature_header"):
            raise ConfigurationError(f"webhook scheme {kind!r} needs signature_header (the header to read)")
        if values.get("encoding", "hex") not in ("hex", "base64"):
            raise ConfigurationError("webhook encoding must be 'hex' or 'base64'")
        if kind in ("github", "hmac") and values.get("timestamp_header"):
            raise ConfigurationError(
                "a plain HMAC signs the body only, so a timestamp header would prove nothing: "
                "for a signed timestamp use scheme 'stripe' (t=...,v1=...) or 'standard' with header overrides"
            )
        if not float(values.get("tolerance", 300.0)) >= 0:  # NaN too
            raise ConfigurationError("webhook tolerance must be >= 0 seconds (0 turns the check off)")
        if values.get("algorithm", "sha256") not in hashlib.algorithms_guaranteed:
            raise ConfigurationError(f"unknown webhook HMAC algorithm {values['algorithm']!r}")
        return cls(kind=kind, **values)  # type: ignore[arg-type]


# -- inputs ---------------------------------------------------------------------------------


def _body_bytes(body: WebhookBody) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    raise ConfigurationError(
        f"pass the raw request body (bytes, e.g. `await request.body()`), not a {type(body).__name__}: "
        "signatures cover the exact bytes sent, which re-serializing a parsed body changes"
    )


def _header_map(headers: WebhookHeaders) -> dict[str, str]:
    items: Iterable[Any] = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in items:
        key = name.decode("latin-1") if isinstance(name, (bytes, bytearray)) else str(name)
        text = value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)
        out.setdefault(key.lower(), text)
    return out


def _require(headers: dict[str, str], name: str) -> str:
    value = headers.get(name.lower())
    if value is None or not value.strip():
        raise MissingWebhookHeaderError(f"the {name} header is missing", header=name)
    return value.strip()


def _check_tolerance(value: float) -> float:
    """A tolerance in seconds: a number >= 0 (``nan`` would silently turn the check off)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigurationError("tolerance must be a number >= 0 seconds (0 turns the timestamp check off)")
    return value


def _secrets(secret: WebhookSecret | None, scheme: WebhookScheme) -> list[str | bytes]:
    if secret is None and scheme.secret_env:
        secret = os.environ.get(scheme.secret_env) or None
    if secret is None:
        where = f" or set {scheme.secret_env}" if scheme.secret_env else ""
        raise ConfigurationError(f"no webhook signing secret: pass secret=...{where}")
    if isinstance(secret, (str, bytes)):
        items: list[Any] = [secret]
    elif isinstance(secret, Sequence):
        items = list(secret)
    else:  # a dict would give its keys, an int a TypeError: say what is expected instead
        raise ConfigurationError(
            f"a webhook secret is a string, bytes or a list of them, not a {type(secret).__name__}"
        )
    if not items or any(not isinstance(s, (str, bytes)) or not s for s in items):
        raise ConfigurationError("webhook secrets must be non-empty strings (or bytes)")
    return items


def _key(secret: str | bytes, scheme: WebhookScheme) -> bytes:
    """The HMAC key of a secret: Standard Webhooks' ``whsec_<base64>``, else its UTF-8 bytes."""
    if isinstance(secret, bytes):
        return secret
    if scheme.kind != "standard":
        return secret.encode("utf-8")
    text = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(
            "the webhook secret is not a Standard Webhooks secret (expected whsec_ followed by base64; "
            "copy it again from the provider's dashboard)"
        ) from None
    if not key:
        raise ConfigurationError("the webhook secret is empty after its whsec_ prefix")
    return key


def _mac(key: bytes, message: bytes, scheme: WebhookScheme) -> bytes:
    return hmac.new(key, message, scheme.algorithm).digest()


def _decode_sig(value: str, encoding: str) -> bytes | None:
    try:
        if encoding == "hex":
            return bytes.fromhex(value)
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _timestamp(value: str, header: str) -> int:
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 15:
        raise MalformedWebhookHeaderError(f"the {header} timestamp is not unix seconds", header=header)
    return int(text)


# -- verification ---------------------------------------------------------------------------


@attrs.frozen
class _Signed:
    """What a scheme extracted from the headers: the signed message, candidate signatures."""

    message_prefix: bytes
    signatures: list[bytes]
    timestamp: int | None
    timestamp_header: str | None


def _parse(headers: dict[str, str], scheme: WebhookScheme) -> _Signed:
    name = scheme.signature_header
    raw = _require(headers, name)
    if scheme.kind == "stripe":
        t: str | None = None
        candidates: list[str] = []
        for part in raw.split(","):
            k, sep, v = part.strip().partition("=")
            if not sep:
                raise MalformedWebhookHeaderError(
                    f"the {name} header is not a list of key=value pairs", header=name
                )
            if k == "t":
                t = v
            elif k == "v1":
                candidates.append(v)
        if t is None:
            raise MalformedWebhookHeaderError(f"the {name} header has no t= timestamp", header=name)
        ts = _timestamp(t, name)
        if not candidates:
            raise MalformedWebhookHeaderError(f"the {name} header has no v1= signature", header=name)
        sigs = [s for s in (_decode_sig(c, "hex") for c in candidates) if s is not None]
        if not sigs:
            raise MalformedWebhookHeaderError(f"the {name} v1= signatures are not hex", header=name)
        return _Signed(f"{ts}.".encode(), sigs, ts, name)
    if scheme.kind == "standard":
        id_header = scheme.id_header or "webhook-id"
        ts_header = scheme.timestamp_header or "webhook-timestamp"
        msg_id = _require(headers, id_header)
        ts = _timestamp(_require(headers, ts_header), ts_header)
        entries = [e.partition(",") for e in raw.split()]
        v1 = [sig for version, sep, sig in entries if sep and version == "v1"]
        if not v1:
            raise MalformedWebhookHeaderError(f"the {name} header has no v1,<base64> signature", header=name)
        sigs = [s for s in (_decode_sig(c, "base64") for c in v1) if s is not None]
        if not sigs:
            raise MalformedWebhookHeaderError(f"the {name} v1 signatures are not base64", header=name)
        return _Signed(f"{msg_id}.{ts}.".encode(), sigs, ts, ts_header)
    # github / hmac: one signature of the body alone
    if scheme.prefix and not raw.startswith(scheme.prefix):
        raise MalformedWebhookHeaderError(
            f"the {name} header does not start with {scheme.prefix!r}", header=name
        )
    sig = _decode_sig(raw[len(scheme.prefix) :].strip(), scheme.encoding)
    if sig is None:
        raise MalformedWebhookHeaderError(f"the {name} signature is not {scheme.encoding}", header=name)
    return _Signed(b"", [sig], None, None)


def verify_webhook(
    scheme: WebhookScheme,
    body: WebhookBody,
    headers: WebhookHeaders,
    secret: WebhookSecret | None = None,
    *,
    tolerance: float | None = None,
    now: float | None = None,
) -> bytes:
    """Check a webhook request's signature (and timestamp); return the digest that matched.

    Raises a :class:`WebhookVerificationError` subclass when the request is not authentic.
    ``tolerance`` (seconds, default the scheme's) bounds how far the signed timestamp may be
    from ``now`` (default ``time.time()``); ``tolerance=0`` turns the check off.
    """
    data = _body_bytes(body)
    keys = [_key(s, scheme) for s in _secrets(secret, scheme)]
    signed = _parse(_header_map(headers), scheme)
    message = signed.message_prefix + data
    matched: bytes | None = None
    for key in keys:
        expected = _mac(key, message, scheme)
        for candidate in signed.signatures:
            # compare every candidate (no early exit): the time taken says nothing of which matched
            if hmac.compare_digest(expected, candidate) and matched is None:
                matched = expected
    if matched is None:
        logger.debug("webhook rejected: no %s signature matches", scheme.signature_header)
        raise WebhookSignatureError(
            f"no {scheme.signature_header} signature matches the body: the body was altered "
            "or the secret is not this endpoint's signing secret",
            header=scheme.signature_header,
        )
    limit = scheme.tolerance if tolerance is None else _check_tolerance(tolerance)
    if signed.timestamp is not None and limit:
        current = time.time() if now is None else now
        age = current - signed.timestamp
        if abs(age) > limit:
            when = f"{int(age)} s old" if age > 0 else f"{int(-age)} s in the future"
            logger.debug("webhook rejected: timestamp %s", when)
            raise WebhookTimestampError(
                f"the signed timestamp is {when}, outside the {limit:g} s tolerance "
                "(a replayed request, or this machine's clock is off)",
                header=signed.timestamp_header,
                timestamp=signed.timestamp,
                tolerance=limit,
            )
    return matched


def sign_webhook(
    scheme: WebhookScheme,
    body: WebhookBody,
    secret: str | bytes,
    *,
    timestamp: int | None = None,
    msg_id: str = "msg_polvo_test",
) -> dict[str, str]:
    """The headers the provider would send with ``body`` (for tests of your own endpoint)."""
    data = _body_bytes(body)
    key = _key(secret, scheme)
    ts = int(time.time()) if timestamp is None else int(timestamp)
    if scheme.kind == "stripe":
        sig = _mac(key, f"{ts}.".encode() + data, scheme).hex()
        return {scheme.signature_header: f"t={ts},v1={sig}"}
    if scheme.kind == "standard":
        mac = _mac(key, f"{msg_id}.{ts}.".encode() + data, scheme)
        return {
            scheme.id_header or "webhook-id": msg_id,
            scheme.timestamp_header or "webhook-timestamp": str(ts),
            scheme.signature_header: "v1," + base64.b64encode(mac).decode(),
        }
    mac = _mac(key, data, scheme)
    text = mac.hex() if scheme.encoding == "hex" else base64.b64encode(mac).decode()
    return {scheme.signature_header: scheme.prefix + text}


# -- replays --------------------------------------------------------------------------------


class ReplayStore(Protocol):
    """Remembers accepted signatures until they expire (plug in a shared store across workers)."""

    def add(self, key: str, expires_at: float, now: float) -> bool:
        """Record ``key``; return False when it is already recorded and not yet expired."""
        ...


class MemoryReplayStore:
    """An in-process :class:`ReplayStore`, bounded to ``max_entries`` (oldest dropped first)."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._seen: dict[str, float] = {}
        self._max = max_entries
        self._lock = threading.Lock()

    def add(self, key: str, expires_at: float, now: float) -> bool:
        with self._lock:
            known = self._seen.get(key)
            if known is not None and known > now:
                return False
            if len(self._seen) >= self._max:
                for k in [k for k, exp in self._seen.items() if exp <= now]:
                    del self._seen[k]
                while len(self._seen) >= self._max:
                    del self._seen[next(iter(self._seen))]
            self._seen.pop(key, None)
            self._seen[key] = expires_at
            return True


# -- events ---------------------------------------------------------------------------------


@attrs.define
class UnknownWebhookEvent:
    """An event this SDK's pinned spec does not describe, kept losslessly.

    ``type`` is the event name (GitHub's ``X-GitHub-Event`` header, else the body's type
    field), ``action`` its action when the provider has one, ``data`` the whole JSON body
    and ``reason`` why it was not decoded into a typed model.
    """

    type: str
    action: str | None
    data: Any
    reason: str = "not described by the pinned spec"

    def to_dict(self) -> Any:
        """The JSON body as received."""
        return self.data


Decoder = Callable[[Any], Any]


def _loads(data: bytes, headers: dict[str, str]) -> Any:
    from ._json import loads

    content_type = headers.get("content-type", "")
    try:
        if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            # GitHub's form deliveries: payload=<url-encoded JSON>
            form = parse_qs(data.decode("utf-8"), keep_blank_values=True)
            return loads(form["payload"][0])
        return loads(data)
    except (ValueError, KeyError, UnicodeDecodeError):
        raise WebhookPayloadError("the webhook body is not JSON (nor a form with a JSON `payload`)") from None


class Webhooks:
    """Verify and decode one provider's webhook requests (generated subclasses add the types).

    ``secret`` (one, or several during rotation) defaults to the scheme's environment
    variable; ``tolerance`` (seconds) to the scheme's; ``clock`` returns unix seconds
    (inject one in tests). Every accepted signature is remembered for the tolerance window
    in ``replay_store`` (in memory by default; ``replay_store=None`` turns the check off),
    so the same signed request is accepted once.
    """

    scheme: ClassVar[WebhookScheme]
    #: how the generated subclass finds an event's model: the header naming the event and
    #: the body field naming its action/type; ``_events`` maps (header value or "", field
    #: value or None for any) to a decoder
    _event_header: ClassVar[str | None] = None
    _event_field: ClassVar[str | None] = None
    _events: ClassVar[Mapping[tuple[str, str | None], Decoder]] = {}

    def __init__(
        self,
        client: object | None = None,
        *,
        secret: WebhookSecret | None = None,
        tolerance: float | None = None,
        clock: Callable[[], float] | None = None,
        replay_store: ReplayStore | Literal["memory"] | None = "memory",
    ) -> None:
        if not hasattr(self, "scheme"):
            raise TypeError(f"{type(self).__name__} is a base class: use a provider's (e.g. StripeWebhooks)")
        self._client = client
        self.__secret = secret
        if tolerance is not None:
            _check_tolerance(tolerance)
        self.tolerance = self.scheme.tolerance if tolerance is None else tolerance
        self._clock = clock or time.time
        self._replays: ReplayStore | None = MemoryReplayStore() if replay_store == "memory" else replay_store

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scheme={self.scheme.kind!r}, tolerance={self.tolerance:g})"

    def verify(
        self,
        body: WebhookBody,
        headers: WebhookHeaders,
        *,
        secret: WebhookSecret | None = None,
        tolerance: float | None = None,
        now: float | None = None,
    ) -> None:
        """Raise a :class:`WebhookVerificationError` unless the request is authentic and new.

        Use it alone when you only need the check; :meth:`unwrap` verifies too, so call one
        of them per request (the second would be a replay).
        """
        current = self._clock() if now is None else now
        limit = self.tolerance if tolerance is None else tolerance
        digest = verify_webhook(
            self.scheme,
            body,
            headers,
            self.__secret if secret is None else secret,
            tolerance=limit,
            now=current,
        )
        if self._replays is not None:
            # a signed timestamp passes while it is within ``limit`` of the clock, up to
            # ``current + limit`` ahead: remember the signature until it can pass no more
            window = 2 * (limit or self.scheme.tolerance)
            if not self._replays.add(digest.hex(), current + window, current):
                logger.debug("webhook rejected: replayed signature")
                raise WebhookReplayError(
                    "this signed request was already accepted (a replay): ignore it",
                    header=self.scheme.signature_header,
                )

    def sign(self, body: WebhookBody, *, secret: str | bytes, timestamp: int | None = None) -> dict[str, str]:
        """The headers the provider would send for ``body`` (for tests of your endpoint)."""
        ts = int(self._clock()) if timestamp is None else timestamp
        return sign_webhook(self.scheme, body, secret, timestamp=ts)

    def unwrap(
        self,
        body: WebhookBody,
        headers: WebhookHeaders,
        *,
        secret: WebhookSecret | None = None,
        tolerance: float | None = None,
        now: float | None = None,
    ) -> Any:
        """Verify the request, then decode its body into the typed event (generated types)."""
        return self._unwrap(body, headers, secret=secret, tolerance=tolerance, now=now)

    def parse(self, body: WebhookBody, headers: WebhookHeaders | None = None) -> Any:
        """Decode a body without verifying it (already verified, or trusted test data)."""
        return self._parse(body, headers)

    def _unwrap(
        self,
        body: WebhookBody,
        headers: WebhookHeaders,
        *,
        secret: WebhookSecret | None,
        tolerance: float | None,
        now: float | None,
    ) -> Any:
        self.verify(body, headers, secret=secret, tolerance=tolerance, now=now)
        return self._parse(body, headers)

    def _parse(self, body: WebhookBody, headers: WebhookHeaders | None) -> Any:
        hmap = _header_map(headers) if headers is not None else {}
        return self._decode(_loads(_body_bytes(body), hmap), hmap)

    def _decode(self, data: Any, headers: dict[str, str]) -> Any:
        """The typed event for a JSON body: looked up by event header and type/action field."""
        name = headers.get(self._event_header.lower(), "") if self._event_header else ""
        field = data.get(self._event_field) if isinstance(data, dict) and self._event_field else None
        field = field if isinstance(field, str) else None
        decoder = self._events.get((name, field)) or self._events.get((name, None))
        kind = name or field or ""
        action = field if name else None
        if decoder is None:
            return UnknownWebhookEvent(kind, action, data)
        if not isinstance(data, dict):  # a decoder would hand a non-object back as it is
            return UnknownWebhookEvent(kind, action, data, "the body is not a JSON object")
        return _lenient(decoder, data, lambda reason: UnknownWebhookEvent(kind, action, data, reason))


def _lenient(decoder: Decoder, data: Any, fallback: Callable[[str], Any]) -> Any:
    """``decoder(data)``, or the generic ``fallback`` when the models reject the body.

    FALLBACK: models that still raise on a missing required field or a mistyped value (see
    lenient response decoding) would make a real event an exception; a webhook receiver
    must not fail on a payload the spec describes imperfectly, so that event is returned
    generic (losslessly, with the reason) instead. With fully lenient models this is unused.
    """
    try:
        return decoder(data)
    except ResponseValidationError as exc:
        return fallback(f"does not match its model: {exc}")


class EnvelopeWebhooks(Webhooks):
    """Providers whose every event is one envelope object wrapping a resource (Stripe).

    ``_envelope`` is (consts, decoder): the envelope model is decoded when the body carries
    those consts (Stripe's ``object: "event"``); the resource at ``_object_path`` is decoded by the model
    its ``_object_field`` names (``_objects``), else kept as its JSON object.
    """

    _envelope: ClassVar[tuple[Mapping[str, object], Decoder]]
    _object_path: ClassVar[tuple[str, ...]] = ()
    _object_field: ClassVar[str] = "object"
    _objects: ClassVar[Mapping[str, Decoder]] = {}
    _event_class: ClassVar[Callable[..., Any]]

    def _decode(self, data: Any, headers: dict[str, str]) -> Any:
        kind = data.get("type") if isinstance(data, dict) else None
        kind = kind if isinstance(kind, str) else ""
        consts, envelope_decoder = self._envelope
        if not isinstance(data, dict) or any(data.get(k) != v for k, v in consts.items()):
            return UnknownWebhookEvent(kind, None, data, "not an event envelope of the pinned spec")
        try:
            envelope = envelope_decoder(data)
        except ResponseValidationError as exc:  # FALLBACK: see _lenient
            return UnknownWebhookEvent(
                kind, None, data, f"the event envelope does not match its model: {exc}"
            )
        raw: Any = data
        for step in self._object_path:
            raw = raw.get(step) if isinstance(raw, dict) else None
        if not isinstance(raw, dict):
            where = ".".join(self._object_path)
            return UnknownWebhookEvent(kind, None, data, f"the event carries no object at {where}")
        obj: Any = raw
        decoder = self._objects.get(str(raw.get(self._object_field)))
        if decoder is not None:
            obj = _lenient(decoder, raw, lambda reason: raw)
        return self._event_class(type=kind, event=envelope, object=obj)
