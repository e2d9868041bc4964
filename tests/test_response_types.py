"""Issue 11: response attributes are ``X | None`` — no ``NotGiven`` — and dates are datetimes.

``mypy --strict`` on a small user program sees ``repo.created_at`` as ``datetime | None``;
no response model of any provider mentions ``NotGiven`` (it belongs to request arguments).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated" / "usepolvo"

USER_PROGRAM = """
import asyncio
import datetime

from usepolvo.github import GitHubClient
from usepolvo.stripe.models import Customer


async def main() -> None:
    async with GitHubClient(token="ghp_x") as gh:
        repo = await gh.repos.get("octocat", "hello-world")
        reveal_type(repo.created_at)
        created: datetime.datetime | None = repo.created_at
        if repo.created_at is not None:
            print(repo.created_at.year)
        reveal_type(repo.has_discussions)
        reveal_type(repo.fields_set)
        print(created, repo.to_dict())
    customer = Customer.from_dict({"id": "cus_1"})
    reveal_type(customer.created)
    reveal_type(customer.email)
    Customer(id="cus_2", email=None)  # constructing a model still type-checks


asyncio.run(main())
"""


@pytest.mark.slow  # mypy follows the imports into the generated provider: minutes cold
def test_user_program_types(tmp_path: Path) -> None:
    program = tmp_path / "user_program.py"
    program.write_text(USER_PROGRAM)
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "mypy"), "--strict", "--no-error-summary", str(program)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = proc.stdout
    # mypy versions differ in spelling builtins (``builtins.bool`` or ``bool``)
    revealed = [t.replace("builtins.", "") for t in re.findall(r'Revealed type is "([^"]+)"', out)]
    assert revealed == [
        "datetime.datetime | None",
        "bool | None",
        "frozenset[str]",
        "datetime.datetime | None",
        "str | None",
    ], out
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert errors == [], out


def test_no_response_attribute_is_typed_not_given() -> None:
    modules = sorted(GENERATED.glob("*/v*/models/*.py"))
    assert len(modules) > 1000
    offenders = [str(m.relative_to(GENERATED)) for m in modules if "NotGiven" in m.read_text()]
    assert offenders == []
    for provider in ("stripe", "github", "openai"):
        assert any(m.parts[-4] == provider for m in modules)
