"""Type checkers see inside request objects: 12 deliberate mistakes, each one caught.

A user program calls the three clients; each mistake sits on a line of its own (the whole
call on one line, so both checkers report it there). mypy --strict and pyright (strict)
must each report an error on every mistake line, and on no other line; the program with
every mistake corrected must be clean in both. Four mistakes are the ones that used to
reach the wire unseen (nested objects were ``Mapping[str, Any]``, arrays ``Sequence``):
a misspelled address key, a wrong type inside a nested object, ``"role": "usr"`` and a
string where a list of strings is expected.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

#: (what is wrong, the wrong line, the right line): indented for the function bodies below
MISTAKES: list[tuple[str, str, str]] = [
    (
        "Stripe: misspelled key in a nested object (address line1)",
        'await stripe.customers.create_customer(address={"lin1": "1 Main St", "city": "Lisbon"})',
        'await stripe.customers.create_customer(address={"line1": "1 Main St", "city": "Lisbon"})',
    ),
    (
        "Stripe: wrong type inside a nested object (custom field value is a string)",
        'await stripe.customers.create_customer(invoice_settings={"custom_fields": [{"name": "PO", "value": 42}]})',
        'await stripe.customers.create_customer(invoice_settings={"custom_fields": [{"name": "PO", "value": "42"}]})',
    ),
    (
        "Stripe: a string where a list of strings is expected (expand)",
        'await stripe.charges.list_charges(limit=3, expand="data.customer")',
        'await stripe.charges.list_charges(limit=3, expand=["data.customer"])',
    ),
    (
        "Stripe: value outside a closed enum (tax_exempt)",
        'await stripe.customers.create_customer(email="a@example.com", tax_exempt="exempted")',
        'await stripe.customers.create_customer(email="a@example.com", tax_exempt="exempt")',
    ),
    (
        "Stripe: missing required key in a list item (tax id value)",
        'await stripe.customers.create_customer(tax_id_data=[{"type": "eu_vat"}])',
        'await stripe.customers.create_customer(tax_id_data=[{"type": "eu_vat", "value": "DE123456789"}])',
    ),
    (
        "Stripe: wrong type inside an object-valued query parameter (created.gte)",
        'await stripe.charges.list_charges(created={"gte": "2024-01-01"})',
        'await stripe.charges.list_charges(created={"gte": 1704067200})',
    ),
    (
        "OpenAI: role 'usr' inside a chat message",
        'await ai.chat.create_chat_completion(model="gpt-4o-mini", messages=[{"role": "usr", "content": "Hi"}])',
        'await ai.chat.create_chat_completion(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])',
    ),
    (
        "OpenAI: chat message missing its required content",
        'await ai.chat.create_chat_completion(model="gpt-4o-mini", messages=[{"role": "user"}])',
        'await ai.chat.create_chat_completion(model="gpt-4o-mini", messages=[{"role": "user", "content": "Yo"}])',
    ),
    (
        "OpenAI: positional argument to a keyword-only parameter (model)",
        'await ai.chat.create_chat_completion("gpt-4o-mini", messages=[{"role": "system", "content": "Hi"}])',
        'await ai.chat.create_chat_completion(model="gpt-4o-mini", messages=[{"role": "system", "content": "Hi"}])',
    ),
    (
        "OpenAI: wrong item type in a nested list (text part's text is a string)",
        'await ai.chat.create_chat_completion(model="m", messages=[{"role": "user", "content": [{"type": "text", "text": 5}]}])',
        'await ai.chat.create_chat_completion(model="m", messages=[{"role": "user", "content": [{"type": "text", "text": "5"}]}])',
    ),
    (
        "GitHub: wrong type inside a nested object (required_status_checks.strict)",
        'await gh.repos.update_branch_protection("o", "r", "main", required_status_checks={"strict": "yes", "contexts": []}, enforce_admins=None, required_pull_request_reviews=None, restrictions=None)',
        'await gh.repos.update_branch_protection("o", "r", "main", required_status_checks={"strict": True, "contexts": []}, enforce_admins=None, required_pull_request_reviews=None, restrictions=None)',
    ),
    (
        "GitHub: misspelled keyword argument (titel)",
        'await gh.issues.create("octocat", "hello-world", titel="Found a bug", labels=["bug"])',
        'await gh.issues.create("octocat", "hello-world", title="Found a bug", labels=["bug"])',
    ),
]

HEADER = '''\
"""A user program: every call of the clients, type-checked but never run."""

from __future__ import annotations

from usepolvo.github import GitHubClient
from usepolvo.openai import OpenAIClient
from usepolvo.stripe import StripeClient


async def calls(stripe: StripeClient, ai: OpenAIClient, gh: GitHubClient) -> None:
'''


def program(wrong: bool) -> tuple[str, dict[int, str]]:
    """The program text, and the line number of each mistake (1-based) → its description."""
    lines = HEADER.splitlines()
    where: dict[int, str] = {}
    for what, bad, good in MISTAKES:
        lines.append("    " + (bad if wrong else good))
        where[len(lines)] = what
    return "\n".join(lines) + "\n", where


def _error_lines(output: str, file: str) -> set[int]:
    return {int(n) for n in re.findall(rf"{re.escape(file)}:(\d+):(?:\d+:)? error", output)}


def _write(tmp_path: Path) -> tuple[Path, Path, dict[int, str]]:
    bad_text, where = program(wrong=True)
    good_text, _ = program(wrong=False)
    bad, good = tmp_path / "user_program_bad.py", tmp_path / "user_program_good.py"
    bad.write_text(bad_text)
    good.write_text(good_text)
    return bad, good, where


def test_the_program_lists_twelve_distinct_mistakes() -> None:
    text, where = program(wrong=True)
    assert len(where) == len(MISTAKES) == 12
    assert all(bad != good for _, bad, good in MISTAKES)
    assert text.count("\n") == max(where)


@pytest.mark.slow  # mypy/pyright over a generated provider: minutes cold
def test_mypy_strict_reports_each_mistake(tmp_path: Path) -> None:
    bad, good, where = _write(tmp_path)
    proc = subprocess.run(
        # the project's settings (pyproject: strict = true), so the cache is shared
        [str(BIN / "mypy"), "--strict", str(good), str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    out = proc.stdout + proc.stderr
    assert good.name not in out, out[-4000:]
    found = _error_lines(out, bad.name)
    missed = {line: what for line, what in where.items() if line not in found}
    assert missed == {}, f"mypy missed: {missed}\n{out[-4000:]}"
    assert found <= set(where), f"errors on lines without a mistake: {found - set(where)}\n{out}"


def _pyright() -> str | None:
    exe = BIN / "pyright"
    if exe.exists():
        return str(exe)
    return shutil.which("pyright")


@pytest.mark.slow  # mypy/pyright over a generated provider: minutes cold
def test_pyright_strict_reports_each_mistake(tmp_path: Path) -> None:
    exe = _pyright()
    if exe is None:
        pytest.skip("pyright is not installed (pip install -e '.[dev]' brings it)")
    bad, good, where = _write(tmp_path)
    config = {
        "typeCheckingMode": "strict",
        "pythonVersion": "3.11",
        "extraPaths": [str(ROOT / "src"), str(ROOT / "generated")],
    }
    (tmp_path / "pyrightconfig.json").write_text(json.dumps(config))
    env = dict(os.environ)
    proc = subprocess.run(
        [exe, "--pythonpath", sys.executable, "--outputjson", str(good), str(bad)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"pyright did not run: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    on_good = [d for d in errors if Path(d["file"]).name == good.name]
    assert on_good == [], textwrap.shorten(str(on_good), 4000)
    found = {d["range"]["start"]["line"] + 1 for d in errors if Path(d["file"]).name == bad.name}
    missed = {line: what for line, what in where.items() if line not in found}
    assert missed == {}, f"pyright missed: {missed}\n{textwrap.shorten(str(errors), 4000)}"
    assert found <= set(where), f"errors on lines without a mistake: {found - set(where)}"
