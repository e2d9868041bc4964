"""``__all__`` lists exactly the public surface (after httpx's tests/test_exported_members.py)."""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = [
    "usepolvo.core",
    "usepolvo.stripe",
    "usepolvo.stripe.v2023_08_16",
    "usepolvo.stripe.v2022_11_15",
    "usepolvo.stripe.webhooks",
    "usepolvo.github.webhooks",
    "usepolvo.openai.webhooks",
]


def _public_members(module: types.ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }


@pytest.mark.parametrize("name", PACKAGES)
def test_all_lists_exactly_the_public_members(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__

    assert len(exported) == len(set(exported)), "duplicates in __all__"
    missing = [member for member in exported if not hasattr(module, member)]
    assert missing == [], f"{name}.__all__ names what the module does not define"
    unexported = _public_members(module) - set(exported)
    assert unexported == set(), f"{name} defines public names missing from __all__"


def test_stripe_reexports_core_objects() -> None:
    import usepolvo.stripe as stripe

    import usepolvo.core as core

    for member in stripe.__all__:
        if hasattr(core, member):
            assert getattr(stripe, member) is getattr(core, member), member
    assert stripe.StripeClient is stripe.v2023_08_16.StripeClient
    assert issubclass(stripe.StripeClient, core.BaseClient)


def test_stripe_errors_are_the_core_hierarchy() -> None:
    import usepolvo.stripe as stripe

    for member in stripe.__all__:
        value = getattr(stripe, member)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, stripe.PolvoError), member


def test_core_submodules_declare_their_exports() -> None:
    import usepolvo.core as core

    for name in sorted(n for n, v in vars(core).items() if isinstance(v, types.ModuleType)):
        submodule = getattr(core, name)
        assert name.startswith("_"), f"usepolvo.core.{name} should be private"
        for member in getattr(submodule, "__all__", []):
            assert hasattr(submodule, member), f"{submodule.__name__}.{member}"


@pytest.mark.parametrize("version", ["v2023_08_16", "v2022_11_15"])
def test_every_model_in_the_index_resolves(version: str) -> None:
    models = importlib.import_module(f"usepolvo.stripe.{version}.models")
    assert len(models.__all__) == len(set(models.__all__))
    for member in models.__all__:
        value = getattr(models, member)
        assert isinstance(value, type), member
        assert value.__name__ == member
