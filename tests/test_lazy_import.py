"""Importing the client and touching one resource loads only what that needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "usepolvo.stripe.v2023_08_16"

PROBE = textwrap.dedent(
    f"""
    import json
    import sys

    def loaded(prefix):
        return sorted(m for m in sys.modules if m.startswith(prefix))

    from usepolvo.stripe import StripeClient

    after_import = {{
        "models": loaded("{PACKAGE}.models."),
        "resources": loaded("{PACKAGE}.resources."),
        "other_versions": loaded("usepolvo.stripe.v2022_11_15"),
    }}
    client = StripeClient(api_key="sk_test_lazy", base_url="http://127.0.0.1:9")
    customers = client.customers
    assert client.customers is customers
    after_resource = {{
        "models": loaded("{PACKAGE}.models."),
        "resources": loaded("{PACKAGE}.resources."),
    }}
    from usepolvo.stripe.models import Customer
    after_model = {{"models": loaded("{PACKAGE}.models.")}}
    print(json.dumps({{"import": after_import, "resource": after_resource, "model": after_model}}))
    """
)


def _probe() -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIPE_")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_import_and_first_resource_stay_lazy() -> None:
    probe = _probe()

    after_import = probe["import"]
    assert len(after_import["models"]) < 5, after_import["models"]
    assert after_import["resources"] == []
    assert after_import["other_versions"] == []

    after_resource = probe["resource"]
    assert f"{PACKAGE}.resources.customers" in after_resource["resources"]
    assert f"{PACKAGE}.resources.charges" not in after_resource["resources"]
    assert f"{PACKAGE}.resources.customers_sources" not in after_resource["resources"]
    assert len(after_resource["models"]) < 5, after_resource["models"]

    after_model = probe["model"]["models"]
    assert f"{PACKAGE}.models.customer" in after_model
    assert f"{PACKAGE}.models.charge" not in after_model
    assert len(after_model) < 5, after_model
