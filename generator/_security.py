"""What a generated client takes as credentials and server settings, read from the spec.

``securitySchemes`` become :class:`usepolvo.core._security.Scheme` arguments and
constructor keywords (``username``/``password`` for HTTP basic, ``client_id``/
``client_secret`` for OAuth2 client credentials, one keyword per API key or token, named
after the scheme — or ``api_key`` when the spec has a single one); each keyword reads
``<PROVIDER>_<KEYWORD>`` from the environment. Server variables become typed keywords
(``Literal`` of the enum) with the spec's defaults.
"""

from __future__ import annotations

from typing import Any

import attrs

from ._naming import py_identifier, snake

__all__ = ["ClientView", "client_view", "requirement"]

#: keywords the client already has (``ClientOptions``) or that would shadow its API
_TAKEN = {
    "base_url",
    "timeout",
    "connect_timeout",
    "total_timeout",
    "max_retries",
    "max_concurrency",
    "rate_limit",
    "limiter",
    "default_headers",
    "http_client",
    "auth",
    "transport",
    "provider_options",
    "self",
    "options",
}


@attrs.define
class ClientView:
    schemes: list[dict[str, Any]]
    default: tuple[tuple[str, ...], ...]
    #: (keyword, env var) of every credential
    keywords: list[tuple[str, str]]
    #: (keyword, wire name, default, enum values or None)
    server_vars: list[tuple[str, str, str, list[str] | None]]
    server: str


def requirement(raw: Any) -> tuple[tuple[str, ...], ...] | None:
    """A ``security`` list as alternatives of scheme names (``None`` when absent)."""
    if not isinstance(raw, list):
        return None
    return tuple(tuple(str(k) for k in alt) for alt in raw if isinstance(alt, dict))


def client_view(root: dict[str, Any], name: str, api_key_env: list[str]) -> ClientView:
    raw = ((root.get("components") or {}).get("securitySchemes")) or {}
    upper = snake(name).upper()
    single = [k for k, s in raw.items() if isinstance(s, dict) and _single_credential(s)]
    used = set(_TAKEN)
    schemes: list[dict[str, Any]] = []
    keywords: dict[str, str] = {}

    def keyword(base: str) -> str:
        kw = base
        while kw in used and kw not in keywords:
            kw += "_"
        used.add(kw)
        if kw not in keywords:
            keywords[kw] = api_key_env[0] if kw == "api_key" and api_key_env else f"{upper}_{kw.upper()}"
        return kw

    for scheme_name, s in raw.items():
        if not isinstance(s, dict):
            continue
        typ = s.get("type")
        entry: dict[str, Any] = {"name": scheme_name}
        kws: tuple[str, ...]
        if typ == "apiKey":
            entry["kind"] = "api_key"
            entry["location"] = s.get("in", "header")
            entry["param"] = str(s.get("name", ""))
            kws = (keyword("api_key" if len(single) == 1 else py_identifier(scheme_name)),)
        elif typ == "http" and str(s.get("scheme", "")).lower() == "basic":
            entry["kind"] = "basic"
            kws = (keyword("username"), keyword("password"))
        elif typ == "oauth2" and isinstance((s.get("flows") or {}).get("clientCredentials"), dict):
            entry["kind"] = "client_credentials"
            entry["token_url"] = _same_origin(str(s["flows"]["clientCredentials"].get("tokenUrl", "")), root)
            kws = (keyword("client_id"), keyword("client_secret"))
            entry["token_keyword"] = keyword("access_token")  # or a token the user already has
        elif typ in ("oauth2", "openIdConnect"):  # a token from another flow, sent as bearer
            entry["kind"] = "oauth2"
            kws = (keyword("access_token"),)
        else:  # http bearer (or another http scheme)
            entry["kind"] = "bearer"
            kws = (keyword("api_key" if len(single) == 1 else py_identifier(scheme_name)),)
        entry["keywords"] = kws
        entry["env"] = tuple(keywords[k] for k in kws)
        schemes.append(entry)
    default = requirement(root.get("security")) or ()
    known = {s["name"] for s in schemes}
    default = tuple(alt for alt in default if all(n in known for n in alt))
    servers = root.get("servers") or [{"url": ""}]
    first = servers[0] if isinstance(servers[0], dict) else {"url": ""}
    server_vars = []
    raw_vars = first.get("variables")
    variables: dict[str, Any] = raw_vars if isinstance(raw_vars, dict) else {}
    for var, spec in variables.items():
        kw = py_identifier(var)
        if kw in used:
            kw = "server_" + kw
        used.add(kw)
        enum = [str(v) for v in spec.get("enum") or []] or None
        if enum:
            enum = list(dict.fromkeys(enum))
        server_vars.append((kw, str(var), str(spec.get("default", "")), enum))
    return ClientView(
        schemes, default, list(keywords.items()), server_vars, str(first.get("url", "")).rstrip("/")
    )


def _single_credential(s: dict[str, Any]) -> bool:
    if s.get("type") == "apiKey":
        return True
    return s.get("type") == "http" and str(s.get("scheme", "")).lower() != "basic"


def _same_origin(url: str, root: dict[str, Any]) -> str:
    """A token URL on the API's own host, as a path: it then follows a custom base URL."""
    from urllib.parse import urlsplit

    servers = root.get("servers") or [{}]
    server = urlsplit(str((servers[0] or {}).get("url", "")))
    target = urlsplit(url)
    if (
        target.scheme
        and (target.scheme, target.netloc) == (server.scheme, server.netloc)
        and "{" not in server.netloc
    ):
        return target.path + (f"?{target.query}" if target.query else "")
    return url
