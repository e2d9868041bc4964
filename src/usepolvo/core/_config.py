"""Per-provider, per-version settings, emitted by the generator from the pin in ``specs/``."""

from __future__ import annotations

__all__ = ["ProviderConfig"]


class ProviderConfig:
    """What a client needs to know about its provider that is not per operation.

    Attributes mirror the provider's ``specs/<provider>/provider.toml`` and the pin of the
    version the code was generated from.
    """

    __slots__ = (
        "api_key_env",
        "api_version",
        "auth",
        "base_url",
        "base_url_env",
        "client_name",
        "idempotency_header",
        "name",
        "request_id_header",
        "spec_version",
        "version_header",
    )

    def __init__(
        self,
        *,
        name: str,
        client_name: str,
        spec_version: str,
        base_url: str,
        api_key_env: tuple[str, ...],
        base_url_env: str,
        auth: str = "bearer",
        version_header: str | None = None,
        api_version: str | None = None,
        request_id_header: str = "x-request-id",
        idempotency_header: str | None = None,
    ) -> None:
        self.name = name
        self.client_name = client_name
        self.spec_version = spec_version
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.base_url_env = base_url_env
        self.auth = auth
        self.version_header = version_header
        self.api_version = api_version
        self.request_id_header = request_id_header
        self.idempotency_header = idempotency_header

    def __repr__(self) -> str:
        return f"<ProviderConfig {self.name} {self.spec_version}>"
