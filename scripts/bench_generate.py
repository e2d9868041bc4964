"""Generation time, peak memory and client import time (printed, not asserted).

First all four pins with ``--force`` into a fresh folder, medians of 3: wall time, CPU of the
generator and its workers and ruff, and the peak RSS of the largest of those processes, three
ways, each against the issue-16 target (≤ 5 s, < 200 MB):

- ``cached``: the generator's content-addressed caches (generator/_cache.py) as a developer
  has them after a run: every pin's output comes from the whole-version output cache;
- ``rendered``: the same caches without the output cache (what a run after a template or
  generator edit does: every pin parsed from the cached parse, built and rendered, ruff only
  on files whose rendered text is new — here none);
- ``cold``: no caches (``POLVO_GENERATOR_CACHE=off``: every spec parsed, every file through
  ruff), a fresh clone's first ``make generate``.
 Then per provider: generation, peak memory and
import time. Each figure comes from a fresh subprocess; import time is reported over a bare
interpreter started the same way.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = {"stripe": "StripeClient", "github": "GitHubClient", "openai": "OpenAIClient"}
IMPORT_RUNS = 5
RUNS = 3
TARGET_S = 5.0
TARGET_RSS_MB = 200.0


def _generate_all(env: dict[str, str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one ``python -m generator --force`` of every pin."""
    code = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True, capture_output=True)\n"
        "wall = time.perf_counter() - t\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(wall, u.ru_utime + u.ru_stime, u.ru_maxrss / 1024)\n"
    )
    with tempfile.TemporaryDirectory() as out:
        # a fresh interpreter per run: RUSAGE_CHILDREN then covers this run's processes only
        done = subprocess.run(
            [sys.executable, "-c", code, sys.executable, "-m", "generator", "--force", "--out", out],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
    wall, cpu, rss = (float(x) for x in done.stdout.split())
    return wall, cpu, rss


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def _cache_folder() -> Path:
    setting = os.environ.get("POLVO_GENERATOR_CACHE", "").strip()
    return Path(setting) if setting else ROOT / ".cache" / "generator"


def bench_all_pins() -> list[dict[str, object]]:
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        # "rendered" runs on a copy of the caches, its output cache emptied before each run
        copy = Path(scratch) / "cache"
        for label, extra in (
            ("cached", {}),
            ("rendered", {"POLVO_GENERATOR_CACHE": str(copy)}),
            ("cold", {"POLVO_GENERATOR_CACHE": "off"}),
        ):
            env = {**os.environ, **extra}
            if label == "cached":
                _generate_all(env)  # fills the caches if they are empty (not counted)
                shutil.copytree(_cache_folder(), copy, ignore=shutil.ignore_patterns("output"))
            runs = []
            for _ in range(RUNS):
                if label == "rendered":
                    shutil.rmtree(copy / "output", ignore_errors=True)
                runs.append(_generate_all(env))
            wall, cpu, rss = (_median([r[i] for r in runs]) for i in range(3))
            rows.append(
                {
                    "caches": label,
                    "wall_s": round(wall, 2),
                    "cpu_s": round(cpu, 2),
                    "peak_rss_mb": round(rss, 1),
                }
            )
    load = os.getloadavg()[0]
    print(
        f"all four pins, --force, median of {RUNS}: target ≤ {TARGET_S:.0f} s wall, "
        f"< {TARGET_RSS_MB:.0f} MB (load average {load:.1f})"
    )
    for r in rows:
        ok = "✓" if float(r["wall_s"]) <= TARGET_S and float(r["peak_rss_mb"]) < TARGET_RSS_MB else "✗"  # type: ignore[arg-type]
        print(
            f"  {r['caches']:<8} {r['wall_s']:>6.2f}s wall {r['cpu_s']:>6.2f}s CPU "
            f"{r['peak_rss_mb']:>6.0f}MB peak RSS  {ok}"
        )
    return rows


def _generate(provider: str) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "generator", "--provider", provider, "--out", out, "--force"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        elapsed = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far: report it when it grew
    return elapsed, max(peak, before) / 1024


def _import_ms(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    samples = []
    for _ in range(IMPORT_RUNS):
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
        samples.append(float(out.stdout) * 1000)
    return sorted(samples)[len(samples) // 2]


def _process_ms(statement: str) -> float:
    samples = []
    for _ in range(IMPORT_RUNS):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True, capture_output=True)
        samples.append((time.perf_counter() - t0) * 1000)
    return sorted(samples)[len(samples) // 2]


def main() -> None:
    all_pins = bench_all_pins()
    bare = _process_ms("pass")
    rows = []
    for provider, client in CLIENTS.items():
        gen_s, rss_mb = _generate(provider)
        stmt = f"from usepolvo.{provider} import {client}"
        rows.append(
            {
                "provider": provider,
                "generate_s": round(gen_s, 2),
                "generate_peak_rss_mb": round(rss_mb, 1),
                "import_ms": round(_import_ms(stmt), 1),
                "import_over_bare_ms": round(_process_ms(stmt) - bare, 1),
            }
        )
    print(f"{'provider':<8} {'generate':>9} {'peak RSS':>9} {'import':>8} {'over bare':>10}")
    for r in rows:
        print(
            f"{r['provider']:<8} {r['generate_s']:>8.2f}s {r['generate_peak_rss_mb']:>7.0f}MB "
            f"{r['import_ms']:>6.1f}ms {r['import_over_bare_ms']:>8.1f}ms"
        )
    print(json.dumps({"generate_all_pins_force": all_pins}))
    print(json.dumps({"bare_interpreter_ms": round(bare, 1), "providers": rows}))


if __name__ == "__main__":
    main()
