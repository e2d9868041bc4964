"""The webhook example app under a real uvicorn on 127.0.0.1, sent signed events over HTTP."""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

from webhooks_asgi import build_app  # noqa: E402

from tests.test_webhooks import BODIES, OTHER, sign  # noqa: E402

SECRETS = {
    "stripe": "whsec_asgi_stripe_secret",
    "github": "asgi-github-secret",
    "openai": "whsec_" + base64.b64encode(b"asgi-openai-signing-key-32-bytes").decode(),
}


@pytest.fixture
def app_url() -> Iterator[tuple[str, Any]]:
    app = build_app(SECRETS)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(10)


def _post(url: str, provider: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{url}/webhooks/{provider}", content=body, headers=headers, timeout=10)


@pytest.mark.parametrize("provider", ["stripe", "github", "openai"])
def test_signed_events_are_received_typed(app_url: tuple[str, Any], provider: str) -> None:
    url, app = app_url
    body = json.dumps(BODIES[provider]).encode()
    now = int(time.time())
    headers = sign(provider, body, SECRETS[provider], ts=now)
    response = _post(url, provider, body, headers)
    assert response.status_code == 200, response.text
    expected = {"stripe": "WebhookEnvelope", "github": "WebhookPing", "openai": "WebhookBatchCompleted"}
    assert response.json()["event"] == expected[provider]
    assert app.state.received, "the handler ran"

    # the same signed request again: a replay
    again = _post(url, provider, body, headers)
    assert again.status_code == 400 and again.json()["error"] == "WebhookReplayError"
    # tampered body, wrong secret, missing header
    tampered = _post(url, provider, body.replace(b'"', b"'", 1) + b"", headers)
    assert tampered.status_code == 400
    wrong = _post(url, provider, body, sign(provider, body, OTHER[provider], ts=now))
    assert wrong.status_code == 400 and wrong.json()["error"] == "WebhookSignatureError"
    missing = _post(url, provider, body, {"Content-Type": "application/json"})
    assert missing.status_code == 400 and missing.json()["error"] == "MissingWebhookHeaderError"
    if provider != "github":
        old = sign(provider, body, SECRETS[provider], ts=now - 3600)
        stale = _post(url, provider, body, old)
        assert stale.status_code == 400 and stale.json()["error"] == "WebhookTimestampError"
    for answer in (again, wrong, missing):
        assert SECRETS[provider] not in answer.text


def test_github_events_by_header_and_action(app_url: tuple[str, Any]) -> None:
    url, _ = app_url
    push = {
        "ref": "refs/heads/main",
        "before": "a" * 40,
        "after": "b" * 40,
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": "https://github.com/o/r/compare/a...b",
        "commits": [],
        "head_commit": None,
        "pusher": {"name": "octocat"},
        "repository": {"id": 1},
    }
    cases = [
        ("push", push, "WebhookPush", "push to refs/heads/main: 0 commits"),
        ("issues", {"action": "reopened_in_2030", "issue": {}}, "UnknownWebhookEvent", None),
        ("merge_queue_v9", {"action": "x"}, "UnknownWebhookEvent", "unknown github event merge_queue_v9/x"),
    ]
    for event, payload, model, summary in cases:
        body = json.dumps(payload).encode()
        headers = {**sign("github", body, SECRETS["github"]), "X-GitHub-Event": event}
        response = _post(url, "github", body, headers)
        assert response.status_code == 200, response.text
        assert response.json()["event"] in (model, "UnknownWebhookEvent"), response.json()
        if summary and response.json()["event"] == model:
            assert response.json()["summary"] == summary
