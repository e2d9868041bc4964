"""A new provider's webhooks need configuration, not code.

A made-up provider ("acme") with a plain HMAC header (base64 HMAC-SHA512) and events in an
OpenAPI 3.1 ``webhooks`` section is generated from a ``[webhooks]`` table alone; its
receiver then verifies and decodes like the built-in ones. Bad tables fail generation with
a message naming the file and the key.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from generator._build import generate_all
from generator._pins import PinError

SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Acme", "version": "1.0.0"},
    "servers": [{"url": "https://api.acme.example"}],
    "paths": {
        "/things": {
            "get": {
                "operationId": "things/list",
                "tags": ["things"],
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}},
                    }
                },
            }
        }
    },
    "webhooks": {
        "thing_done": {
            "post": {
                "requestBody": {
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ThingDone"}}}
                },
                "responses": {"200": {"description": "ok"}},
            }
        },
        "thing_failed": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "event": {"const": "thing.failed"},
                                    "reason": {"type": "string"},
                                },
                                "required": ["event"],
                            }
                        }
                    }
                },
                "responses": {"200": {"description": "ok"}},
            }
        },
    },
    "components": {
        "schemas": {
            "Thing": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
            "ThingDone": {
                "type": "object",
                "properties": {
                    "event": {"type": "string", "enum": ["thing.done"]},
                    "thing": {"$ref": "#/components/schemas/Thing"},
                },
                "required": ["event", "thing"],
            },
        }
    },
}

PROVIDER = """
name = "acme"
client_class = "AcmeClient"
default = "1.0.0"
api_key_env = ["ACME_API_KEY"]
base_url_env = "ACME_BASE_URL"
auth = "bearer"
naming = "operation_id"
docs_url = "https://acme.example/docs"

[webhooks]
scheme = "hmac"
signature_header = "X-Acme-Signature"
encoding = "base64"
algorithm = "sha512"
secret_env = "ACME_WEBHOOK_SECRET"
event_field = "event"
"""

PROBE = textwrap.dedent(
    """
    import base64, hashlib, hmac, json, sys
    sys.path.insert(0, sys.argv[1])
    from usepolvo.acme import AcmeClient
    from usepolvo.acme.webhooks import AcmeWebhooks
    from usepolvo.core import UnknownWebhookEvent, WebhookSignatureError

    def sign(body):
        mac = hmac.new(b"acme-secret", body, hashlib.sha512).digest()
        return {"X-Acme-Signature": base64.b64encode(mac).decode()}

    hooks = AcmeClient(api_key="k", base_url="http://127.0.0.1:9").webhooks
    assert isinstance(hooks, AcmeWebhooks)
    out = []
    for payload in (
        {"event": "thing.done", "thing": {"id": "t1"}},
        {"event": "thing.failed", "reason": "jammed"},
        {"event": "thing.exploded"},
    ):
        body = json.dumps(payload).encode()
        event = hooks.unwrap(body, sign(body), secret="acme-secret")
        out.append(type(event).__name__)
    try:
        hooks.unwrap(b'{"event": "thing.done"}', sign(b"{}"), secret="acme-secret")
    except WebhookSignatureError:
        out.append("rejected")
    print(json.dumps(out))
    """
)


def _specs(tmp_path: Path, provider_toml: str) -> Path:
    mirror = tmp_path / "mirror"
    spec_file = mirror / "acme" / "1.0.0" / "openapi.json"
    spec_file.parent.mkdir(parents=True)
    spec_file.write_text(json.dumps(SPEC))
    folder = tmp_path / "specs" / "acme"
    folder.mkdir(parents=True)
    (folder / "provider.toml").write_text(provider_toml)
    sha = hashlib.sha256(spec_file.read_bytes()).hexdigest()
    (folder / "1.0.0.toml").write_text(
        f'version = "1.0.0"\nsource = "https://127.0.0.1:9/acme.json"\nsha256 = "{sha}"\n'
        'mirror = "acme/1.0.0/openapi.json"\n'
    )
    return tmp_path / "specs"


def test_new_provider_webhooks_from_config_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLVO_SPECS_MIRROR", str(tmp_path / "mirror"))
    out = tmp_path / "gen"
    generate_all(out, specs=_specs(tmp_path, PROVIDER), fmt=False)
    source = (out / "usepolvo" / "acme" / "v1_0_0" / "webhooks.py").read_text().replace("'", '"')
    assert '("", "thing.done")' in source and '("", "thing.failed")' in source
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACME_")}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(out)], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout) == ["ThingDone", "WebhookThingFailed", "UnknownWebhookEvent", "rejected"]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('scheme = "rsa"', "scheme must be one of"),
        ('scheme = "hmac"', "needs signature_header"),
        ('scheme = "stripe"\ncolour = "blue"', "unknown [webhooks] key 'colour'"),
        ('scheme = "stripe"\ntolerance = "5 minutes"', "tolerance has the wrong type"),
        ('scheme = "stripe"\nenvelope = "nope"', "envelope 'nope' is not a component schema"),
    ],
)
def test_bad_webhooks_table_names_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str, message: str
) -> None:
    monkeypatch.setenv("POLVO_SPECS_MIRROR", str(tmp_path / "mirror"))
    config = PROVIDER.split("[webhooks]")[0] + "[webhooks]\n" + table + "\n"
    with pytest.raises(PinError) as info:
        generate_all(tmp_path / "gen", specs=_specs(tmp_path, config), fmt=False)
    assert "specs/acme/provider.toml" in str(info.value)
    assert message in str(info.value)
