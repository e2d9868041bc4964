"""Per-provider, per-version settings, emitted by the generator from the pin in ``specs/``."""

from __future__ import annotations

__all__ = ["ProviderConfig"]


class ProviderConfig:
    """What a client needs to know about its provider that is not per operation.

    Attributes mirror the provider's ``specs/<provider>/provider.toml`` and the pin of the
    version the code was generated from.

    Client-side limits (the ``[rate_limit]`` table): ``max_concurrency`` requests in flight;
    ``rate_limit`` points per ``rate_period`` seconds (``None``: no client-side rate limit,
    only the server's signals), ``rate_limit_test`` instead when the key starts with one of
    ``test_key_prefixes`` (Stripe's test mode); reads (GET/HEAD/OPTIONS) cost one point and
    other methods ``write_cost`` points (GitHub's secondary limit).

    Constructor extras: ``api_key_aliases`` are other names of ``api_key=`` (GitHub's
    ``token=``); ``optional_headers`` are ``(keyword, header, env var or None)`` triples, each
    a constructor keyword sent as that header on every request, defaulting to the variable.
    """

    __slots__ = (
        "accept",
        "api_key_aliases",
        "api_key_env",
        "api_version",
        "auth",
        "base_url",
        "base_url_env",
        "client_name",
        "idempotency_header",
        "max_concurrency",
        "name",
        "optional_headers",
        "rate_limit",
        "rate_limit_test",
        "rate_period",
        "request_id_header",
        "spec_version",
        "test_key_prefixes",
        "version_header",
        "write_cost",
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
        max_concurrency: int | None = 64,
        rate_limit: float | None = None,
        rate_limit_test: float | None = None,
        rate_period: float = 1.0,
        test_key_prefixes: tuple[str, ...] = (),
        write_cost: float = 1.0,
        api_key_aliases: tuple[str, ...] = (),
        optional_headers: tuple[tuple[str, str, str | None], ...] = (),
        accept: str = "application/json",
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
        self.max_concurrency = max_concurrency
        self.rate_limit = rate_limit
        self.rate_limit_test = rate_limit_test
        self.rate_period = rate_period
        self.test_key_prefixes = tuple(test_key_prefixes)
        self.write_cost = write_cost
        self.api_key_aliases = tuple(api_key_aliases)
        self.optional_headers = tuple(optional_headers)
        #: the default ``Accept`` header (GitHub advises ``application/vnd.github+json``)
        self.accept = accept

    def __repr__(self) -> str:
        return f"<ProviderConfig {self.name} {self.spec_version}>"
