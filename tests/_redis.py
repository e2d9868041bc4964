"""A real ``redis-server`` for the shared-limiter tests, and the worker process they run.

:class:`RedisServer` starts Debian's ``redis-server`` on a free 127.0.0.1 port with no
persistence (``--save '' --appendonly no``) in a temporary directory, and can stop,
restart (same port), freeze (SIGSTOP) and thaw it. The ``redis_server`` fixture (in
``conftest.py``) skips when ``redis-server`` is not installed; ``.ci/run`` installs it, so
CI always runs these tests.

``python tests/_redis.py '<json config>'`` is one worker: a ``StripeClient`` on a
:class:`~usepolvo.core.RedisLimiter` that waits for a line on stdin (so that every worker
starts at once), makes its calls against the fault server, and prints one JSON line: each
call's id, start and end (``time.monotonic()``, the same clock as the server's records on
one host) and outcome.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["WORKER_KEY", "RedisServer", "Worker", "redis_missing"]

WORKER_KEY = "sk_test_51SharedBudgetWorker0000"


def redis_missing() -> str | None:
    """Why the real-Redis tests cannot run here (``None``: they can)."""
    if shutil.which("redis-server") is None:
        return "redis-server is not installed (apt-get install redis-server; .ci/run installs it)"
    return None


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1; ``stop()`` always ends it."""

    def __init__(self) -> None:
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._dir = tempfile.mkdtemp(prefix="polvo-redis-")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        fixed = bool(self.port)  # a restart keeps its port: clients reconnect to it
        for _ in range(5):
            self.port = self.port or _free_port()
            self.proc = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    self._dir,
                    "--loglevel",
                    "warning",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if self._wait_ready():
                return self
            self._kill()
            if not fixed:
                self.port = 0
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return True
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        """End the server (it loses everything: there is no persistence)."""
        if self.proc is not None:
            self.thaw()
            self._kill()

    def restart(self) -> None:
        """Start again on the same port, empty."""
        self.stop()
        self.start()

    def freeze(self) -> None:
        """SIGSTOP: connections stay open but nothing answers (a slow or hung Redis)."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Worker:
    """A worker process (see the module docstring); ``go()`` starts its calls."""

    def __init__(self, **config: Any) -> None:
        self.config = config
        env = {k: v for k, v in os.environ.items() if not k.startswith("POLVO_LIMITER")}
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=str(ROOT),
        )
        assert self.proc.stdout is not None
        ready = self.proc.stdout.readline().strip()
        if ready != "ready":
            self.kill()
            raise RuntimeError(f"worker did not start: {ready!r}")

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def result(self, timeout: float = 120) -> dict[str, Any]:
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        lines = out.strip().splitlines()
        assert lines, f"worker {self.config.get('name')} printed nothing (exit {self.proc.returncode})"
        result: dict[str, Any] = json.loads(lines[-1])
        return result

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


# -- the worker process ------------------------------------------------------------------


async def _work(cfg: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    from usepolvo.stripe import StripeClient

    from usepolvo.core import LimiterUnavailableError, RedisLimiter, RetryPolicy

    options = {k: cfg[k] for k in ("lease", "on_unavailable", "redis_timeout", "retry_interval") if k in cfg}
    limiter = RedisLimiter.from_url(
        cfg["redis"], key=cfg["key"], rate=cfg.get("rate"), max_concurrency=cfg.get("concurrency"), **options
    )
    name = cfg["name"]
    calls: list[list[Any]] = []
    events: list[list[Any]] = []  # when this process's limiter granted and paused
    acquire, pause = limiter.acquire, limiter.pause

    async def traced_acquire(cost: float = 1.0) -> Any:
        grant = await acquire(cost)
        events.append(["grant", time.monotonic()])
        return grant

    def traced_pause(seconds: float) -> None:
        events.append(["pause", time.monotonic()])
        pause(seconds)

    limiter.acquire, limiter.pause = traced_acquire, traced_pause  # type: ignore[method-assign]
    async with StripeClient(
        api_key=WORKER_KEY,
        base_url=cfg["server"],
        limiter=limiter,
        timeout=cfg.get("timeout", 10.0),
        connect_timeout=cfg.get("connect_timeout", 5.0),
        total_timeout=cfg.get("total_timeout"),
        max_retries=RetryPolicy(cfg.get("retries", 0), initial_backoff=0.01, max_backoff=0.05),
        default_headers={"X-Worker": name},
        transport=cfg.get("transport"),
    ) as client:
        counter = iter(range(10**9))

        async def call() -> None:
            cid = f"{name}-{next(counter)}"
            started = time.monotonic()
            try:
                await client.customers.retrieve_customer(
                    cfg["customer"], request_options={"query": {"call": cid}}
                )
                outcome = "ok"
            except LimiterUnavailableError:
                outcome = "unavailable"
            except Exception as exc:  # noqa: BLE001 - reported to the test
                outcome = type(exc).__name__
            calls.append([cid, started, time.monotonic(), outcome])

        async def lane(until: float) -> None:
            while time.monotonic() < until:
                await call()
                await asyncio.sleep(cfg.get("gap", 0.0))

        # Warm up (imports, the connection pools, the scripts) so that the first timed call
        # does not pay for them: one grant on a key of its own, one unrecorded request.
        warm = RedisLimiter.from_url(cfg["redis"], key=f"warmup:{name}", rate=1000)
        await warm.acquire()
        warm.release()
        await warm.aclose()
        await client._client().get(f"{cfg['server']}/__admin/records")
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        if "lanes" in cfg:
            until = time.monotonic() + cfg["duration"]
            await asyncio.gather(*(lane(until) for _ in range(cfg["lanes"])))
        else:
            await asyncio.gather(*(call() for _ in range(cfg["calls"])))
        shared = limiter.shared
    await limiter.aclose()
    return {"name": name, "calls": calls, "shared": shared, "events": events}


def _main() -> int:
    sys.path[:0] = [str(ROOT), str(ROOT / "src"), str(ROOT / "generated")]
    import asyncio

    cfg = json.loads(sys.argv[1])
    result = asyncio.run(_work(cfg))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
