"""A small Stripe-like HTTP server on loopback, for tests and the seed example.

It emulates just enough of the Stripe API to exercise a client end to end::

    with StripeServer(customers=250, charges=30) as server:
        client = StripeClient(api_key=server.api_key, base_url=server.url)
        ...
        assert server.requests_for("GET", "/v1/customers")[0].query_dict["limit"] == "10"

- ``GET /v1/customers`` and ``GET /v1/charges``: Stripe list objects with ``limit``
  (default 10, 1 to 100), ``starting_after`` and ``ending_before``, newest first;
  ``email`` (customers) and ``customer`` (charges) filters.
- ``POST /v1/customers`` (``application/x-www-form-urlencoded``, nested keys decoded the
  way Stripe does: ``metadata[k]=v``, ``expand[]=x``, ``tax_id_data[0][type]=t``).
- ``GET`` / ``DELETE /v1/customers/{id}``, ``GET /v1/charges/{id}``.
- Stripe error bodies and statuses (400, 401, 404, 409, 413), a ``Request-Id`` header on
  every response, and ``Idempotency-Key`` replays on ``POST`` (same key, same response).

Every request is recorded (method, path, query pairs, headers, body, decoded form pairs) in
a bounded, thread-safe log. The server binds 127.0.0.1 on a free port, serves from a
background thread, and :meth:`StripeServer.stop` shuts it down and joins every thread.
"""

from __future__ import annotations

import base64
import binascii
import collections
import contextlib
import hmac
import ipaddress
import json
import re
import secrets
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "API_VERSION",
    "DEFAULT_API_KEY",
    "FormDecodeError",
    "RecordedRequest",
    "StripeServer",
    "decode_form",
]

API_VERSION = "2023-08-16"
DEFAULT_API_KEY = "sk_test_local"

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_SEEDED = 10_000  # seeded objects per type
MAX_CUSTOMERS = 2 * MAX_SEEDED  # seeded plus created
MAX_BODY = 1 << 20  # bytes
MAX_RECORDED = 10_000  # requests kept in the log (oldest dropped first)
MAX_IDEMPOTENCY_KEYS = 1_000
MAX_IDEMPOTENCY_KEY_LENGTH = 255
SEED_CREATED = 1_692_144_000  # 2023-08-16T00:00:00Z; seeded objects are older than this

_FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Radia", "Guido")
_LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Perlman")
_CITIES = (
    ("Berlin", "DE", "10115"),
    ("Dublin", "IE", "D02 X285"),
    ("San Francisco", "US", "94103"),
    ("Lisbon", "PT", "1100-148"),
)

# Top-level parameters of POST /v1/customers in the 2023-08-16 API.
_CREATE_CUSTOMER_PARAMS = frozenset(
    {
        "address", "balance", "cash_balance", "coupon", "description", "email", "expand",
        "invoice_prefix", "invoice_settings", "metadata", "name", "next_invoice_sequence",
        "payment_method", "phone", "preferred_locales", "promotion_code", "shipping", "source",
        "tax", "tax_exempt", "tax_id_data", "test_clock",
    }
)  # fmt: skip
_INT_PARAMS = frozenset({"balance", "next_invoice_sequence"})
_TAX_EXEMPT = frozenset({"", "exempt", "none", "reverse"})

_ROUTE = re.compile(r"^/v1/(customers|charges)(?:/([^/]+))?/?$")


# -- recorded requests -------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    body: bytes
    form: tuple[tuple[str, str], ...]
    """The body's ``key=value`` pairs, percent-decoded, in order (form bodies only)."""

    def header(self, name: str) -> str | None:
        """The last value of a header, case-insensitively, or ``None``."""
        lowered = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == lowered:
                found = value
        return found

    @property
    def query_dict(self) -> dict[str, str]:
        """The query pairs as a dict (the last value of a repeated key wins)."""
        return dict(self.query)

    @property
    def form_dict(self) -> dict[str, str]:
        """The form pairs as a dict (the last value of a repeated key wins)."""
        return dict(self.form)


# -- form decoding -----------------------------------------------------------------------


class FormDecodeError(ValueError):
    """A form key that cannot be decoded into Stripe's nested structure."""


_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def _split_key(key: str) -> list[str]:
    head, bracket, rest = key.partition("[")
    if not bracket:
        return [key]
    rest = bracket + rest
    parts = _BRACKETS.findall(rest)
    if not head or "".join(f"[{p}]" for p in parts) != rest:
        raise FormDecodeError(f"Invalid parameter name: {key!r}")
    return [head, *parts]


