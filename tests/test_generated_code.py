"""Generated code reads like hand-written: helpers named after what they parse, no
trampolines or dead list-envelope parsers, per-argument docs, per-operation docs links,
and deprecated operations/arguments warn when used."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
from usepolvo.openai import OpenAIClient

from usepolvo.testing import MockAPI

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated" / "usepolvo"


def _resource_modules() -> list[Path]:
    return sorted(GENERATED.glob("*/v*/resources/*.py"))


def test_helpers_are_named_after_their_type_and_none_is_a_trampoline() -> None:
    numbered = re.compile(r"^def (_p\d+|_u\d+)\(", re.M)
    trampoline = re.compile(r"^def (\w+)\(v: Any\) -> Any:\n    return (_\w+)\(v\)$", re.M)
    files = _resource_modules()
    assert files
    for path in files:
        text = path.read_text()
        assert not numbered.search(text), path
        found = trampoline.search(text)
        assert found is None, f"{path}: {found.group(1)} only calls {found.group(2)}"
        for name in re.findall(r"^def (_\w+)\(", text, re.M):
            assert name.startswith(("_parse_", "_decode_")), (path, name)
            assert len(re.findall(rf"\b{name}\b", text)) > 1, f"{path}: {name} is never used"


def test_method_docstrings_document_their_arguments() -> None:
    text = (GENERATED / "stripe" / "v2023_08_16" / "resources" / "customers.py").read_text()
    create = text.split("async def create_customer(", 1)[1].split('"""', 2)[1]
    assert "Args:" in create
    assert re.search(r"^\s+email: Customer's email address\.", create, re.M)
    assert "https://stripe.com/docs/api/customers/create" in create


def test_openai_operations_link_their_own_page() -> None:
    chat = (GENERATED / "openai" / "v2_3_0" / "resources" / "chat.py").read_text()
    assert "https://platform.openai.com/docs/api-reference/chat/create" in chat
    assistants = (GENERATED / "openai" / "v2_3_0" / "resources" / "assistants.py").read_text()
    assert "https://platform.openai.com/docs/api-reference/assistants/listAssistants" in assistants
    links = re.findall(
        r'docs_url="([^"]+)"', "".join(p.read_text() for p in _resource_modules() if "/openai/" in str(p))
    )
    assert len(set(links)) > 200, "most OpenAI operations must have their own page"


async def test_deprecated_operations_and_arguments_warn() -> None:
    assistant = {
        "id": "asst_1",
        "object": "assistant",
        "created_at": 1700000000,
        "name": None,
        "description": None,
        "model": "gpt-4o",
        "instructions": None,
        "tools": [],
        "metadata": {},
    }
    completion = {"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": []}
    with MockAPI() as api:
        api.get("/v1/assistants/asst_1", json=assistant)
        api.post("/v1/chat/completions", json=completion)
        async with OpenAIClient(api_key="sk-x") as ai:
            with pytest.warns(DeprecationWarning, match=r"assistants\.get_assistant .*deprecated") as seen:
                await ai.assistants.get_assistant("asst_1")
            assert seen[0].filename == __file__  # points at the caller
            with warnings.catch_warnings():
                warnings.simplefilter("error", DeprecationWarning)
                await ai.chat.create_chat_completion(model="m", messages=[])  # nothing deprecated used
            with pytest.warns(DeprecationWarning, match="argument 'max_tokens'"):
                await ai.chat.create_chat_completion(model="m", messages=[], max_tokens=5)
