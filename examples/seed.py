"""Run ``seed_snippet.py``: against Stripe when ``STRIPE_API_KEY`` is set, else locally.

With ``STRIPE_API_KEY`` in the environment the snippet runs as is (against
``STRIPE_BASE_URL`` when that is set too). Without it, the snippet runs against the
Stripe-like test server in ``tests/servers/stripe.py``, started on 127.0.0.1 for the run.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SNIPPET = HERE / "seed_snippet.py"
LOCAL_KEY = "sk_test_local"


def main() -> int:
    if os.environ.get("STRIPE_API_KEY"):
        runpy.run_path(str(SNIPPET), run_name="__main__")
        return 0

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.servers.stripe import StripeServer

    saved = {name: os.environ.get(name) for name in ("STRIPE_API_KEY", "STRIPE_BASE_URL")}
    with StripeServer(customers=25, charges=25, api_key=LOCAL_KEY) as server:
        os.environ["STRIPE_API_KEY"] = LOCAL_KEY
        os.environ["STRIPE_BASE_URL"] = server.url
        try:
            runpy.run_path(str(SNIPPET), run_name="__main__")
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        print(
            f"Ran against a local Stripe-like test server at {server.url}. "
            "Set STRIPE_API_KEY (and optionally STRIPE_BASE_URL) to run it against Stripe."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