def _insert(node: dict[str, Any], tokens: list[str], value: str, key: str) -> None:
    token, rest = tokens[0], tokens[1:]
    if not rest:
        if token in node:
            raise FormDecodeError(f"Parameter {key!r} was given more than once")
        node[token] = value
        return
    if rest == [""]:  # key[]=value
        items = node.setdefault(token, [])
        if not isinstance(items, list):
            raise FormDecodeError(f"Parameter {key!r} mixes a list with other values")
        items.append(value)
        return
    if "" in rest:
        raise FormDecodeError(f"Invalid parameter name: {key!r}")
    child = node.setdefault(token, {})
    if not isinstance(child, dict):
        raise FormDecodeError(f"Parameter {key!r} mixes a hash with other values")
    _insert(child, rest, value, key)


def _listify(value: Any, parent: str) -> Any:
    if isinstance(value, list):
        return [_listify(v, parent) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _listify(v, k) for k, v in value.items()}
    if parent != "metadata" and out and all(k.isdigit() for k in out):
        indexes = sorted(int(k) for k in out)
        if indexes == list(range(len(indexes))):
            return [out[str(i)] for i in indexes]
    return out


def decode_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Rebuild the nested parameters Stripe reads from flat form pairs.

    ``metadata[k]=v`` becomes ``{"metadata": {"k": "v"}}``, ``expand[]=a`` a list, and
    ``items[0][price]=p`` a list of dicts. Values stay strings, as on the wire.
    """
    root: dict[str, Any] = {}
    for key, value in pairs:
        _insert(root, _split_key(key), value, key)
    return {k: _listify(v, k) for k, v in root.items()}


# -- seeded objects ----------------------------------------------------------------------


def _customer(n: int, created: int) -> dict[str, Any]:
    first, last = _FIRST[n % len(_FIRST)], _LAST[(n // len(_FIRST)) % len(_LAST)]
    return {
        "id": f"cus_{n:05d}",
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": created,
        "currency": "usd" if n % 3 else None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": f"{first.lower()}.{last.lower()}.{n}@example.com",
        "invoice_prefix": f"{(n * 2_654_435_761) & 0xFFFFFFFF:08X}",
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": f"{first} {last}",
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def _charge(n: int, created: int, customer: dict[str, Any] | None) -> dict[str, Any]:
    failed = n % 7 == 0
    amount = 500 + (n * 137) % 9_500
    city, country, postal = _CITIES[n % len(_CITIES)]
    return {
        "id": f"ch_{n:05d}",
        "object": "charge",
        "amount": amount,
        "amount_captured": 0 if failed else amount,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None if failed else f"txn_{n:05d}",
        "billing_details": {
            "address": {
                "city": city,
                "country": country,
                "line1": f"{n} Example Street",
                "line2": None,
                "postal_code": postal,
                "state": None,
            },
            "email": customer["email"] if customer else None,
            "name": customer["name"] if customer else None,
            "phone": None,
        },
        "calculated_statement_descriptor": "POLVO TEST",
        "captured": not failed,
        "created": created,
        "currency": "usd",
        "customer": customer["id"] if customer else None,
        "description": f"Order #{1000 + n}",
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": "card_declined" if failed else None,
        "failure_message": "Your card was declined." if failed else None,
        "fraud_details": {},
        "invoice": None,
        "livemode": False,
        "metadata": {"order_id": str(1000 + n)},
        "on_behalf_of": None,
        "outcome": {
            "network_status": "declined_by_network" if failed else "approved_by_network",
            "reason": "generic_decline" if failed else None,
            "risk_level": "normal",
            "risk_score": (n * 13) % 65,
            "seller_message": "The bank did not return any further details with this decline."
            if failed
            else "Payment complete.",
            "type": "issuer_declined" if failed else "authorized",
        },
        "paid": not failed,
        "payment_intent": f"pi_{n:05d}",
        "payment_method": f"pm_{n:05d}",
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None if failed else f"https://pay.stripe.com/receipts/ch_{n:05d}",
        "refunded": False,
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "failed" if failed else "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }


# -- responses ---------------------------------------------------------------------------


@dataclass
class _Response:
    status: int
    body: Any
    headers: dict[str, str]


def _error(
    status: int, message: str, *, type: str = "invalid_request_error", code: str | None = None,
    param: str | None = None, headers: Mapping[str, str] | None = None,
) -> _Response:  # fmt: skip
    error: dict[str, Any] = {"message": message, "type": type}
    if code is not None:
        error["code"] = code
        error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    if param is not None:
        error["param"] = param
    return _Response(status, {"error": error}, dict(headers or {}))


def _missing(kind: str, object_id: str, param: str = "id") -> _Response:
    return _error(404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


def _mask(key: str) -> str:
    if len(key) <= 12:
        return "*" * len(key)
    return key[:8] + "*" * (len(key) - 12) + key[-4:]


def _request_id() -> str:
    return "req_" + secrets.token_hex(7)


# -- the emulated API --------------------------------------------------------------------


class StripeServer:
    """A Stripe-like API on ``127.0.0.1`` for tests; use as a context manager or start/stop.

    ``customers`` and ``charges`` seed that many objects, newest first (``cus_00001`` is
    the newest customer); charge ``n`` belongs to customer ``(n - 1) % customers + 1``.
    Requests must carry ``Authorization: Bearer <api_key>`` (or Basic with the key as user).
    ``write_delay`` (seconds, at most 1) slows ``POST`` handling, e.g. to provoke the 409 Stripe
    answers while another request with the same ``Idempotency-Key`` is in flight.
    """

    def __init__(
        self,
        *,
        customers: int = 25,
        charges: int = 25,
        api_key: str = DEFAULT_API_KEY,
        host: str = "127.0.0.1",
        write_delay: float = 0.0,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the test server only binds loopback addresses, not {host!r}")
        for name, count in (("customers", customers), ("charges", charges)):
            if not 0 <= count <= MAX_SEEDED:
                raise ValueError(f"{name} must be between 0 and {MAX_SEEDED}, got {count}")
        if not api_key:
            raise ValueError("api_key must not be empty")
        if not 0 <= write_delay <= 1:
            raise ValueError(f"write_delay must be between 0 and 1 second, got {write_delay}")
        self.write_delay = write_delay
        self.api_key = api_key
        self.host = host
        self._lock = threading.Lock()
        self._log: collections.deque[RecordedRequest] = collections.deque(maxlen=MAX_RECORDED)
        self._customers = [_customer(n, SEED_CREATED - n * 3_600) for n in range(1, customers + 1)]
        self._charges = [
            _charge(n, SEED_CREATED - n * 1_800, self._customers[(n - 1) % customers] if customers else None)
            for n in range(1, charges + 1)
        ]
        self._deleted: set[str] = set()
        self._next_customer = customers + 1
        self._idempotency: collections.OrderedDict[str, tuple[tuple[str, str, bytes], _Response]] = (
            collections.OrderedDict()
        )
        self._in_flight: set[str] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> StripeServer:
        """Bind a free port and serve from a background thread."""
        if self._httpd is not None:
            raise RuntimeError("the server is already running")
        httpd = _HTTPServer((self.host, 0), self)
        thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="stripe-test-server", daemon=True
        )
        thread.start()
        self._httpd, self._thread = httpd, thread
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and join every thread (idempotent)."""
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is None:
            return
        try:
            httpd.shutdown()
        finally:
            httpd.close_connections()
            httpd.server_close()  # joins the request threads
            if thread is not None:
                thread.join(timeout=10)

    def __enter__(self) -> StripeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The base URL to give a client, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    # -- assertions ----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far (up to the last 10,000), oldest first."""
        with self._lock:
            return list(self._log)

    def requests_for(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """The recorded requests with this method and/or path."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper()) and (path is None or r.path == path)
        ]

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    @property
    def customer_ids(self) -> list[str]:
        """Ids of the live customers, in list order (newest first)."""
        with self._lock:
            return [c["id"] for c in self._customers]

    @property
    def charge_ids(self) -> list[str]:
        with self._lock:
            return [c["id"] for c in self._charges]

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        """A copy of a live customer, or ``None``."""
        return self._find(self._customers, customer_id)

    def charge(self, charge_id: str) -> dict[str, Any] | None:
        """A copy of a charge, or ``None``."""
        return self._find(self._charges, charge_id)

    def _find(self, items: list[dict[str, Any]], object_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = next((item for item in items if item["id"] == object_id), None)
            return json.loads(json.dumps(found)) if found is not None else None

    # -- request handling (called from the request threads) ------------------------------

    def _handle(self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes) -> _Response:
        split = urlsplit(target)
        path = split.path
        query = tuple(parse_qsl(split.query, keep_blank_values=True))
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        form: tuple[tuple[str, str], ...] = ()
        if body and content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            form = tuple(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        record = RecordedRequest(method, path, query, tuple(headers), body, form)
        with self._lock:
            self._log.append(record)

        auth_error = self._check_auth(record.header("Authorization"))
        if auth_error is not None:
            return auth_error
        match = _ROUTE.match(path)
        if match is None:
            return _error(404, f"Unrecognized request URL ({method}: {path}).")
        kind, object_id = match.group(1), match.group(2)
        object_id = unquote(object_id) if object_id is not None else None
        if method == "POST" and kind == "customers" and object_id is None:
            return self._idempotent(record, lambda: self._create_customer(record))
        if method == "GET" and object_id is None:
            return self._list(kind, record)
        if method == "GET" and object_id is not None:
            return self._retrieve(kind, object_id)
        if method == "DELETE" and kind == "customers" and object_id is not None:
            return self._delete_customer(object_id)
        return _error(404, f"Unrecognized request URL ({method}: {path}).")

    def _check_auth(self, header: str | None) -> _Response | None:
        if not header:
            return _error(
                401,
                "You did not provide an API key. You need to provide your API key in the Authorization "
                "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
                headers={"WWW-Authenticate": 'Basic realm="Stripe"'},
            )
        scheme, _, credential = header.partition(" ")
        key = credential.strip()
        if scheme.lower() == "basic":
            try:
                key = base64.b64decode(key, validate=True).decode().partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                key = ""
        elif scheme.lower() != "bearer":
            key = ""
        if not key or not hmac.compare_digest(key.encode(), self.api_key.encode()):
            return _error(
                401,
                f"Invalid API Key provided: {_mask(key)}",
                headers={"WWW-Authenticate": 'Basic realm="Stripe"'},
            )
        return None

    def _idempotent(self, record: RecordedRequest, run: Callable[[], _Response]) -> _Response:
        key = record.header("Idempotency-Key")
        if key is None:
            return run()
        if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            return _error(
                400,
                f"Idempotency-Key must be at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters long.",
                type="idempotency_error",
            )
        fingerprint = (record.method, record.path, record.body)
        with self._lock:
            saved = self._idempotency.get(key)
            if saved is None and key in self._in_flight:
                return _error(
                    409,
                    "There is currently another in-progress request using this Idempotent Key (that "
                    "probably means you submitted twice, and the other request is still going through): "
                    f"{key}. Please try again later.",
                    type="idempotency_error",
                )
            if saved is None:
                self._in_flight.add(key)
        if saved is not None:
            if saved[0] != fingerprint:
                return _error(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters they were "
                    f"first used with. Try using a key other than '{key}' if you meant to execute a "
                    "different request.",
                    type="idempotency_error",
                )
            response = saved[1]
            return _Response(
                response.status, response.body, {**response.headers, "Idempotent-Replayed": "true"}
            )
        try:
            response = run()
            response.headers.setdefault("Request-Id", _request_id())
            response.headers["Idempotency-Key"] = key
            # Like Stripe, keep the result once the endpoint ran (not for rejected parameters).
            if response.status < 400 or response.status >= 500:
                with self._lock:
                    self._idempotency[key] = (fingerprint, response)
                    while len(self._idempotency) > MAX_IDEMPOTENCY_KEYS:
                        self._idempotency.popitem(last=False)
            return response
        finally:
            with self._lock:
                self._in_flight.discard(key)

    def _list(self, kind: str, record: RecordedRequest) -> _Response:
        params = record.query_dict
        raw_limit = params.get("limit", str(DEFAULT_LIMIT))
        try:
            limit = int(raw_limit)
        except ValueError:
            return _error(
                400, f"Invalid integer: {raw_limit}", code="parameter_invalid_integer", param="limit"
            )
        if not 1 <= limit <= MAX_LIMIT:
            return _error(
                400,
                f"This value must be greater than or equal to 1 and less than or equal to {MAX_LIMIT}.",
                code="parameter_invalid_integer",
                param="limit",
            )
        after, before = params.get("starting_after"), params.get("ending_before")
        if after and before:
            return _error(400, "You may only specify one of these parameters: ending_before, starting_after.")
        singular = kind[:-1]
        with self._lock:
            items = self._customers if kind == "customers" else self._charges
            if kind == "customers" and params.get("email"):
                items = [c for c in items if c.get("email") == params["email"]]
            if kind == "charges" and params.get("customer"):
                items = [c for c in items if c.get("customer") == params["customer"]]
            ids = [item["id"] for item in items]
            cursor = after or before
            if cursor:
                try:
                    index = ids.index(cursor)
                except ValueError:
                    return _missing(singular, cursor, "starting_after" if after else "ending_before")
            if after:
                page = items[index + 1 : index + 1 + limit]
                has_more = index + 1 + limit < len(items)
            elif before:
                start = max(0, index - limit)
                page = items[start:index]
                has_more = start > 0
            else:
                page = items[:limit]
                has_more = limit < len(items)
            data = json.loads(json.dumps(page))
        return _Response(
            200, {"object": "list", "data": data, "has_more": has_more, "url": f"/v1/{kind}"}, {}
        )

    def _retrieve(self, kind: str, object_id: str) -> _Response:
        with self._lock:
            if kind == "customers" and object_id in self._deleted:
                return _Response(200, {"id": object_id, "object": "customer", "deleted": True}, {})
            items = self._customers if kind == "customers" else self._charges
            found = next((item for item in items if item["id"] == object_id), None)
            if found is None:
                return _missing(kind[:-1], object_id)
            return _Response(200, json.loads(json.dumps(found)), {})

    def _delete_customer(self, object_id: str) -> _Response:
        with self._lock:
            index = next((i for i, c in enumerate(self._customers) if c["id"] == object_id), None)
            if index is None:
                return _missing("customer", object_id)
            del self._customers[index]
            self._deleted.add(object_id)
        return _Response(200, {"id": object_id, "object": "customer", "deleted": True}, {})

    def _create_customer(self, record: RecordedRequest) -> _Response:
        if self.write_delay:
            time.sleep(self.write_delay)  # widens the window for concurrent idempotent requests
        try:
            params = decode_form(record.form)
        except FormDecodeError as exc:
            return _error(400, str(exc), code="parameter_invalid")
        for name in params:
            if name not in _CREATE_CUSTOMER_PARAMS:
                return _error(
                    400, f"Received unknown parameter: {name}", code="parameter_unknown", param=name
                )
        for name in _INT_PARAMS & params.keys():
            try:
                params[name] = int(params[name])
            except (TypeError, ValueError):
                return _error(
                    400, f"Invalid integer: {params[name]}", code="parameter_invalid_integer", param=name
                )
        metadata = params.get("metadata", {})
        if metadata == "":
            metadata = {}
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            return _error(400, "Invalid hash", code="parameter_invalid", param="metadata")
        if "tax_exempt" in params and params["tax_exempt"] not in _TAX_EXEMPT:
            return _error(400, f"Invalid tax_exempt: {params['tax_exempt']}", param="tax_exempt")
        with self._lock:
            if len(self._customers) >= MAX_CUSTOMERS:
                return _error(400, f"The test server holds at most {MAX_CUSTOMERS} customers.")
            n = self._next_customer
            self._next_customer += 1
            newest = self._customers[0]["created"] if self._customers else SEED_CREATED
            customer = _customer(n, max(int(time.time()), newest + 1))
            customer.update(
                email=params.get("email"),
                name=params.get("name"),
                description=params.get("description"),
                phone=params.get("phone"),
                balance=params.get("balance", 0),
                metadata=metadata,
                preferred_locales=params.get("preferred_locales", []),
                tax_exempt=params.get("tax_exempt") or "none",
                currency=None,
            )
            if isinstance(params.get("address"), dict):
                customer["address"] = {
                    k: params["address"].get(k)
                    for k in ("city", "country", "line1", "line2", "postal_code", "state")
                }
            if "invoice_prefix" in params:
                customer["invoice_prefix"] = params["invoice_prefix"]
            if "next_invoice_sequence" in params:
                customer["next_invoice_sequence"] = params["next_invoice_sequence"]
            self._customers.insert(0, customer)
            return _Response(200, json.loads(json.dumps(customer)), {})


# -- HTTP plumbing -----------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # request threads are joined by server_close()
    block_on_close = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], app: StripeServer) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._closing = False
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup: skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def track(self, conn: socket.socket) -> None:
        with self._connections_lock:
            if self._closing:  # accepted just before shutdown: do not serve it
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                return
            self._connections.add(conn)

    def untrack(self, conn: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(conn)

    def close_connections(self) -> None:
        """Wake request threads idling on keep-alive connections so they can be joined."""
        with self._connections_lock:
            self._closing = True
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections are dropped after this many seconds
    server_version = "stripe-test-server"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        if self.headers.get("Transfer-Encoding"):
            self._write(_error(411, "Send a Content-Length, not a chunked body."), close=True)
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._write(_error(413, f"Request bodies are limited to {MAX_BODY} bytes."), close=True)
            return
        body = self.rfile.read(length) if length else b""
        try:
            response = self.server.app._handle(self.command, self.path, list(self.headers.items()), body)
        except Exception as exc:  # noqa: BLE001 - a bug here must answer, not hang the client
            response = _error(500, f"test server error: {type(exc).__name__}: {exc}", type="api_error")
        self._write(response)

    def _write(self, response: _Response, *, close: bool = False) -> None:
        payload = json.dumps(response.body).encode()
        headers = {"Request-Id": _request_id(), **response.headers}
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Stripe-Version", self.headers.get("Stripe-Version") or API_VERSION)
        for name, value in headers.items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(payload)
