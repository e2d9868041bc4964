"""Adversarial checks of issue 16's import-time laziness.

Importing a client is lazy at every boundary (models index, resources, paginator types, stdlib
modules and regexes of the runtime). The promise: nothing a user does observes it except speed.
Every check that depends on what was imported before runs in a fresh interpreter (subprocess,
with a timeout); a local HTTP server in this process answers the first calls.
"""

from __future__ import annotations

import ast
import email.utils
import gzip
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "generated" / "usepolvo"
TIMEOUT = 240
PROVIDERS = {
    "stripe": ("StripeClient", "v2023_08_16", "Customer"),
    "github": ("GitHubClient", "v23_0_2", "Issue"),
    "openai": ("OpenAIClient", "v2_3_0", "OpenAIFile"),
}
#: what the interpreter needs on sys.path to find usepolvo and its dependencies (``-S`` drops
#: site-packages, ``-I`` PYTHONPATH)
PATHS = [p for p in sys.path if p and Path(p).is_dir()]


def run_py(code: str, *flags: str, env: dict[str, str] | None = None) -> str:
    """Run ``code`` in a fresh interpreter; its stdout (fails on a non-zero exit)."""
    prelude = f"import sys\nfor _p in {PATHS!r}:\n    _p in sys.path or sys.path.append(_p)\n"
    full = dict(os.environ)
    full.update(env or {})
    proc = subprocess.run(
        [sys.executable, *flags, "-"],
        input=prelude + textwrap.dedent(code),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=str(ROOT),
        env=full,
    )
    assert proc.returncode == 0, (
        f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}"
    )
    return proc.stdout


def last_json(out: str) -> object:
    return json.loads(out.strip().splitlines()[-1])


# -- a local server for first calls -----------------------------------------------------------

_SEEN: dict[str, int] = {}
_LOCK = threading.Lock()


def _customer(cid: str, **extra: object) -> dict[str, object]:
    return {
        "id": cid,
        "object": "customer",
        "created": 1700000000,
        "livemode": False,
        "address": {"city": "Zürich", "country": "CH"},
        "metadata": {"k": "v"},
        **extra,
    }


