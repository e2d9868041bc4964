"""``make docs``: the Markdown API reference covers every operation of every pinned version,
with the generated signature, and its links resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from generator.__main__ import main
from generator._build import build_provider
from generator._docs import render_provider_docs
from generator._naming import py_identifier
from generator._pins import load_providers

pytestmark = pytest.mark.slow

PINS = [(name, version) for name, s in load_providers().items() for version in sorted(s.pins)]
_LINK = re.compile(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)")


@pytest.mark.parametrize(("name", "version"), PINS)
def test_reference_covers_every_operation(name: str, version: str) -> None:
    settings = load_providers()[name]
    provider = build_provider(settings, settings.pins[version])
    pages = render_provider_docs(provider)
    assert provider.spec_operations == len(provider.operations)
    documented = 0
    for op in provider.operations:
        module = "_".join(py_identifier(p) for p in op.resource)
        page = pages.get(f"{module}.md", "")
        assert f"### `{op.name}`\n" in page, f"{name} {version}: {op.operation_id} has no section"
        section = page.split(f"### `{op.name}`\n", 1)[1].split("\n### ", 1)[0]
        assert f"`{op.method} {op.path}`" in section, (op.operation_id, module)
        assert "-> " in section and "**Returns**" in section
        if op.docs_url:
            assert op.docs_url in section
        if op.deprecated:
            assert "**Deprecated**" in section
        for p in op.params:
            if p.description:
                assert f"| `{p.name}` |" in section, (op.operation_id, p.name)
        documented += 1
    headings = sum(text.count("\n### `") for file, text in pages.items())
    assert documented == headings == provider.spec_operations


def test_make_docs_writes_linked_pages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs", "--provider", "openai", "--out", str(tmp_path)]) == 0
    version = next(iter(load_providers()["openai"].pins))
    folder = tmp_path / "openai" / version
    assert "288 operations" in capsys.readouterr().out or (folder / "index.md").is_file()
    assert f"openai/{version}/index.md" in (tmp_path / "README.md").read_text()
    anchors = {
        f.name: {
            "-".join(h.lower().replace("_", "-").split())
            for h in re.findall(r"^### `(\w+)`", f.read_text(), re.M)
        }
        for f in folder.glob("*.md")
    }
    for page in folder.glob("*.md"):
        for target, anchor in _LINK.findall(page.read_text()):
            if target.startswith("http") or not target.endswith(".md"):
                continue
            assert target in anchors, f"{page.name} links to missing {target}"
            if anchor:
                assert anchor in anchors[target], f"{page.name} links to missing #{anchor} of {target}"
    chat = (folder / "chat.md").read_text()
    assert "async def create_chat_completion(" in chat
    assert "](/docs" not in chat, "root-relative links must be made absolute"
