"""The README is true: every snippet in it is run against local servers.

Convention (for every section, including ones added later): each fenced ```python block is
executed, in order of appearance and each on its own, with STRIPE_*, GITHUB_* and OPENAI_*
pointing at the local servers of tests/servers (a GitHub App key in ``app.private-key.pem``
of the working folder). Each ```sh block must parse (``bash -n``) and every ``make`` target
it names must exist. Each ```toml block must parse. A block that cannot run here is preceded by the line
``<!-- readme-test: skip REASON -->`` (invisible on GitHub); the reason is required.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.servers.github import GitHubServer
from tests.servers.openai import OpenAIServer
from tests.servers.stripe import StripeServer

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

_BLOCK = re.compile(
    r"^(?:<!-- readme-test: (?P<mark>[^\n]*?) -->\n)?```(?P<lang>[\w-]*)\n(?P<code>.*?)^```", re.M | re.S
)


class Block(NamedTuple):
    line: int
    lang: str
    code: str
    mark: str


def _blocks() -> list[Block]:
    text = README.read_text()
    return [
        Block(text.count("\n", 0, m.start("code")) + 1, m["lang"], m["code"], (m["mark"] or "").strip())
        for m in _BLOCK.finditer(text)
    ]


BLOCKS = _blocks()
PYTHON = [b for b in BLOCKS if b.lang == "python"]
SHELL = [b for b in BLOCKS if b.lang in ("sh", "bash", "shell", "console")]
TOML = [b for b in BLOCKS if b.lang == "toml"]


def test_every_block_is_checked_and_skips_say_why() -> None:
    assert len(PYTHON) >= 7 and SHELL
    for block in BLOCKS:
        assert block.lang in ("python", "sh", "bash", "shell", "console", "toml"), (
            f"README line {block.line}: a ```{block.lang or '(no language)'} block is run by no test"
        )
        if block.mark:
            assert re.fullmatch(r"skip \S.*", block.mark), (
                f"README line {block.line}: bad mark {block.mark!r}"
            )


@pytest.fixture
def app_key(tmp_path: Path) -> bytes:
    rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "app.private-key.pem").write_bytes(private)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture
def local_apis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app_key: bytes, stripe_server: StripeServer
) -> Iterator[None]:
    """Every provider's environment pointing at a local server; the cwd a scratch folder."""
    github = GitHubServer(
        issues=3, token="ghp_readme", app_id="123456", installation_id="7890123", app_public_key=app_key
    ).start()
    openai = OpenAIServer(files=3).start()
    env = {
        "STRIPE_API_KEY": stripe_server.api_key,
        "STRIPE_BASE_URL": stripe_server.url,
        "GITHUB_TOKEN": "ghp_readme",
        "GITHUB_BASE_URL": github.url,
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": openai.url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "GITHUB_API_KEY", "POLVO_RATE_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    try:
        yield
    finally:
        github.stop()
        openai.stop()


@pytest.mark.parametrize("block", PYTHON, ids=[f"line{b.line}" for b in PYTHON])
def test_python_snippet_runs(block: Block, local_apis: None, capsys: pytest.CaptureFixture[str]) -> None:
    if block.mark:
        pytest.skip(block.mark)
    code = compile(block.code, f"README.md:{block.line}", "exec")
    namespace: dict[str, object] = {"__name__": "__readme__"}
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the snippets must not use what is deprecated
        exec(code, namespace)
    # a snippet that builds a client at top level leaves its pool to the garbage collector:
    # close it here so no connection outlives the test
    for value in namespace.values():
        aclose = getattr(value, "aclose", None)
        if aclose is not None and type(value).__module__.startswith("usepolvo."):
            asyncio.run(aclose())


@pytest.mark.parametrize("block", SHELL, ids=[f"line{b.line}" for b in SHELL])
def test_shell_snippet_parses_and_names_real_targets(block: Block) -> None:
    if block.mark:
        pytest.skip(block.mark)
    bash = shutil.which("bash")
    assert bash is not None
    proc = subprocess.run([bash, "-n"], input=block.code, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, f"README line {block.line}: {proc.stderr}"
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    for target in re.findall(r"(?:^|[;&|]\s*)make\s+([a-z][\w-]*)", block.code, re.M):
        assert target in targets, f"README line {block.line}: `make {target}` is not a Makefile target"


def test_python_snippets_print_what_the_readme_says(
    local_apis: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The outputs the text promises: the seed snippet's two pages, the mock's typed 404."""
    seed = next(b for b in PYTHON if "fetch_customers_and_charges" in b.code)
    namespace: dict[str, object] = {"__name__": "__readme__"}
    exec(compile(seed.code, "README.md", "exec"), namespace)
    customers, charges = namespace["customers"], namespace["charges"]
    assert len(customers.data) == len(charges.data) == 10  # type: ignore[attr-defined]
    mock = next(b for b in PYTHON if "MockAPI" in b.code)
    exec(compile(mock.code, "README.md", "exec"), {"__name__": "__readme__"})
    assert "not found: 404" in capsys.readouterr().out


@pytest.mark.parametrize("block", TOML, ids=[f"line{b.line}" for b in TOML])
def test_toml_snippet_parses(block: Block) -> None:
    import tomllib

    tomllib.loads(block.code)
