"""Issue 12 features pinned by small synthetic specs in ``tests/specs/``.

``kitchen``: a multi-file OpenAPI 3.1 description (path items, parameters, responses and
schemas ``$ref``-ed across nested folders, a schema cycle, ``$defs``, type arrays,
``const``), every security scheme, server variables with enums, every page style and
hostile names. ``empty``: no operations, no schemas. Golden copies of the generated
client and resources sit in ``tests/specs/golden/`` (``POLVO_UPDATE_GOLDEN=1`` rewrites
them after an intentional change).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from generator._build import build_provider, generate_all
from generator._config import ConfigError, parse_config
from generator._loader import Document, RefError, SpecError
from generator._naming import pascal, py_identifier, unique
from generator._pins import load_providers

SPECS = Path(__file__).resolve().parent / "specs"
GOLDEN = SPECS / "golden"
GOLDEN_FILES = ("_client.py", "resources/widgets.py", "resources/three_d_secure.py", "resources/pages.py")


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("specs")
    reports = generate_all(folder, specs=SPECS, force=True)
    assert {r.provider for r in reports} == {"empty", "kitchen"}
    assert not any(r.dropped for r in reports)
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    for name in [m for m in sys.modules if m.startswith(("usepolvo.kitchen", "usepolvo.empty"))]:
        sys.modules.pop(name, None)


# -- generated output ----------------------------------------------------------------------


@pytest.mark.parametrize("rel", GOLDEN_FILES)
def test_golden_output(out: Path, rel: str) -> None:
    text = (out / "usepolvo" / "kitchen" / "v1_0_0" / rel).read_text()
    golden = GOLDEN / ("kitchen_" + rel.replace("/", "_") + ".golden")
    if os.environ.get("POLVO_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text(), (
        f"{rel} differs from {golden} (POLVO_UPDATE_GOLDEN=1 after an intended change)"
    )


def test_empty_provider_is_valid_python(out: Path) -> None:
    import usepolvo.empty as empty
    from usepolvo.empty import models

    assert models.__all__ == []
    client = empty.EmptyClient(base_url="http://127.0.0.1:9")
    assert "***" in repr(client)


def test_multi_file_refs_cycles_and_31_types() -> None:
    settings = load_providers(SPECS)["kitchen"]
    provider = build_provider(settings, settings.pins["1.0.0"])
    assert provider.spec_operations == len(provider.operations) == 8
    widget = provider.models["Widget"]
    fields = {f.wire: f for f in widget.fields}
    assert str(fields["parts"].ty) == "ListTy(item=ModelTy(name='Widget'))"  # the cycle, one model
    assert "NullableTy" in str(fields["size"].ty)  # type: [integer, "null"]
    assert "LiteralTy" in str(fields["kind"].ty)  # const
    assert "Tags" in str(fields["tags"].ty) or "ListTy" in str(fields["tags"].ty)  # $defs
    ops = {(".".join(op.resource), op.name): op for op in provider.operations}
    create = ops[("widgets", "create")]
    # required from the schema although requestBody.required is not set
    assert [p.name for p in create.body.fields if p.required] == ["name"]  # type: ignore[union-attr]
    assert [p.wire for p in ops[("widgets", "get")].params] == [
        "widgetId"
    ]  # path-item parameter via a file ref


def test_swagger_2_is_refused_naming_file_and_pointer() -> None:
    path = SPECS / "invalid" / "swagger.yaml"
    with pytest.raises(SpecError, match=r"swagger\.yaml#/swagger: Swagger 2\.0 .*not supported"):
        Document(path)


def test_dangling_ref_names_where_it_is(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    $ref: sub/x.yaml\n"
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.yaml").write_text("get:\n  responses:\n    '200': {$ref: '../r.yaml#/Nope'}\n")
    (tmp_path / "r.yaml").write_text("Other: {description: x}\n")
    with pytest.raises(
        RefError, match=r"sub/x\.yaml#/get/responses/200: \$ref to .*r\.yaml#/Nope points nowhere"
    ):
        Document(tmp_path / "a.yaml")


# -- names -----------------------------------------------------------------------------------


def test_hostile_names() -> None:
    assert py_identifier("DateSent<") == "date_sent_lt"
    assert py_identifier("DateSent>") == "date_sent_gt"
    assert py_identifier("+1") == "plus_1"
    assert py_identifier("-1") == "minus_1"
    assert py_identifier("page[size]") == "page_size"
    assert py_identifier("class") == "class_"
    assert py_identifier("3d_secure") == "field_3d_secure"
    assert pascal("3d_secure") == "N3dSecure"
    assert pascal("None") == "None_"
    used: set[str] = set()
    assert [unique("a", used), unique("a", used), unique("a", used)] == ["a", "a_2", "a_3"]


# -- provider.toml -----------------------------------------------------------------------------


def test_config_unknown_key_suggests() -> None:
    with pytest.raises(
        ConfigError, match=r"x\.toml: unknown key 'client_clas' \(did you mean 'client_class'\?\)"
    ):
        parse_config({"client_clas": "X"}, "x.toml", name="acme", pins=["1"])


def test_config_missing_default_names_key_and_file() -> None:
    with pytest.raises(ConfigError, match=r"x\.toml: missing key 'default'"):
        parse_config({}, "x.toml", name="acme", pins=["1", "2"])


def test_config_defaults_live_once() -> None:
    cfg = parse_config({}, "x.toml", name="acme_corp", pins=["1"])
    assert (cfg.client_class, cfg.api_key_env, cfg.base_url_env, cfg.auth) == (
        "AcmeCorpClient",
        ("ACME_CORP_API_KEY",),
        "ACME_CORP_BASE_URL",
        "spec",
    )
    with pytest.raises(
        ConfigError, match=r"pagination\[0\]: unknown key 'cursor_parm' \(did you mean 'cursor_param'\?\)"
    ):
        parse_config({"pagination": [{"kind": "cursor", "cursor_parm": "x"}]}, "x.toml", name="a", pins=["1"])
    with pytest.raises(ConfigError, match=r"rate_limit\.max_concurrency must be a int"):
        parse_config({"rate_limit": {"max_concurrency": "10"}}, "x.toml", name="a", pins=["1"])


# -- runtime against a mock transport ---------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def _client(out: Path, handler: Handler, **kwargs: Any) -> Any:
    from usepolvo.kitchen import KitchenClient

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return KitchenClient(http_client=http, max_retries=0, **kwargs)


def test_server_variables_fill_the_base_url(out: Path) -> None:
    from usepolvo.kitchen import KitchenClient

    assert KitchenClient(bearer="t").base_url == "https://eu.acme.test/v1"
    assert KitchenClient(bearer="t", region="us", scheme="http").base_url == "http://us.acme.test/v1"
    assert KitchenClient(bearer="t", base_url="http://127.0.0.1:1/x").base_url == "http://127.0.0.1:1/x"


def test_missing_credentials_name_keywords_and_env(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from usepolvo.kitchen import KitchenClient

    from usepolvo.core import ConfigurationError

    for var in ("KITCHEN_BEARER", "KITCHEN_USERNAME", "KITCHEN_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(
        ConfigurationError, match=r"bearer= \(or KITCHEN_BEARER\) or username= .* and password="
    ):
        KitchenClient()
    monkeypatch.setenv("KITCHEN_USERNAME", "u")
    monkeypatch.setenv("KITCHEN_PASSWORD", "hunter2-secret")
    client = KitchenClient()
    assert "hunter2" not in repr(client) and "hunter2" not in repr(client._auth)


def _widgets_page(request: httpx.Request) -> httpx.Response:
    after = request.url.params.get("after")
    n = int(after[1:]) if after else 0
    last = n >= 2
    body = {
        "items": [{"id": f"w{n}", "name": "w"}],
        "page": {"endCursor": None if last else f"c{n + 1}", "hasNextPage": not last},
    }
    return httpx.Response(200, json=body)


def test_each_scheme_on_the_wire(out: Path) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3600})
        if request.url.path.endswith("/3d_secure"):
            return httpx.Response(200, json={"data": ["a"], "meta": {}})
        if request.url.path.endswith("/logs"):
            return httpx.Response(200, json=[{"id": "l1"}])
        return httpx.Response(200, json={"id": "w1", "name": "w"})

    async def run() -> None:
        async with _client(out, handler, username="ws", password="pw") as c:
            await c.widgets.get("w1")
        async with _client(out, handler, bearer="b-tok") as c:
            await c.widgets.get("w1")
        async with _client(out, handler, bearer="b", api_key_header="hk", api_key_query="qk") as c:
            await c.three_d_secure.list_attempts()
        async with _client(out, handler, bearer="b", api_key_cookie="ck") as c:
            await c.three_d_secure.list_attempts()
        async with _client(out, handler, client_id="id", client_secret="sec", bearer="b") as c:
            await c.logs.list()
            await c.logs.list()

    asyncio.run(run())
    basic, bearer, keys, cookie, token, logs1, logs2 = seen
    assert basic.headers["authorization"] == "Basic " + base64.b64encode(b"ws:pw").decode()
    assert bearer.headers["authorization"] == "Bearer b-tok"
    assert keys.headers["x-acme-key"] == "hk" and keys.url.params["acme_key"] == "qk"
    assert "authorization" not in keys.headers  # the operation's own requirement, not the default
    assert cookie.headers["cookie"] == "acme_session=ck"
    assert token.url.path == "/oauth/token" and token.headers["authorization"].startswith("Basic ")
    assert b"grant_type=client_credentials" in token.content
    assert logs1.headers["authorization"] == logs2.headers["authorization"] == "Bearer tok"  # cached


def test_oauth2_refreshes_before_expiry_and_retries_one_401(out: Path) -> None:
    tokens = iter(["t1", "t2", "t3"])
    seen: list[tuple[str, str]] = []
    reject = {"t2"}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            token = next(tokens)
            seen.append(("token", token))
            return httpx.Response(200, json={"access_token": token, "expires_in": 30})
        auth = request.headers.get("authorization", "")
        seen.append(("api", auth))
        if auth.removeprefix("Bearer ") in reject:
            return httpx.Response(401, json={"message": "expired"})
        return httpx.Response(200, json=[])

    async def run() -> None:
        # expires_in 30 s < refresh_before 60 s: every call fetches a fresh token first
        async with _client(out, handler, client_id="id", client_secret="sec", bearer="b") as c:
            await c.logs.list()  # t1
            await c.logs.list()  # t2 → 401 → t3, sent once more

    asyncio.run(run())
    assert seen == [
        ("token", "t1"),
        ("api", "Bearer t1"),
        ("token", "t2"),
        ("api", "Bearer t2"),
        ("token", "t3"),
        ("api", "Bearer t3"),
    ]


def _pager(kind: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        q = request.url.params
        if kind == "cursor":
            return _widgets_page(request)
        if kind == "next_url":
            n = int(q.get("n", "0"))
            nxt = None if n >= 2 else f"/v1/v1/3d_secure?n={n + 1}"  # relative to the page
            return httpx.Response(200, json={"data": [f"a{n}"], "meta": {"next_page_url": nxt}})
        if kind == "link":
            n = int(q.get("n", "0"))
            headers = {} if n >= 2 else {"Link": f'<https://eu.acme.test/v1/logs?n={n + 1}>; rel="next"'}
            return httpx.Response(200, json=[{"id": f"l{n}"}], headers=headers)
        if kind == "offset":
            n = int(q.get("offset", "0"))
            return httpx.Response(200, json={"records": [{"id": f"r{n}"}], "total_count": 3})
        n = int(q.get("pageNumber", "1"))
        return httpx.Response(200, json={"data": [{"id": f"p{n}"}], "pagesTotal": 3})

    return handler


@pytest.mark.parametrize(
    ("kind", "call"),
    [
        ("cursor", lambda c: c.widgets.list(size=1)),
        ("next_url", lambda c: c.three_d_secure.list_attempts()),
        ("link", lambda c: c.logs.list()),
        ("offset", lambda c: c.records.list()),
        ("page", lambda c: c.pages.list()),
    ],
)
def test_every_page_style_is_followed_to_the_end(out: Path, kind: str, call: Callable[[Any], Any]) -> None:
    async def run() -> list[Any]:
        async with _client(
            out,
            _pager(kind),
            bearer="b",
            api_key_cookie="c",
            client_id="i",
            client_secret="s",
            access_token="t",
        ) as c:
            return [x async for x in call(c)]

    assert len(asyncio.run(run())) == 3


def test_a_repeated_cursor_stops_with_a_typed_error(out: Path) -> None:
    from usepolvo.core import PaginationLoopError

    def handler(request: httpx.Request) -> httpx.Response:  # has more, always the same cursor
        return httpx.Response(
            200,
            json={"items": [{"id": "w", "name": "w"}], "page": {"endCursor": "same", "hasNextPage": True}},
        )

    async def run() -> None:
        async with _client(out, handler, bearer="b") as c:
            async for _ in c.widgets.list():
                pass

    with pytest.raises(PaginationLoopError, match="same next page twice"):
        asyncio.run(run())


def test_page_number_argument_maps_to_the_spec_parameter(out: Path) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params.get("pageNumber", ""))
        return httpx.Response(200, json={"data": [], "pagesTotal": 3})

    async def run() -> None:
        async with _client(out, handler, bearer="b") as c:
            page = await c.pages.list(page=2)
            assert json.loads(json.dumps(page.raw))["pagesTotal"] == 3

    asyncio.run(run())
    assert seen == ["2"]


def test_concurrent_calls_share_one_token_fetch_and_a_failed_fetch_is_typed(out: Path) -> None:
    from usepolvo.core import AuthenticationError

    fetches: list[int] = []
    fail = [True]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            fetches.append(1)
            if fail[0]:
                return httpx.Response(400, json={"error": "invalid_client", "secret": "sec"})
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3600})
        return httpx.Response(200, json=[])

    async def run() -> None:
        async with _client(out, handler, client_id="id", client_secret="sec", bearer="b") as c:
            with pytest.raises(AuthenticationError, match="token endpoint answered 400") as info:
                await c.logs.list()
            assert "sec" not in str(info.value)
            fail[0] = False  # the lock was released: the next calls fetch once, together
            await asyncio.gather(*(c.logs.list() for _ in range(5)))

    asyncio.run(run())
    assert len(fetches) == 2


def test_cross_file_schema_cycle_and_ref_siblings(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "api.yaml").write_text(
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n"
        "        '200':\n          description: ok\n          content:\n            application/json:\n"
        "              schema: {$ref: schemas/a.yaml, description: an A}\n"
    )
    (tmp_path / "schemas" / "a.yaml").write_text("type: object\nproperties:\n  b: {$ref: b.yaml}\n")
    (tmp_path / "schemas" / "b.yaml").write_text("type: object\nproperties:\n  a: {$ref: ./a.yaml}\n")
    doc = Document(tmp_path / "api.yaml")
    schemas = doc.root["components"]["schemas"]
    assert schemas["a"]["properties"]["b"] == {"$ref": "#/components/schemas/b"}
    assert schemas["b"]["properties"]["a"] == {"$ref": "#/components/schemas/a"}
    media = doc.root["paths"]["/a"]["get"]["responses"]["200"]["content"]["application/json"]
    assert media["schema"] == {"$ref": "#/components/schemas/a", "description": "an A"}


def test_non_schema_ref_cycle_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "api.yaml").write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    $ref: p.yaml\n"
    )
    (tmp_path / "p.yaml").write_text("get:\n  responses:\n    '200': {$ref: 'p.yaml#/get/responses/200'}\n")
    with pytest.raises(RefError, match="cycle"):
        Document(tmp_path / "api.yaml")


def test_a_next_page_on_another_host_is_not_followed(out: Path) -> None:
    from usepolvo.core import ResponseValidationError

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host != "eu.acme.test":
            raise AssertionError("credentials sent to another host")
        return httpx.Response(200, json={"data": ["a"], "meta": {"next_page_url": "https://evil.test/steal"}})

    async def run() -> None:
        async with _client(out, handler, bearer="b", api_key_cookie="c") as c:
            async for _ in c.three_d_secure.list_attempts():
                pass

    with pytest.raises(ResponseValidationError, match="another host"):
        asyncio.run(run())
