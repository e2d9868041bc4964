"""polvo installs as a dependency: a fresh clone builds (sdist, then the wheel from the
sdist, as ``python -m build`` does), the build hook generates the clients from the pins, and
the wheel works in a new virtualenv outside the repository.

The clone holds committed files only: this tests ``HEAD``, not uncommitted edits. The specs
come from the mirror (``POLVO_SPECS_MIRROR`` or ``../shared/specs``); the build's own
dependencies and the wheel's come from pip's cache or the package index.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

from generator._pins import load_providers, mirror_root
from tests.servers.stripe import StripeServer

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _mirror_has_every_pin() -> bool:
    mirror = mirror_root()
    return all((mirror / pin.mirror).is_file() for s in load_providers().values() for pin in s.pins.values())


def _run(args: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"{args[:3]} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(sdist, wheel) built from a fresh clone of HEAD."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout to clone")
    if not _mirror_has_every_pin():
        pytest.skip(f"the spec mirror {mirror_root()} lacks a pinned spec (set POLVO_SPECS_MIRROR)")
    base = tmp_path_factory.mktemp("packaging")
    clone = base / "polvo"
    env = {**os.environ, "POLVO_SPECS_MIRROR": str(mirror_root().resolve())}
    env.pop("PYTHONPATH", None)
    _run(["git", "clone", "--quiet", str(ROOT), str(clone)], cwd=base, env=env, timeout=120)
    assert not (clone / "generated" / "usepolvo").exists(), "a clone must start without generated code"
    dist = base / "dist"
    _run([sys.executable, "-m", "build", "--outdir", str(dist), str(clone)], cwd=base, env=env, timeout=900)
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    return sdist, wheel


def test_sdist_carries_what_generation_needs_and_no_spec(built: tuple[Path, Path]) -> None:
    sdist, _ = built
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for needed in ("hatch_build.py", "generator/_build.py", "templates/resource.py.jinja", "pyproject.toml"):
        assert needed in names, needed
    for settings in load_providers().values():
        for pin in settings.pins.values():
            assert f"specs/{pin.provider}/{pin.path.name}" in names
    assert not [n for n in names if n.endswith((".yaml", ".yml", ".json")) and n.startswith("specs/")]
    assert not [n for n in names if n.startswith("generated/usepolvo")], "the sdist ships inputs, not output"


def test_wheel_ships_every_pinned_client(built: tuple[Path, Path]) -> None:
    _, wheel = built
    names = set(zipfile.ZipFile(wheel).namelist())
    for settings in load_providers().values():
        assert f"usepolvo/{settings.name}/__init__.py" in names
        assert f"usepolvo/{settings.name}/py.typed" in names
        for version in settings.pins:
            module = "v" + version.replace(".", "_").replace("-", "_")
            assert f"usepolvo/{settings.name}/{module}/_client.py" in names, (settings.name, version)
    assert "usepolvo/core/py.typed" in names
    assert not [n for n in names if n.endswith(".stamp.json")]


_USER_PROGRAM = textwrap.dedent(
    """
    import asyncio, sys
    import usepolvo
    from usepolvo.github import GitHubClient
    from usepolvo.openai import OpenAIClient
    from usepolvo.stripe import StripeClient
    from usepolvo.stripe.models import Customer

    assert "site-packages" in usepolvo.__path__[0], usepolvo.__path__

    async def main() -> None:
        key, url = sys.argv[1], sys.argv[2]
        async with StripeClient(api_key=key, base_url=url, rate_limit=None) as stripe:
            page = await stripe.customers.list_customers(size=3)
            assert all(isinstance(c, Customer) for c in page.data), page.data
            print(len(page.data), page.has_more)
        for cls in (GitHubClient, OpenAIClient):
            async with cls(api_key="k", base_url=url) as other:
                print(type(other).__name__)

    asyncio.run(main())
    """
)


def test_wheel_installs_into_a_new_venv_and_calls_a_local_server(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    _, wheel = built
    venv = tmp_path / "venv"
    # a plain install (no extras): the default transport, whatever this run tests
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "POLVO_TRANSPORT")}
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, env=env, timeout=120)
    python = venv / "bin" / "python"
    _run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    program = tmp_path / "user_program.py"
    program.write_text(_USER_PROGRAM)
    server = StripeServer(customers=5).start()
    try:
        out = _run(
            [str(python), str(program), server.api_key, server.url], cwd=tmp_path, env=env, timeout=120
        )
    finally:
        server.stop()
    assert out.split() == ["3", "True", "GitHubClient", "OpenAIClient"]
