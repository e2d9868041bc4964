"""mypy --strict on a small webhook receiver: ``unwrap`` results narrow by event type.

The good program narrows with ``isinstance`` and ``match`` and must type-check cleanly; the
bad one uses an event attribute without narrowing and must be rejected, which shows the
result is a union of the event models, not ``Any``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

GOOD = textwrap.dedent(
    """
    from __future__ import annotations

    from typing import assert_never

    from usepolvo.core import UnknownWebhookEvent
    from usepolvo.github.models import WebhookPullRequestOpened, WebhookPush
    from usepolvo.github.webhooks import GitHubWebhooks, WebhookEvent
    from usepolvo.openai.models import WebhookBatchCompleted, WebhookResponseFailed
    from usepolvo.openai.webhooks import OpenAIWebhooks
    from usepolvo.stripe.models import Customer, DeletedCustomer
    from usepolvo.stripe.webhooks import StripeWebhooks, WebhookEnvelope


    def on_github(body: bytes, headers: dict[str, str]) -> str:
        event: WebhookEvent = GitHubWebhooks(secret="s").unwrap(body, headers)
        if isinstance(event, WebhookPush):
            ref: str | None = event.ref  # response attributes read absent as None (issue 11)
            return ref or ""
        match event:
            case WebhookPullRequestOpened(number=number):
                as_int: int | None = number
                return str(as_int)
            case UnknownWebhookEvent(type=name, action=action):
                return f"{name}:{action}"
            case _:
                return "ignored"


    def on_openai(body: bytes, headers: dict[str, str]) -> str:
        event = OpenAIWebhooks(secret="whsec_AA==").unwrap(body, headers, tolerance=60)
        match event:
            case WebhookBatchCompleted():
                batch_id: str | None = event.data.id if event.data is not None else None
                return batch_id or ""
            case WebhookResponseFailed(data=data) if data is not None:
                return data.id or ""
            case UnknownWebhookEvent():
                return event.type
            case _:
                return "other"


    def on_stripe(body: bytes, headers: dict[str, str]) -> str | None:
        event = StripeWebhooks(secret="whsec_x").unwrap(body, headers)
        if isinstance(event, UnknownWebhookEvent):
            return None
        kind: str | None = event.type
        match event.object:
            case Customer() as customer:
                email: str | None = customer.email if isinstance(customer.email, str) else None
                return email
            case DeletedCustomer(id=customer_id):
                return customer_id
            case dict() as raw:
                return str(raw.get("id"))
            case _:
                return kind


    def exhaustive(event: WebhookEnvelope | UnknownWebhookEvent) -> str:
        if isinstance(event, WebhookEnvelope):
            return event.event.id or ""
        if isinstance(event, UnknownWebhookEvent):
            return event.type
        assert_never(event)
    """
)

BAD = textwrap.dedent(
    """
    from __future__ import annotations

    from usepolvo.github.webhooks import GitHubWebhooks
    from usepolvo.stripe.webhooks import StripeWebhooks


    def unnarrowed(body: bytes, headers: dict[str, str]) -> None:
        event = GitHubWebhooks(secret="s").unwrap(body, headers)
        print(event.ref)
        stripe_event = StripeWebhooks(secret="s").unwrap(body, headers)
        print(stripe_event.object)
    """
)


@pytest.mark.slow  # mypy follows the imports into the generated provider: minutes cold
def test_unwrap_result_narrows_under_mypy_strict(tmp_path: Path) -> None:
    good, bad = tmp_path / "good_receiver.py", tmp_path / "bad_receiver.py"
    good.write_text(GOOD)
    bad.write_text(BAD)
    proc = subprocess.run(
        # the project's mypy settings (pyproject: strict = true), so the cache is shared
        [str(BIN / "mypy"), str(good), str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = proc.stdout + proc.stderr
    assert "good_receiver.py" not in out, out[-3000:]
    # without narrowing, mypy sees the union: neither attribute is on every member
    assert 'bad_receiver.py:10: error: Item "' in out and '"ref"' in out, out[-3000:]
    assert "bad_receiver.py:12: error:" in out and '"object"' in out, out[-3000:]