def _issue(number: int) -> dict[str, object]:
    return {
        "id": number,
        "number": number,
        "title": "t",
        "state": "open",
        "created_at": "2024-05-06T07:08:09Z",
        "updated_at": "2024-05-06T07:08:10+02:00",
        "closed_at": None,
        "user": {"login": "octo", "id": 1},
        "labels": [{"name": "bug"}],
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _send(
        self, status: int, body: object, headers: dict[str, str] | None = None, raw: bytes | None = None
    ) -> None:
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _times(self) -> int:
        with _LOCK:
            _SEEN[self.path] = _SEEN.get(self.path, 0) + 1
            return _SEEN[self.path]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        if self.path == "/files":
            kind = self.headers.get("Content-Type", "")
            parts = [
                kind.partition(";")[0],
                'filename="notes.txt"' in body,
                "Content-Type: text/plain" in body,
            ]
            self._send(
                200,
                {
                    "id": "file-up",
                    "object": "file",
                    "bytes": len(body),
                    "created_at": 1700000000,
                    "filename": json.dumps(parts),
                    "purpose": "batch",
                },
            )
            return
        if self.path == "/chat/completions":
            events = []
            for n, (text, eol) in enumerate((("a", "\r\n"), ("b", "\r"), ("c", "\n")), 1):
                chunk = {
                    "id": f"c{n}",
                    "object": "chat.completion.chunk",
                    "created": 1700000000,
                    "model": "m",
                    "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
                }
                events.append(f"data: {json.dumps(chunk)}{eol}{eol}")
            data = ("".join(events) + "data: [DONE]\n\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self._send(200, _customer("cus_posted", description=body))

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path.startswith("/v1/customers/"):
            cid = path[len("/v1/customers/") :]
            if cid == "cus_gzip":
                self._send(
                    200,
                    None,
                    {"Content-Encoding": "gzip"},
                    gzip.compress(json.dumps(_customer(cid)).encode()),
                )
            elif cid == "cus_deflate":
                raw = zlib.compress(json.dumps(_customer(cid)).encode())
                self._send(200, None, {"Content-Encoding": "deflate"}, raw)
            elif cid.startswith("retry503-"):
                if self._times() == 1:
                    self._send(503, {"error": {"message": "busy", "type": "api_error"}})
                else:
                    self._send(200, _customer(cid))
            elif cid.startswith("retrydate-"):
                if self._times() == 1:
                    past = email.utils.formatdate(time.time() - 60, usegmt=True)
                    self._send(429, {"error": {"message": "slow", "type": "rate"}}, {"Retry-After": past})
                else:
                    self._send(200, _customer(cid))
            elif cid.startswith("retryms-"):
                if self._times() == 1:
                    self._send(429, {"error": {"message": "slow"}}, {"retry-after-ms": "5"})
                else:
                    self._send(200, _customer(cid))
            elif cid == "limited":
                self._send(
                    429,
                    {"error": {"message": "slow down", "type": "rate_limit"}},
                    {
                        "Retry-After": "7",
                        "x-ratelimit-limit": "100",
                        "x-ratelimit-remaining": "0",
                        "x-ratelimit-reset": str(int(time.time()) + 30),
                    },
                )
            else:  # echo the path as sent (still percent-encoded)
                self._send(200, _customer(cid))
        elif path == "/v1/customers":
            item = _customer("cus_listed", description=query)
            self._send(200, {"object": "list", "url": "/v1/customers", "has_more": False, "data": [item]})
        elif path.startswith("/repos/o/r/issues/"):
            self._send(
                200,
                _issue(int(path.rsplit("/", 1)[1])),
                {
                    "x-ratelimit-limit": "5000",
                    "x-ratelimit-remaining": "4999",
                    "x-ratelimit-reset": "1900000000",
                },
            )
        elif path.startswith("/repos/") and path.endswith("/issues/5"):  # echo the path as sent
            self._send(200, {**_issue(5), "title": path})
        elif path == "/repos/o/r/pages":
            cert = {"state": "approved", "description": "ok", "domains": ["a.b"], "expires_at": "2030-01-02"}
            self._send(
                200,
                {
                    "url": "u",
                    "status": "built",
                    "cname": None,
                    "custom_404": False,
                    "https_certificate": cert,
                },
            )
        elif path.startswith("/files/"):
            fid = path.rsplit("/", 1)[1]
            self._send(
                200,
                {
                    "id": fid,
                    "object": "file",
                    "bytes": 3,
                    "created_at": 1700000000,
                    "filename": "f",
                    "purpose": "batch",
                },
            )
        else:
            self._send(404, {"error": {"message": f"no route {path}"}})


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def client_code(url: str, provider: str = "stripe", **opts: str) -> str:
    cls = PROVIDERS[provider][0]
    extra = "".join(f", {k}={v}" for k, v in opts.items())
    # indented as the test bodies it is put in front of (run_py dedents the whole program)
    return (
        f"        from usepolvo.{provider} import {cls}\n"
        f"        client = {cls}(api_key='sk_test_adversarial', base_url={url!r}, rate_limit=None{extra})\n"
    )


# -- what a client import loads ---------------------------------------------------------------


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_client_import_loads_none_of_the_deferred_modules(provider: str) -> None:
    """README: a client import loads no model, resource, transport, JSON backend, asyncio,
    logging, datetime, urllib.parse or random. (The merged aiohttp fast path imported
    ``usepolvo.core._wire`` with the client, and with it logging, urllib.parse and ipaddress.)"""
    cls = PROVIDERS[provider][0]
    deferred = ["asyncio", "logging", "datetime", "urllib.parse", "ipaddress", "random", "zlib", "math"]
    deferred += ["attrs", "httpx", "aiohttp", "orjson", "json", "uuid", "email.utils", "importlib.util"]
    out = run_py(
        f"""
        import json, sys
        before = {{m: m in sys.modules for m in {deferred!r}}}
        from usepolvo.{provider} import {cls}
        loaded = [m for m in {deferred!r} if m in sys.modules and not before[m]]
        ours = [m for m in sys.modules if m.startswith("usepolvo.") and (".models" in m or ".resources" in m
                or m.endswith(("_aiohttp", "_pagination", "_streaming", "_multipart")))]
        print(json.dumps([loaded, sorted(ours)]))
        """,
        "-I",
    )
    assert last_json(out) == [[], []]


# -- names: every public name importable, listed, and typos named ------------------------------


def _stub_names(provider: str, version: str | None = None) -> list[str]:
    stub = GENERATED / provider / (version or PROVIDERS[provider][1]) / "models" / "__init__.pyi"
    for node in ast.parse(stub.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise AssertionError("no __all__ in the stub")


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_every_stub_name_is_importable_from_both_model_modules(provider: str) -> None:
    """The runtime index and the type checkers' stub list the same names, and each one
    imports (``from … import Name``) as the same class from the provider and the pin."""
    names = _stub_names(provider)
    version = PROVIDERS[provider][1]
    out = run_py(
        f"""
        import json
        import usepolvo.{provider}.models as pm
        import usepolvo.{provider}.{version}.models as vm
        names = {names!r}
        assert list(vm.__all__) == names, set(vm.__all__) ^ set(names)
        assert list(pm.__all__) == names
        assert sorted(dir(vm)) == sorted(names) and sorted(dir(pm)) == sorted(names)
        bad = []
        for name in names:
            ns = {{}}
            exec(f"from usepolvo.{provider}.models import {{name}} as a", ns)
            exec(f"from usepolvo.{provider}.{version}.models import {{name}} as b", ns)
            if ns["a"] is not ns["b"] or ns["a"].__name__ != name or getattr(pm, name) is not ns["a"]:
                bad.append(name)
        print(json.dumps(bad))
        """
    )
    assert last_json(out) == []


def test_older_pin_index_matches_its_stub_and_lists_itself() -> None:
    """The non-default Stripe pin has its own index: same checks, and its package lists
    ``models`` in ``dir()`` before loading it."""
    names = _stub_names("stripe", "v2022_11_15")
    out = run_py(
        f"""
        import json
        import usepolvo.stripe.v2022_11_15 as v
        listed = "models" in dir(v)
        m = v.models
        bad = [n for n in {names!r} if getattr(m, n).__name__ != n]
        print(json.dumps([listed, list(m.__all__) == {names!r}, bad, hasattr(m, "Custmer")]))
        """
    )
    assert last_json(out) == [True, True, [], False]


@pytest.mark.parametrize("provider", ["stripe", "openai"])
def test_star_import_of_models_in_a_fresh_interpreter(provider: str) -> None:
    model = PROVIDERS[provider][2]
    out = run_py(
        f"""
        import json
        from usepolvo.{provider}.models import *
        import usepolvo.{provider}.models as pm
        missing = [n for n in pm.__all__ if n not in globals()]
        print(json.dumps([missing, {model}.__name__, {model}.__module__]))
        """
    )
    missing, name, module = last_json(out)  # type: ignore[misc]
    assert missing == [] and name == model and ".models." in module


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_provider_package_lists_its_lazy_names(provider: str) -> None:
    """``dir()``, ``__all__``, ``hasattr`` and ``import *`` of ``usepolvo.<provider>`` agree,
    before anything lazy was touched (``Page``/``AsyncPaginator``/``models`` load on use)."""
    version = PROVIDERS[provider][1]
    out = run_py(
        f"""
        import json
        import usepolvo.{provider} as p
        import usepolvo.{provider}.{version} as v
        listed = dir(p)
        before = {{n: n in listed for n in p.__all__}}
        vlisted = {{n: n in dir(v) for n in v.__all__}}
        ns = {{}}
        exec("from usepolvo.{provider} import *", ns)
        import usepolvo.core as core
        same = p.Page is core.Page and p.AsyncPaginator is core.AsyncPaginator and ns["models"] is p.models
        print(json.dumps([before, vlisted, sorted(set(p.__all__) - set(ns)), same, hasattr(p, "Nope")]))
        """
    )
    before, vlisted, not_starred, same, nope = last_json(out)  # type: ignore[misc]
    assert all(before.values()), before
    assert all(vlisted.values()), vlisted
    assert not_starred == [] and same is True and nope is False


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_typos_are_clear_attribute_and_import_errors(provider: str) -> None:
    version = PROVIDERS[provider][1]
    out = run_py(
        f"""
        import json
        import usepolvo.{provider} as p
        import usepolvo.{provider}.models as pm
        import usepolvo.{provider}.{version}.models as vm
        import usepolvo.core as core
        odd = ["Custmer", "", "1abc", "Customer account", "Customer\\n", "\\nCustomer", "a b", "__all__x",
               "__path__", "__wrapped__", "_INDEX_", "customer", "\\uff23ustomer", "x" * 5000]
        report = []
        for mod in (p, pm, vm, core, p.{version}):
            for name in odd:
                try:
                    getattr(mod, name)
                except AttributeError as exc:
                    ok = repr(name) in str(exc) and getattr(exc, "name", name) == name
                    report.append(None if ok else [mod.__name__, name, str(exc)[:200]])
                except BaseException as exc:
                    report.append([mod.__name__, name, type(exc).__name__, str(exc)[:200]])
                else:
                    if name not in ("__path__", "__wrapped__") or mod is pm:
                        report.append([mod.__name__, name, "no error"])
                if getattr(mod, name, "default") != "default" and not name.startswith("__"):
                    report.append([mod.__name__, name, "getattr default"])
        for stmt in ("from usepolvo.{provider}.models import Custmer",
                     "from usepolvo.{provider}.{version}.models import Custmer",
                     "from usepolvo.{provider} import Custmer",
                     "from usepolvo.core import Custmer"):
            try:
                exec(stmt, {{}})
            except ImportError as exc:
                report.append(None if "Custmer" in str(exc) else [stmt, str(exc)])
            except BaseException as exc:
                report.append([stmt, type(exc).__name__, str(exc)[:200]])
        print(json.dumps([r for r in report if r]))
        """
    )
    assert last_json(out) == []


@pytest.mark.parametrize("kind", ["models", "params"])
@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_default_pin_module_is_not_a_package(provider: str, kind: str) -> None:
    """``usepolvo.<p>.models`` forwards to the pin's package: forwarding ``__path__`` too made it
    importable as a package, so ``import usepolvo.<p>.models.<module>`` loaded a second copy of
    the module whose classes are not the index's (isinstance fails across them)."""
    version = PROVIDERS[provider][1]
    sub = sorted(p.stem for p in (GENERATED / provider / version / kind).glob("[a-z]*.py"))[0]
    out = run_py(
        f"""
        import json, sys
        import usepolvo.{provider}.{kind} as m
        try:
            __import__("usepolvo.{provider}.{kind}.{sub}")
            dup = sorted(k for k in sys.modules if k.startswith("usepolvo.{provider}.{kind}."))
        except ModuleNotFoundError:
            dup = []
        print(json.dumps([hasattr(m, "__path__"), dup]))
        """
    )
    assert last_json(out) == [False, []]


def test_help_and_inspect_of_lazy_modules() -> None:
    out = run_py(
        """
        import contextlib, inspect, io, json, pydoc
        import usepolvo.stripe.models as pm
        import usepolvo.stripe as p
        from usepolvo.stripe.models import Customer
        text = pydoc.render_doc(pm, renderer=pydoc.plaintext)
        ptext = pydoc.render_doc(p, renderer=pydoc.plaintext)
        with contextlib.redirect_stdout(io.StringIO()) as buf:
            help(Customer)
        sig = inspect.signature(Customer)
        src = inspect.getsource(Customer)
        print(json.dumps(["PACKAGE CONTENTS" in text, "StripeClient" in ptext, "created" in buf.getvalue(),
                          "created" in sig.parameters, "class Customer" in src, inspect.ismodule(pm),
                          inspect.getmodule(Customer).__name__]))
        """
    )
    assert last_json(out) == [
        False,
        True,
        True,
        True,
        True,
        True,
        "usepolvo.stripe.v2023_08_16.models.customer",
    ]


# -- pickle / deepcopy -----------------------------------------------------------------------


def test_models_pickled_then_loaded_in_an_interpreter_that_never_imported_them(server: str) -> None:
    """The unpickling interpreter has imported nothing of usepolvo: pickle must find the class
    by its module path, not by the lazy index."""
    out = run_py(
        client_code(server)
        + """
        import asyncio, copy, pickle, base64, json
        async def main():
            c = await client.customers.retrieve_customer("cus_date")
            await client.aclose()
            return c
        c = asyncio.run(main())
        assert copy.deepcopy(c) == c and copy.copy(c) == c
        print(base64.b64encode(pickle.dumps([c, c.address])).decode())
        """
    )
    blob = out.strip().splitlines()[-1]
    back = run_py(
        f"""
        import base64, json, pickle
        c, a = pickle.loads(base64.b64decode({blob!r}))
        print(json.dumps([type(c).__name__, c.id, c.created.isoformat(), a.city, c.address == a, c.to_dict()["created"]]))
        """
    )
    assert last_json(back) == [
        "Customer",
        "cus_date",
        "2023-11-14T22:13:20+00:00",
        "Zürich",
        True,
        1700000000,
    ]


def test_errors_survive_pickle_and_deepcopy(server: str) -> None:
    """Errors carry keyword-only data (status, request id, body…): the default exception pickling
    calls ``cls(*args)`` and failed, or formatted the message twice."""
    out = run_py(
        client_code(server, max_retries="0")
        + """
        import asyncio, copy, json, pickle
        from usepolvo.core import (APIConnectionError, ResponseTooLargeError, ResponseValidationError,
                                   WebhookTimestampError, WebhookSignatureError, PolvoError)
        from usepolvo.stripe import RateLimitError
        async def main():
            try:
                await client.customers.retrieve_customer("limited")
            except RateLimitError as exc:
                return exc
            finally:
                await client.aclose()
        err = asyncio.run(main())
        errors = [err, APIConnectionError("down", method="GET", url="http://x", attempts=3),
                  ResponseTooLargeError(10, method="GET", url="http://x"),
                  ResponseValidationError("bad", path="$.a"),
                  WebhookTimestampError("old", header="Stripe-Signature", timestamp=1, tolerance=300.0),
                  WebhookSignatureError("nope", header="Stripe-Signature")]
        report = []
        for e in errors:
            for name, twin in (("pickle", lambda e: pickle.loads(pickle.dumps(e))), ("deepcopy", copy.deepcopy),
                               ("copy", copy.copy)):
                try:
                    t = twin(e)
                except BaseException as exc:
                    report.append([type(e).__name__, name, repr(exc)[:300]])
                    continue
                if type(t) is not type(e) or str(t) != str(e) or t.args != e.args or vars(t).keys() != vars(e).keys():
                    report.append([type(e).__name__, name, str(t), str(e)])
        r = pickle.loads(pickle.dumps(err))
        report.append([r.status_code, r.request_id, r.body, r.retry_after, r.rate_limit is not None])
        print(json.dumps(report))
        """
    )
    *problems, last = last_json(out)  # type: ignore[misc]
    assert problems == []
    assert last[0] == 429 and last[3] >= 7.0 and last[4] is True


# -- typing.get_type_hints -------------------------------------------------------------------


@pytest.mark.xfail(
    strict=True,
    reason="defect (pre-existing, not from issue 16): model and resource annotations name types "
    "imported only under TYPE_CHECKING, so typing.get_type_hints raises NameError",
)
def test_get_type_hints_on_models_and_resource_methods() -> None:
    out = run_py(
        """
        import json, typing
        from usepolvo.stripe.models import Customer
        from usepolvo.stripe import StripeClient
        from usepolvo.stripe.v2023_08_16.resources.customers import CustomersResource
        hints = typing.get_type_hints(Customer)
        mhints = typing.get_type_hints(CustomersResource.retrieve_customer)
        print(json.dumps([str(hints["address"]), str(mhints["return"])]))
        """
    )
    assert "Address" in str(last_json(out))


def test_get_type_hints_on_leaf_models_and_client_init() -> None:
    """What does resolve (no sibling model in the annotations) resolves the same in a fresh
    interpreter as after everything was loaded."""
    code = """
        import json, typing
        from usepolvo.stripe.models import Address
        from usepolvo.core import RetryPolicy
        print(json.dumps([sorted((k, str(v)) for k, v in typing.get_type_hints(Address).items()),
                          sorted(typing.get_type_hints(RetryPolicy.__init__))]))
        """
    fresh = last_json(run_py(code))
    warm = last_json(
        run_py("from usepolvo.stripe.models import *\nimport usepolvo.core\n" + textwrap.dedent(code))
    )
    assert fresh == warm and fresh[0]  # type: ignore[index]


# -- concurrency -----------------------------------------------------------------------------


def test_threads_importing_concurrently_get_one_object_per_name() -> None:
    out = run_py(
        """
        import json, threading
        names_by_mod = {}
        import usepolvo.core as core
        errors, seen = [], {}
        barrier = threading.Barrier(8)
        def work(i):
            try:
                barrier.wait()
                from usepolvo.stripe import StripeClient, models as sm
                from usepolvo.github import GitHubClient
                from usepolvo.openai.models import OpenAIFile
                import usepolvo.github.models as gm
                got = []
                for n in (sm.__all__[i::8][:60] + gm.__all__[i::8][:60]):
                    got.append(((sm if n in sm.__all__ else gm).__name__, n, id(getattr(sm if n in sm.__all__ else gm, n))))
                for n in core.__all__:
                    if n != "RedisLimiter":
                        got.append(("core", n, id(getattr(core, n))))
                from usepolvo.stripe import Page, AsyncPaginator
                got.append(("stripe", "Page", id(Page)))
                c = StripeClient(api_key="sk_test_x", base_url="http://127.0.0.1:9", rate_limit=None)
                got.append(("client", "customers", type(c.customers).__name__))
                for key in got:
                    seen.setdefault(key[:2], set()).add(key[2])
            except BaseException as exc:
                errors.append(repr(exc))
        ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        [t.start() for t in ts]
        [t.join(120) for t in ts]
        print(json.dumps([errors, sorted(str(k) for k, v in seen.items() if len(v) > 1), any(t.is_alive() for t in ts)]))
        """
    )
    assert last_json(out) == [[], [], False]


def test_threads_hitting_the_same_model_first_get_the_same_class() -> None:
    out = run_py(
        """
        import json, threading
        import usepolvo.github.models as gm
        names = [n for n in gm.__all__ if n.startswith("Webhook")][:40]
        barrier = threading.Barrier(12)
        results, errors = [], []
        def work():
            try:
                barrier.wait()
                results.append([id(getattr(gm, n)) for n in names])
            except BaseException as exc:
                errors.append(repr(exc))
        ts = [threading.Thread(target=work) for _ in range(12)]
        [t.start() for t in ts]
        [t.join(120) for t in ts]
        print(json.dumps([errors, len({tuple(r) for r in results}), len(results)]))
        """
    )
    assert last_json(out) == [[], 1, 12]


def test_gather_of_first_calls_on_a_fresh_client(server: str) -> None:
    """Every first use at once: resources, models, date fields, gzip, retries with jitter,
    Retry-After dates, list paging, odd path characters."""
    tok = uuid.uuid4().hex
    out = run_py(
        client_code(server, max_retries="RetryPolicy(3, initial_backoff=0.01, max_backoff=0.02)").replace(
            "from usepolvo.stripe", "from usepolvo.core import RetryPolicy\n        from usepolvo.stripe"
        )
        + f"""
        import asyncio, json
        async def main():
            async with client:
                calls = [client.customers.retrieve_customer("cus_date"),
                         client.customers.retrieve_customer("cus_gzip"),
                         client.customers.retrieve_customer("cus_deflate"),
                         client.customers.retrieve_customer("retry503-{tok}"),
                         client.customers.retrieve_customer("retrydate-{tok}"),
                         client.customers.retrieve_customer("retryms-{tok}"),
                         client.customers.retrieve_customer("a b/é?#%"),
                         client.customers.list_customers(size=3, email="ü&x=1")]
                out = await asyncio.gather(*calls)
            page = out.pop()
            return [[c.id, c.created.isoformat(), c.address.city] for c in out] + [
                [page.data[0].description, type(page).__name__]]
        print(json.dumps(asyncio.run(main())))
        """
    )
    got = last_json(out)
    assert got[:6] == [  # type: ignore[index]
        [cid, "2023-11-14T22:13:20+00:00", "Zürich"]
        for cid in (
            "cus_date",
            "cus_gzip",
            "cus_deflate",
            f"retry503-{tok}",
            f"retrydate-{tok}",
            f"retryms-{tok}",
        )
    ]
    assert got[6][0] == "a%20b%2F%C3%A9%3F%23%25"  # type: ignore[index]
    query, kind = got[7]  # type: ignore[index,misc]
    assert kind == "Page" and "email=%C3%BC%26x%3D1" in query and "limit=3" in query


def test_first_use_of_a_multipart_upload(server: str) -> None:
    """``mimetypes`` and the boundary's ``uuid`` load with the first upload."""
    out = run_py(
        client_code(server, "openai")
        + """
        import asyncio, json
        async def main():
            async with client:
                f = await client.files.create_file(file=("notes.txt", b"hello"), purpose="batch")
            return json.loads(f.filename)
        print(json.dumps(asyncio.run(main())))
        """
    )
    assert last_json(out) == ["multipart/form-data", True, True]


def test_first_use_of_odd_characters_in_github_path_segments(server: str) -> None:
    out = run_py(
        client_code(server, "github")
        + """
        import asyncio, json
        from usepolvo.core import ConfigurationError
        async def main():
            async with client:
                i = await client.issues.get("o w+ñ", "r%2F;x", 5)
                try:
                    await client.issues.get("..", "r", 5)
                except ConfigurationError as exc:
                    dots = type(exc).__name__
            return [i.title, dots]
        print(json.dumps(asyncio.run(main())))
        """
    )
    assert last_json(out) == ["/repos/o%20w%2B%C3%B1/r%252F%3Bx/issues/5", "ConfigurationError"]


def test_first_calls_from_threads_each_with_its_own_loop(server: str) -> None:
    """Four threads, each ``asyncio.run`` of a first call on its own fresh client, all at once:
    the lazy modules (asyncio itself included) are first touched concurrently."""
    tok = uuid.uuid4().hex
    out = run_py(
        f"""
        import json, threading
        from usepolvo.stripe import StripeClient
        from usepolvo.github import GitHubClient
        barrier = threading.Barrier(4)
        results, errors = {{}}, []
        def work(i):
            try:
                barrier.wait()
                import asyncio
                from usepolvo.core import RetryPolicy
                async def main():
                    s = StripeClient(api_key="sk_test_x", base_url={server!r}, rate_limit=None,
                                     max_retries=RetryPolicy(2, initial_backoff=0.01, max_backoff=0.02))
                    g = GitHubClient(token="ghp_x", base_url={server!r}, rate_limit=None)
                    async with s, g:
                        c = await s.customers.retrieve_customer(("cus_gzip", "retry503-{tok}-" + str(i))[i % 2])
                        page = await s.customers.list_customers(size=2)
                        issue = await g.issues.get("o", "r", i + 1)
                    return [c.created.year, len(page.data), issue.created_at.year]
                results[i] = asyncio.run(main())
            except BaseException as exc:
                errors.append(repr(exc))
        ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        [t.start() for t in ts]
        [t.join(120) for t in ts]
        print(json.dumps([errors, sorted(map(tuple, results.values()))]))
        """
    )
    assert last_json(out) == [[], [[2023, 1, 2024]] * 4]


# -- interpreter flags -----------------------------------------------------------------------

_FIRST_CALLS = """
import asyncio, json
from usepolvo.core import RetryPolicy
from usepolvo.stripe import StripeClient
from usepolvo.github import GitHubClient
from usepolvo.openai import OpenAIClient
from usepolvo.stripe.models import Customer
async def main(url, tok):
    s = StripeClient(api_key="sk_test_x", base_url=url, rate_limit=None,
                     max_retries=RetryPolicy(2, initial_backoff=0.01, max_backoff=0.02))
    g = GitHubClient(token="ghp_x", base_url=url, rate_limit=None)
    o = OpenAIClient(api_key="sk-x", base_url=url, rate_limit=None)
    async with s, g, o:
        c = await s.customers.retrieve_customer("cus_gzip")
        r = await s.customers.retrieve_customer("retry503-" + tok)
        i = await g.issues.get("o", "r", 7)
        pg = await g.repos.get_pages("o", "r")
        f = await o.files.retrieve_file("file-1")
    return [isinstance(c, Customer), c.created.isoformat(), r.id == "retry503-" + tok, i.created_at.isoformat(),
            i.updated_at.isoformat(), str(pg.https_certificate.expires_at), f.created_at]
"""


@pytest.mark.parametrize(
    ("flags", "env"),
    [
        ((), {}),
        (("-X", "importtime"), {}),
        ((), {"PYTHONDONTWRITEBYTECODE": "1"}),
        (("-B", "-I"), {}),
        (("-S",), {}),
        (("-I", "-S"), {}),
        (("-OO",), {}),
        (("-X", "dev", "-W", "error::DeprecationWarning", "-W", "error::ResourceWarning"), {}),
        (("-X", "frozen_modules=off"), {"PYTHONHASHSEED": "12345"}),
    ],
    ids=[
        "plain",
        "importtime",
        "dontwritebytecode",
        "isolated",
        "no-site",
        "isolated-no-site",
        "OO",
        "dev-werror",
        "frozen-off",
    ],
)
def test_first_calls_under_interpreter_flags(
    server: str, flags: tuple[str, ...], env: dict[str, str]
) -> None:
    tok = uuid.uuid4().hex
    out = run_py(_FIRST_CALLS + f"print(json.dumps(asyncio.run(main({server!r}, {tok!r}))))", *flags, env=env)
    assert last_json(out) == [
        True,
        "2023-11-14T22:13:20+00:00",
        True,
        "2024-05-06T07:08:09+00:00",
        "2024-05-06T07:08:10+02:00",
        "2030-01-02",
        1700000000,
    ]


# -- each lazily imported runtime path, first thing in a fresh interpreter ---------------------


def test_first_use_datetime_in_a_request_body_and_query(server: str) -> None:
    """``datetime`` loads lazily in the encoder: a datetime/date argument as the very first use."""
    out = run_py(
        client_code(server)
        + """
        import asyncio, datetime as d, json
        async def main():
            async with client:
                c = await client.customers.create_customer(
                    metadata={"when": "x"}, description="d", test_clock=None if False else "clock_1")
                page = await client.customers.list_customers(created={"gte": d.datetime(2024, 1, 2, tzinfo=d.timezone.utc)})
            return [c.description, page.data[0].description]
        print(json.dumps(asyncio.run(main())))
        """
    )
    body, query = last_json(out)  # type: ignore[misc]
    assert "description=d" in body and "test_clock=clock_1" in body
    assert "created%5Bgte%5D=1704153600" in query


def test_first_use_rate_limit_error_parses_headers(server: str) -> None:
    out = run_py(
        client_code(server, max_retries="0")
        + """
        import asyncio, json
        from usepolvo.stripe import RateLimitError
        async def main():
            async with client:
                try:
                    await client.customers.retrieve_customer("limited")
                except RateLimitError as exc:
                    rl = exc.rate_limit
                    return [exc.status_code, exc.retry_after, rl.limit, rl.remaining, rl.reset.year > 2000]
        print(json.dumps(asyncio.run(main())))
        """
    )
    status, after, limit, remaining, reset = last_json(out)  # type: ignore[misc]
    assert [status, limit, remaining, reset] == [429, 100, 0, True] and after >= 7.0


def test_first_use_retry_after_http_date_parser_in_isolation() -> None:
    """The HTTP-date branch of Retry-After (``email.utils``) and durations, first in a process."""
    out = run_py(
        """
        import json
        from usepolvo.core._retry import retry_after, parse_duration
        print(json.dumps([retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412470.0),
                          retry_after({"retry-after": "garbage"}), retry_after({"retry-after-ms": "250"}),
                          parse_duration("1h2m3.5s"), parse_duration("20ms"), parse_duration("1x")]))
        """,
        "-I",
    )
    assert last_json(out) == [10.0, None, 0.25, 3723.5, 0.02, None]


@pytest.mark.parametrize("provider", ["stripe", "github"])
def test_first_use_webhook_verification(provider: str) -> None:
    cls = {"stripe": "StripeWebhooks", "github": "GitHubWebhooks"}[provider]
    body = (
        '{"id": "evt_1", "object": "event", "type": "customer.created", "created": 1700000000, "api_version": '
        '"2023-08-16", "livemode": false, "pending_webhooks": 0, "request": null, "data": {"object": '
        '{"id": "cus_1", "object": "customer", "created": 1700000000}}}'
        if provider == "stripe"
        else '{"zen": "Keep it logically awesome.", "hook_id": 1, "hook": {"type": "Repository", "id": 1}}'
    )
    out = run_py(
        f"""
        import json
        from usepolvo.{provider}.webhooks import {cls}
        from usepolvo.core import WebhookSignatureError
        hooks = {cls}(secret="whsec_c2VjcmV0c2VjcmV0c2VjcmV0")
        body = {body!r}.encode()
        headers = hooks.sign(body, secret="whsec_c2VjcmV0c2VjcmV0c2VjcmV0")
        headers["X-GitHub-Event"] = "ping"
        headers["X-GitHub-Delivery"] = "d-1"
        ev = hooks.unwrap(body, headers)
        bad = dict(headers)
        key = next(k for k in headers if "ignature" in k)
        bad[key] = bad[key][:-4] + ("0000" if not bad[key].endswith("0000") else "1111")
        try:
            {cls}(secret="whsec_c2VjcmV0c2VjcmV0c2VjcmV0", replay_store=None).unwrap(body, bad)
        except WebhookSignatureError as exc:
            rejected = type(exc).__name__
        print(json.dumps([type(ev).__name__, rejected]))
        """
    )
    name, rejected = last_json(out)  # type: ignore[misc]
    assert rejected == "WebhookSignatureError" and name


def test_first_use_of_redaction_with_debug_logging(server: str) -> None:
    out = run_py(
        """
        import asyncio, io, json, logging
        stream = io.StringIO()
        logging.basicConfig(level=logging.DEBUG, stream=stream)
        """.rstrip(" ")
        + client_code(server).replace("sk_test_adversarial", "sk_test_SECRETSECRET1234")
        + """
        async def main():
            async with client:
                await client.customers.retrieve_customer("cus_date")
        asyncio.run(main())
        text = stream.getvalue()
        print(json.dumps(["SECRETSECRET1234" in text, "usepolvo" in text, "HTTP Request: GET" in text]))
        """,
    )
    assert last_json(out) == [False, True, True]


def test_first_use_of_an_event_stream(server: str) -> None:
    """A stream's lines are split by a regex ``re`` compiles on first use (CRLF, CR and LF)."""
    out = run_py(
        client_code(server, "openai")
        + """
        import asyncio, json
        async def main():
            async with client:
                stream = await client.chat.create_chat_completion(
                    model="m", messages=[{"role": "user", "content": "hi"}], stream=True)
                return [[c.id, c.choices[0].delta.content] async for c in stream]
        print(json.dumps(asyncio.run(main())))
        """
    )
    assert last_json(out) == [["c1", "a"], ["c2", "b"], ["c3", "c"]]


# -- type checkers ---------------------------------------------------------------------------

_TYPED_PROGRAM = """
from usepolvo.stripe.models import *
from usepolvo.stripe.params import *
from usepolvo.stripe.models import Customer as C2
from usepolvo.stripe import models as pm, Page
import usepolvo.stripe.v2023_08_16.models as vm

c: Customer = Customer.from_dict({"id": "x"})
p: OptionalFieldsAddressParam = {"city": "x"}
reveal_type(c.created)
reveal_type(C2)
reveal_type(pm.Customer)
reveal_type(vm.Customer)
reveal_type(Page)
x = pm.Custmer  # line 15
y = vm.Custmer  # line 16
from usepolvo.stripe.models import Custmr  # line 17
from usepolvo.stripe.v2023_08_16.models import Custmr2  # line 18
"""


@pytest.mark.slow
def test_pyright_sees_models_and_rejects_typos(tmp_path: Path) -> None:
    prog = tmp_path / "prog.py"
    prog.write_text(_TYPED_PROGRAM)
    pyright = Path(sys.executable).with_name("pyright")
    if not pyright.exists():
        pytest.skip("pyright not installed")
    proc = subprocess.run(
        [str(pyright), "--pythonpath", sys.executable, "--outputjson", str(prog)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=str(tmp_path),
    )
    diags = json.loads(proc.stdout)["generalDiagnostics"]
    errors = {d["range"]["start"]["line"] + 1 for d in diags if d["severity"] == "error"}
    infos = {d["range"]["start"]["line"] + 1: d["message"] for d in diags if d["severity"] == "information"}
    assert errors == {15, 16, 17, 18}, diags
    assert infos[10] == 'Type of "c.created" is "datetime | None"'
    assert all(infos[n].endswith('is "type[Customer]"') for n in (11, 12, 13)), infos


@pytest.mark.slow
def test_mypy_strict_sees_models_and_rejects_typos(tmp_path: Path) -> None:
    prog = tmp_path / "prog.py"
    prog.write_text(_TYPED_PROGRAM)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--cache-dir",
            str(tmp_path / "c"),
            str(prog),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=str(tmp_path),
    )
    lines = proc.stdout.splitlines()
    errors = {int(x.split(":")[1]) for x in lines if ": error:" in x}
    notes = {int(x.split(":")[1]): x for x in lines if "Revealed type" in x}
    # the star import gives no name mypy rejects (line 2: star import untyped? no: nothing else)
    assert errors == {15, 16, 17, 18}, proc.stdout
    assert 'Revealed type is "datetime.datetime | None"' in notes[10]
    assert all("models.customer.Customer" in notes[n] for n in (11, 12, 13))
