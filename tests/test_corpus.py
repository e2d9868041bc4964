"""Real public specs of other APIs (``../shared/specs/corpus``), generated with config only.

Each spec's provider config lives in ``tests/corpus/<name>/`` (``provider.toml`` and the
pin); the spec itself is read from the mirror. The suite generates all six once, checks
that nothing was dropped, and runs a smoke test per spec against a local server that
answers from the spec's own schemas: a list followed page by page to the end (the page
style the generator proposed), a create with its body, a path-parameter GET, a delete, and
the spec's own auth scheme on the wire.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from generator._build import build_provider, generate_all
from generator._loader import Document
from generator._pins import load_providers, locate_spec, mirror_root
from tests.corpus._server import CorpusServer

CORPUS = Path(__file__).resolve().parent / "corpus"
pytestmark = [
    pytest.mark.skipif(
        not (mirror_root() / "corpus").is_dir(),
        reason="the corpus mirror (../shared/specs/corpus) is not here",
    ),
    pytest.mark.slow,  # generates and calls six real-world specs: `make test-slow`
]


@pytest.fixture(scope="module")
def corpus_out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("corpus")
    reports = generate_all(out, specs=CORPUS, force=True)
    assert reports and not [r.line() for r in reports if r.dropped]
    sys.path.insert(0, str(out))
    yield out
    sys.path.remove(str(out))
    for name in [m for m in sys.modules if m.split(".")[1:2] and m.split(".")[1] in _NAMES]:
        sys.modules.pop(name, None)


_NAMES = sorted(p.name for p in CORPUS.iterdir() if (p / "provider.toml").is_file())


def test_every_corpus_spec_generates_completely(corpus_out: Path) -> None:
    settings = load_providers(CORPUS)
    assert sorted(settings) == _NAMES
    for name, s in settings.items():
        provider = build_provider(s, s.pins[s.default])
        assert provider.spec_operations == len(provider.operations) > 0, name
        assert provider.incomplete == 0, name
        assert provider.represented_bodies == provider.documented_bodies, name
        assert (corpus_out / "usepolvo" / name / "py.typed").is_file()


def _client_class(name: str) -> str:
    return next(k for k in importlib.import_module(f"usepolvo.{name}").__all__ if k.endswith("Client"))


def _bearer(token: str) -> Callable[[dict[str, str], dict[str, str]], bool]:
    return lambda headers, query: headers.get("authorization") == f"Bearer {token}"


def _basic(user: str, password: str) -> Callable[[dict[str, str], dict[str, str]], bool]:
    value = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    return lambda headers, query: headers.get("authorization") == value


def _headers(**expected: str) -> Callable[[dict[str, str], dict[str, str]], bool]:
    return lambda headers, query: all(
        headers.get(k.lower().replace("_", "-")) == v for k, v in expected.items()
    )


#: name → (client kwargs, server base path, [list, create, get, delete] as
#: (resource attr path, method, args, kwargs), the auth check, the created body field)
CASES: dict[str, dict[str, Any]] = {
    "up_banking": {
        "client": {"api_key": "up-token"},
        "base_path": "/api/v1",
        "list": ("webhooks", "list_webhooks", (), {"page_size": None}),
        "create": (
            "webhooks",
            "create_webhook",
            (),
            {"data": {"attributes": {"url": "https://x.test/hook"}}},
        ),
        "get": ("accounts", "retrieve_account", ("acc-1",), {}),
        "delete": ("webhooks", "delete_webhook", ("wh-1",), {}),
        "auth": _bearer("up-token"),
        "sent": ("data", {"attributes": {"url": "https://x.test/hook"}}),
        "relative_next": False,
    },
    "redocly_cafe": {
        # OAuth2 client credentials (orders) and the API key (menu): the token comes from
        # the spec's tokenUrl, on the same host as the API, so it follows base_url
        "client": {"api_key": "cafe-key", "client_id": "cafe-app", "client_secret": "cafe-secret"},
        "token_path": "/oauth2/token",
        "base_path": "",
        "list": ("orders", "list_orders", (), {}),
        "create": (
            "orders",
            "create_order",
            (),
            {"customer_name": "Ada", "order_items": [{"productId": "p1"}]},
        ),
        "get": ("orders", "get_order_by_id", ("ord-1",), {}),
        "delete": ("orders", "delete_order", ("ord-1",), {}),
        "auth": _bearer("token-1"),
        "sent": ("customerName", "Ada"),
    },
    "adyen_management": {
        "client": {"username": "ws@Company.Acme", "password": "s3cret"},
        "base_path": "/v3",
        "list": ("account_company_level", "get_companies", (), {}),
        "create": (
            "allowed_origins_company_level",
            "post_companies_company_id_api_credentials_api_credential_id_allowed_origins",
            ("co-1", "cred-1"),
            {"domain": "https://shop.test"},
        ),
        "get": ("account_company_level", "get_companies_company_id", ("co-1",), {}),
        "delete": (
            "allowed_origins_company_level",
            "delete_companies_company_id_api_credentials_api_credential_id_allowed_origins_origin_id",
            ("co-1", "cred-1", "or-1"),
            {},
        ),
        "auth": _basic("ws@Company.Acme", "s3cret"),
        "sent": ("domain", "https://shop.test"),
        "relative_next": True,
    },
    "algolia_search": {
        "client": {"app_id": "APP1", "api_key": "algolia-key"},
        "base_path": "",
        "list": ("indices", "list_indices", (), {}),
        "create": ("api_keys", "add_api_key", (), {"acl": ["search"]}),
        "get": ("api_keys", "get_api_key", ("k-1",), {}),
        "delete": ("api_keys", "delete_api_key", ("k-1",), {}),
        "auth": _headers(x_algolia_application_id="APP1", x_algolia_api_key="algolia-key"),
        "sent": ("acl", ["search"]),
    },
    "datadog_v1": {
        "client": {"api_key_auth": "dd-api", "app_key_auth": "dd-app"},
        "base_path": "",
        "list": ("service_level_objectives", "list_sl_os", (), {}),
        "create": ("dashboard_lists", "create_dashboard_list", (), {"name": "mine"}),
        "get": ("dashboard_lists", "get_dashboard_list", (7,), {}),
        "delete": ("dashboard_lists", "delete_dashboard_list", (7,), {}),
        "auth": _headers(DD_API_KEY="dd-api", DD_APPLICATION_KEY="dd-app"),
        "sent": ("name", "mine"),
    },
    "pinterest": {
        "client": {"access_token": "pin-token"},
        "base_path": "/v5",
        "list": ("boards", "list", (), {}),
        "create": ("boards", "create", (), {"name": "Recipes"}),
        "get": ("boards", "get", ("b-1",), {}),
        "delete": ("boards", "delete", ("b-1",), {}),
        "auth": _bearer("pin-token"),
        "sent": ("name", "Recipes"),
    },
}


def _method(client: Any, chain: str, name: str) -> Any:
    target = client
    for attr in chain.split("."):
        target = getattr(target, attr)
    return getattr(target, name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_smoke(corpus_out: Path, name: str) -> None:
    case = CASES[name]
    settings = load_providers(CORPUS)[name]
    doc = Document(locate_spec(settings.pins[settings.default]))
    pkg = importlib.import_module(f"usepolvo.{name}")
    ops = []
    from usepolvo.core import Operation

    version = next(
        p for p in (corpus_out / "usepolvo" / name).iterdir() if p.is_dir() and p.name.startswith("v")
    )
    for f in sorted((version / "resources").glob("*.py")):
        mod = importlib.import_module(f"usepolvo.{name}.{version.name}.resources.{f.stem}")
        ops.extend(v for k, v in vars(mod).items() if k.startswith("_OP_") and isinstance(v, Operation))
    server = CorpusServer(doc, ops, base_path=case["base_path"]).start()
    server.relative_next = bool(case.get("relative_next"))
    server.token_path = case.get("token_path", "")
    try:
        client_cls = getattr(pkg, _client_class(name))

        async def run() -> None:
            async with client_cls(**case["client"], base_url=server.url, max_retries=0) as client:
                chain, meth, args, kwargs = case["list"]
                kwargs = {k: v for k, v in kwargs.items() if v is not None}
                items = [x async for x in _method(client, chain, meth)(*args, **kwargs)]
                assert len(items) == server.pages, f"{name}: paging stopped after {len(items)} items"
                chain, meth, args, kwargs = case["create"]
                await _method(client, chain, meth)(*args, **kwargs)
                chain, meth, args, kwargs = case["get"]
                await _method(client, chain, meth)(*args, **kwargs)
                chain, meth, args, kwargs = case["delete"]
                await _method(client, chain, meth)(*args, **kwargs)

        asyncio.run(run())
        records = [r for r in server.records if r["path"] != server.token_path]
        tokens = [r for r in server.records if r["path"] == server.token_path]
        if server.token_path:  # fetched once, cached for every later request
            assert len(tokens) == 1
            assert (
                tokens[0]["headers"]["authorization"]
                == "Basic " + base64.b64encode(b"cafe-app:cafe-secret").decode()
            )
            assert b"grant_type=client_credentials" in tokens[0]["body"]
        assert len(records) == server.pages + 3
        assert all(case["auth"](r["headers"], r["query"]) for r in records), [r["headers"] for r in records]
        field, value = case["sent"]
        create = records[server.pages]
        assert create["method"] in ("POST", "PUT")
        assert json.loads(create["body"])[field] == value
        get, delete = records[server.pages + 1], records[server.pages + 2]
        assert get["method"] == "GET" and str(case["get"][2][-1]) in get["path"]
        assert delete["method"] == "DELETE" and str(case["delete"][2][-1]) in delete["path"]
    finally:
        server.stop()


_ENTRIES = {
    "adyen_management": "adyen-management/3/ManagementService-v3.yaml",
    "algolia_search": "algolia-search/1.0.0/specs/search/spec.yml",
    "datadog_v1": "datadog-v1/1.0/openapi.yaml",
    "pinterest": "pinterest/5.23.0/openapi.yaml",
    "redocly_cafe": "redocly-cafe/1.0.0/openapi/openapi.yaml",
    "up_banking": "up-banking/v1/openapi.json",
}


def test_new_provider_writes_a_config_that_generates(tmp_path: Path) -> None:
    from generator._newprovider import write_provider

    specs = tmp_path / "specs"
    for name, entry in _ENTRIES.items():
        folder = write_provider(name, str(mirror_root() / "corpus" / entry), specs)
        assert (folder / "provider.toml").is_file()
    reports = generate_all(tmp_path / "out", specs=specs, force=True, fmt=False)
    assert sorted(r.provider for r in reports) == sorted(_ENTRIES)
    assert not [r.line() for r in reports if r.dropped]


def test_server_variables_reach_operation_servers(corpus_out: Path) -> None:
    from usepolvo.datadog_v1 import DatadogV1Client

    client = DatadogV1Client(api_key_auth="a", app_key_auth="b", site="datadoghq.eu")
    assert client.base_url == "https://api.datadoghq.eu"
    ip_ranges = importlib.import_module("usepolvo.datadog_v1.v1_0.resources.ip_ranges")
    op = next(v for k, v in vars(ip_ranges).items() if k.startswith("_OP_"))
    assert client._url(op, ()) == "https://ip-ranges.datadoghq.eu/"  # the operation's own subdomain
    local = DatadogV1Client(api_key_auth="a", app_key_auth="b", base_url="http://127.0.0.1:9")
    assert local._url(op, ()) == "http://127.0.0.1:9/"  # a user base URL wins over absolute servers
