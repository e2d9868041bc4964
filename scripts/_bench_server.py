"""A deliberately cheap HTTP/1.1 keep-alive server with canned payloads, for benchmarks.

It answers the small canned payloads below and the realistic ones synthesized from the
pinned specs (``_bench_payloads.routes()``, read from its cache once the bench built it).

Runs in its own process (``python scripts/_bench_server.py PORT``) so its CPU is not
counted as the client's. It answers from prebuilt bytes: the cost per request is a dict
lookup and one write, small next to any client, and it reports its own CPU time on exit so
the benchmark can show its share.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import ClassVar


def _customer(i: int) -> dict[str, object]:
    return {
        "id": f"cus_{i:06d}",
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": 1700000000 + i,
        "currency": "usd",
        "default_source": None,
        "delinquent": False,
        "description": "benchmark customer",
        "discount": None,
        "email": f"user{i}@example.com",
        "invoice_prefix": "ABC123",
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {"plan": "pro", "n": str(i)},
        "name": f"Customer {i}",
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": ["en"],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def payloads() -> dict[tuple[str, str], bytes]:
    customers = [_customer(i) for i in range(100)]
    page = {"object": "list", "data": customers, "has_more": False, "url": "/v1/customers"}
    samples = Path(__file__).resolve().parent.parent / "tests" / "servers" / "github_samples.json"
    repo = json.loads(samples.read_text())["repo"]
    models = {
        "object": "list",
        "data": [{"id": f"m{i}", "object": "model", "created": 1, "owned_by": "o"} for i in range(20)],
    }
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _bench_payloads import routes

    return {
        **routes(),
        ("GET", "/v1/customers/cus_000001"): json.dumps(customers[1]).encode(),
        ("POST", "/v1/customers"): json.dumps(customers[2]).encode(),
        ("GET", "/v1/customers"): json.dumps(page).encode(),
        ("GET", "/repos/o/hello"): json.dumps(repo).encode(),
        ("GET", "/models"): json.dumps(models).encode(),
    }


class _Proto(asyncio.Protocol):
    responses: ClassVar[dict[tuple[str, str], bytes]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.t = transport  # type: ignore[assignment]
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1")
            lines = head.split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                if line[:15].lower() == "content-length:":
                    length = int(line[15:])
            if len(self.buf) < end + 4 + length:
                return
            self.buf = self.buf[end + 4 + length :]
            body = self.responses.get((method, target.split("?", 1)[0]), b'{"error":{"message":"no route"}}')
            status = b"200 OK" if (method, target.split("?", 1)[0]) in self.responses else b"404 Not Found"
            self.t.write(
                b"HTTP/1.1 "
                + status
                + b"\r\nContent-Type: application/json\r\nContent-Length: "  # type: ignore[attr-defined]
                + str(len(body)).encode()
                + b"\r\nRequest-Id: req_bench\r\n\r\n"
                + body
            )


async def main(port: int) -> None:
    _Proto.responses = payloads()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Proto, "127.0.0.1", port, backlog=256)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()
    print(f"cpu {time.process_time():.6f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("PORT", "0"))))
