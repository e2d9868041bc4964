"""Request objects as ``TypedDict``s, on a small hostile spec generated into a temp folder.

Keys that are no identifiers or shadow the annotations' names, recursion, unions, open
objects, closed and open enums, arrays of strings, shared shapes and their names, and
descriptions that try to break a docstring (triple quotes, backslashes, control
characters, long multi-paragraph prose). The output must import, stay lazy, pass
``ruff`` and ``mypy --strict``, keep descriptions whole, and still send plain dicts.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator._build import build_provider, generate_all
from generator._pins import load_providers

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

LONG = " ".join(f"Sentence number {i} explains one more thing about the option." for i in range(12))
HOSTILE = 'Ends a docstring """ early, a \\ backslash, a \\" quote,\x00 a NUL\x07 and a \r\nCRLF.'

ADDRESS = {
    "type": "object",
    "title": "optional_fields_address",
    "properties": {"line1": {"type": "string"}, "city": {"type": "string"}},
}

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Acme", "version": "1.0.0"},
    "servers": [{"url": "https://api.acme.test"}],
    "paths": {
        "/v1/things": {
            "post": {
                "operationId": "things/create",
                "summary": "Create a thing.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["name", "node"],
                                "properties": {
                                    "name": {"type": "string", "description": LONG + "\n\n" + HOSTILE},
                                    "node": {"$ref": "#/components/schemas/Node"},
                                    "address": ADDRESS,
                                    "shipping": {
                                        "type": "object",
                                        "properties": {"address": ADDRESS, "name": {"type": "string"}},
                                    },
                                    "odd": {
                                        "type": "object",
                                        "description": HOSTILE,
                                        "required": ["from"],
                                        "properties": {
                                            "from": {"type": "integer"},
                                            "page[size]": {"type": "integer"},
                                            "str": {"type": "string", "description": HOSTILE},
                                        },
                                    },
                                    "open": {
                                        "type": "object",
                                        "additionalProperties": True,
                                        "properties": {"a": {"type": "string"}},
                                    },
                                    "role": {"type": "string", "enum": ["user", "system"]},
                                    "model": {
                                        "anyOf": [
                                            {"type": "string"},
                                            {"type": "string", "enum": ["m1", "m2"]},
                                        ]
                                    },
                                    "tags": {"type": "array", "items": {"type": "string"}},
                                    "parts": {
                                        "type": "array",
                                        "items": {
                                            "oneOf": [
                                                {"$ref": "#/components/schemas/TextPart"},
                                                {"$ref": "#/components/schemas/ImagePart"},
                                            ]
                                        },
                                    },
                                },
                            }
                        }
                    },
                },
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {}}}}},
            }
        },
        "/v1/things/{id}": {
            "post": {
                "operationId": "things/update",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {
                    "content": {
                        "application/json": {"schema": {"type": "object", "properties": {"address": ADDRESS}}}
                    }
                },
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {}}}}},
            }
        },
    },
    "components": {
        "schemas": {
            "Node": {
                "type": "object",
                "required": ["value"],
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                },
            },
            "TextPart": {
                "type": "object",
                "required": ["type", "text"],
                "properties": {"type": {"type": "string", "enum": ["text"]}, "text": {"type": "string"}},
            },
            "ImagePart": {
                "type": "object",
                "required": ["type", "url"],
                "properties": {"type": {"type": "string", "enum": ["image"]}, "url": {"type": "string"}},
            },
        }
    },
}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    specs = tmp_path_factory.mktemp("specs")
    folder = specs / "acme"
    folder.mkdir()
    text = json.dumps(SPEC)
    (folder / "openapi.json").write_text(text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    (folder / "1.0.0.toml").write_text(
        f'version = "1.0.0"\nsource = "openapi.json"\nsha256 = "{digest}"\nfile = "openapi.json"\n'
    )
    (folder / "provider.toml").write_text(
        'name = "acme"\nclient_class = "AcmeClient"\ndefault = "1.0.0"\nauth = "bearer"\n'
        'api_key_env = ["ACME_API_KEY"]\nnaming = "operation_id"\n'
    )
    target = tmp_path_factory.mktemp("out")
    generate_all(target, specs=specs, force=True)
    sys.path.insert(0, str(target))
    yield target
    sys.path.remove(str(target))
    for name in [m for m in sys.modules if m.startswith("usepolvo.acme")]:
        sys.modules.pop(name, None)


def _package(out: Path) -> Path:
    return out / "usepolvo" / "acme" / "v1_0_0"


def test_request_objects_are_typed_dicts(out: Path) -> None:
    resource = (_package(out) / "resources" / "things.py").read_text()
    assert "address: OptionalFieldsAddressParam | NotGiven = NOT_GIVEN" in resource
    assert "node: Node | NodeParam," in resource
    assert 'role: Literal["user", "system"] | NotGiven' in resource  # closed enum stays closed
    assert "model: str | NotGiven" in resource  # string or enum: the API may add values
    assert "tags: SequenceNotStr[str] | NotGiven" in resource  # a str is not a list of str
    assert "open: Mapping[str, Any] | NotGiven" in resource  # extra keys allowed: no TypedDict
    assert "parts: Sequence[TextPart | TextPartParam | ImagePart | ImagePartParam]" in resource
    assert "from ..params import" in resource
    params = _package(out) / "params"
    node = (params / "node.py").read_text()
    assert "class NodeParam(TypedDict):" in node
    assert "children: NotRequired[Sequence[Node | NodeParam]]" in node  # recursive
    things = (params / "things.py").read_text()
    # one TypedDict per shape, named after its title, shared by both operations
    assert things.count("class OptionalFieldsAddressParam(TypedDict, total=False):") == 1
    assert "OptionalFieldsAddressParam" not in (params / "node.py").read_text()
    update = resource.split("async def update(", 1)[1]
    assert "address: OptionalFieldsAddressParam | NotGiven" in update
    # keys that are no identifiers, or shadow a name the annotations use: functional form
    assert "ThingsCreateOddParam = TypedDict(" in things
    assert "\"from\": 'int'," in things or '"from": "int",' in things


def test_params_import_lazily_and_plain_dicts_still_go_out(out: Path) -> None:
    probe = textwrap.dedent(
        """
        import asyncio, json, sys
        import httpx
        from usepolvo.acme import AcmeClient
        sent = []
        def handler(request):
            sent.append(json.loads(request.content))
            return httpx.Response(200, json={})
        async def main():
            client = AcmeClient(api_key="k", base_url="http://127.0.0.1:9",
                                http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))
            await client.things.create(name="n", node={"value": 1, "children": [{"value": 2}]},
                                       odd={"from": 1, "str": "s"}, tags=("a", "b"))
        asyncio.run(main())
        print(json.dumps({"sent": sent, "params": [m for m in sys.modules if ".params" in m]}))
        """
    )
    env = {"PYTHONPATH": f"{out}:{ROOT / 'src'}", "PATH": str(BIN)}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["params"] == []  # calling the client never loads the TypedDicts
    assert result["sent"] == [
        {
            "name": "n",
            "node": {"value": 1, "children": [{"value": 2}]},
            "odd": {"from": 1, "str": "s"},
            "tags": ["a", "b"],
        }
    ]
    # and they import at run time, for users who annotate their own values with them
    from usepolvo.acme.v1_0_0.params import NodeParam, OptionalFieldsAddressParam, ThingsCreateOddParam

    assert typing.is_typeddict(NodeParam) and typing.is_typeddict(ThingsCreateOddParam)
    assert typing.is_typeddict(OptionalFieldsAddressParam)


def test_descriptions_are_whole_and_cannot_break_the_docstring(out: Path) -> None:
    resource = (_package(out) / "resources" / "things.py").read_text()
    compile(resource, "things.py", "exec")
    flat = " ".join(resource.split())
    assert "Sentence number 11 explains one more thing about the option." in flat  # nothing cut
    assert "\x00" not in resource and "\x07" not in resource and "\r" not in resource
    from usepolvo.acme.v1_0_0.resources.things import ThingsResource

    doc = ThingsResource.create.__doc__ or ""
    assert 'Ends a docstring """ early, a \\ backslash, a \\" quote,' in " ".join(doc.split())
    for name in ("things.py", "node.py"):
        compile((_package(out) / "params" / name).read_text(), name, "exec")


@pytest.mark.slow  # mypy/pyright over a generated provider: minutes cold
def test_generated_params_pass_ruff_and_mypy_strict(out: Path) -> None:
    package = out / "usepolvo" / "acme"
    ruff = subprocess.run(
        [
            str(BIN / "ruff"),
            "check",
            "--config",
            str(ROOT / "generator" / "ruff_generated.toml"),
            str(package),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ruff.returncode == 0, ruff.stdout[-3000:]
    user = out / "user.py"
    user.write_text(
        textwrap.dedent(
            """
            from usepolvo.acme import AcmeClient

            async def ok(client: AcmeClient) -> None:
                await client.things.create(name="n", node={"value": 1, "children": [{"value": 2}]},
                                           parts=[{"type": "text", "text": "t"}], tags=("a",))

            async def wrong(client: AcmeClient) -> None:
                await client.things.create(name="n", node={"value": "1"})
                await client.things.create(name="n", node={"value": 1}, tags="a")
                await client.things.create(name="n", node={"value": 1}, address={"lin1": "x"})
                await client.things.create(name="n", node={"value": 1}, parts=[{"type": "txt", "text": "t"}])
                await client.things.create(name="n", node={"value": 1}, odd={"str": "s"})
            """
        )
    )
    proc = subprocess.run(
        [
            str(BIN / "mypy"),
            "--strict",
            "--no-incremental",
            "--explicit-package-bases",
            str(package),
            str(user),
        ],
        cwd=out,
        env={"MYPYPATH": f"{ROOT / 'src'}:{out}", "PATH": str(BIN)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    errors = [line for line in proc.stdout.splitlines() if ": error:" in line]
    assert all(line.startswith(str(user)) or "user.py" in line for line in errors), proc.stdout[-3000:]
    lines = sorted({int(line.split(":")[1]) for line in errors})
    assert lines == [9, 10, 11, 12, 13], proc.stdout[-3000:]


def test_names_and_shapes_are_stable() -> None:
    """Generating twice gives the same TypedDicts, by name and content."""
    settings = load_providers(ROOT / "specs")["github"]
    first = build_provider(settings, settings.pins[settings.default]).request_dicts
    second = build_provider(settings, settings.pins[settings.default]).request_dicts
    assert list(first) == list(second)
    assert [[(f.wire, f.ty, f.required) for f in d.fields] for d in first.values()] == [
        [(f.wire, f.ty, f.required) for f in d.fields] for d in second.values()
    ]
    assert all(name.endswith(("Param", "Params")) or name[-1].isdigit() for name in first)
