"""Receiving Stripe, GitHub and OpenAI webhooks in an ASGI app (Starlette under uvicorn).

    STRIPE_WEBHOOK_SECRET=whsec_... GITHUB_WEBHOOK_SECRET=... OPENAI_WEBHOOK_SECRET=whsec_... \\
        python examples/webhooks_asgi.py --port 8000

Each endpoint hands the raw body bytes and the headers to the provider's ``unwrap``, which
verifies the signature (and timestamp, and that the request is not a replay) and returns
the typed event; a request that fails verification gets a 400 naming the problem.
``StripeClient().webhooks`` is the same receiver, when a client is at hand anyway.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from usepolvo.github.models import WebhookIssuesOpened, WebhookPing, WebhookPush
from usepolvo.github.webhooks import GitHubWebhooks
from usepolvo.openai.models import WebhookBatchCompleted, WebhookResponseCompleted
from usepolvo.openai.webhooks import OpenAIWebhooks
from usepolvo.stripe.models import Customer, DeletedCustomer, Invoice
from usepolvo.stripe.webhooks import StripeWebhooks, WebhookEnvelope

from usepolvo.core import UnknownWebhookEvent, Webhooks, WebhookVerificationError


def handle_stripe(event: WebhookEnvelope | UnknownWebhookEvent) -> str:
    if isinstance(event, UnknownWebhookEvent):
        return f"unknown stripe event {event.type}"
    match event.object:
        case Customer() as customer:
            return f"{event.type}: customer {customer.id}"
        case DeletedCustomer(id=customer_id):
            return f"{event.type}: customer {customer_id} deleted"
        case Invoice() as invoice:
            return f"{event.type}: invoice {invoice.id} for {invoice.amount_due}"
        case _:
            return f"{event.type}: {type(event.object).__name__}"


def handle_github(event: object) -> str:
    match event:
        case WebhookPing(zen=zen):
            return f"ping: {zen}"
        case WebhookPush(ref=ref, commits=commits):
            return f"push to {ref}: {len(commits)} commits"
        case WebhookIssuesOpened(issue=issue):
            return f"issue #{issue.number} opened: {issue.title}"
        case UnknownWebhookEvent(type=name, action=action):
            return f"unknown github event {name}/{action}"
        case _:
            return f"github {type(event).__name__}"


def handle_openai(event: object) -> str:
    match event:
        case WebhookBatchCompleted(data=data):
            return f"batch {data.id} completed"
        case WebhookResponseCompleted(data=data):
            return f"response {data.id} completed"
        case UnknownWebhookEvent(type=name):
            return f"unknown openai event {name}"
        case _:
            return f"openai {type(event).__name__}"


Endpoint = Callable[[Request], Awaitable[JSONResponse]]


def _endpoint(receiver: Webhooks, handle: Callable[[Any], str], received: list[str]) -> Endpoint:
    async def endpoint(request: Request) -> JSONResponse:
        body = await request.body()  # the raw bytes: the signature covers exactly these
        try:
            event = receiver.unwrap(body, request.headers)
        except WebhookVerificationError as exc:
            return JSONResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=400)
        summary = handle(event)
        received.append(summary)
        return JSONResponse({"ok": True, "event": type(event).__name__, "summary": summary})

    return endpoint


def build_app(secrets: Mapping[str, str] | None = None) -> Starlette:
    """The app; ``secrets`` by provider name, else each provider's *_WEBHOOK_SECRET variable."""
    secrets = secrets or {}
    received: list[str] = []
    routes = [
        Route(
            "/webhooks/stripe",
            _endpoint(StripeWebhooks(secret=secrets.get("stripe")), handle_stripe, received),
            methods=["POST"],
        ),
        Route(
            "/webhooks/github",
            _endpoint(GitHubWebhooks(secret=secrets.get("github")), handle_github, received),
            methods=["POST"],
        ),
        Route(
            "/webhooks/openai",
            _endpoint(OpenAIWebhooks(secret=secrets.get("openai")), handle_openai, received),
            methods=["POST"],
        ),
    ]
    app = Starlette(routes=routes)
    app.state.received = received
    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    uvicorn.run(build_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
