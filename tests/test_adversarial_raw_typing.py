"""Adversarial typing of issue 13's ``with_raw_response`` and hooks: a user program under
``mypy --strict`` (right types of ``.parsed`` for Stripe, GitHub and OpenAI calls, wrong uses
flagged at the line they are on)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

GOOD = """
from typing import assert_type
from usepolvo.core import APIResponse, AsyncStream, Page, RequestEvent, ResponseEvent
from usepolvo.github import GitHubClient
from usepolvo.github.models import FullRepository
from usepolvo.openai import OpenAIClient
from usepolvo.openai.models import CreateChatCompletionResponse, CreateChatCompletionStreamResponse
from usepolvo.stripe import StripeClient
from usepolvo.stripe.models import Customer, DeletedCustomer


def on_req(e: RequestEvent) -> None: ...
async def on_resp(e: ResponseEvent) -> None: ...


async def main() -> None:
    async with StripeClient(on_request=[on_req], on_response=[on_resp]) as s:
        r = await s.with_raw_response(s.customers.retrieve_customer("cus_1"))
        assert_type(r, APIResponse[Customer | DeletedCustomer])
        c = await s.with_raw_response(s.customers.create_customer(email="a@b.c"))
        assert_type(c.parsed, Customer)
        n = await s.with_raw_response(s.with_raw_response(s.customers.create_customer()))
        assert_type(n.parsed.parsed, Customer)
        assert_type(r.request_id, str | None)
        assert_type(r.status_code, int)
        assert_type(r.elapsed, float)
        assert_type(r.attempts, int)
    async with GitHubClient() as g:
        repo = await g.with_raw_response(g.repos.get("o", "r"))
        assert_type(repo.parsed, FullRepository)
    async with OpenAIClient() as o:
        chat = await o.with_raw_response(
            o.chat.create_chat_completion(model="m", messages=[{"role": "user", "content": "hi"}])
        )
        assert_type(chat.parsed, CreateChatCompletionResponse)
        st = await o.with_raw_response(
            o.chat.create_chat_completion(model="m", messages=[], stream=True)
        )
        assert_type(st.parsed, AsyncStream[CreateChatCompletionStreamResponse])
"""

BAD = """
from usepolvo.core import RequestEvent, ResponseEvent
from usepolvo.github import GitHubClient
from usepolvo.stripe import StripeClient


def on_resp_only(e: ResponseEvent) -> None: ...


async def main() -> None:
    async with StripeClient(on_request=[on_resp_only]) as s:  # E:on_request
        r = await s.with_raw_response(s.customers.retrieve_customer("cus_1"))
        r.parsed.email  # E:union-attr
        n: int = r.request_id  # E:optional
        r.status_code = 500  # E:frozen
        await s.with_raw_response(s.customers.retrieve_customer)  # E:not-called
        await s.with_raw_response(42)  # E:int
    async with GitHubClient() as g:
        repo = await g.with_raw_response(g.repos.get("o", "r"))
        repo.parsed.no_such_field  # E:github-attr
"""


@pytest.mark.slow  # mypy over the generated clients: minutes
def test_parsed_types_and_wrong_uses_under_mypy_strict(tmp_path: Path) -> None:
    good = tmp_path / "good_user.py"
    bad = tmp_path / "bad_user.py"
    good.write_text(textwrap.dedent(GOOD))
    bad.write_text(textwrap.dedent(BAD))
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(good), str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    out = run.stdout
    good_errors = [line for line in out.splitlines() if line.startswith(str(good))]
    assert good_errors == [], out
    bad_lines = {int(m.group(1)) for m in re.finditer(rf"^{re.escape(str(bad))}:(\d+): error", out, re.M)}
    expected = {
        i + 1: line.split("# E:")[1] for i, line in enumerate(bad.read_text().splitlines()) if "# E:" in line
    }
    missed = {tag for lineno, tag in expected.items() if lineno not in bad_lines}
    assert not missed, out
