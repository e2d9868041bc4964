"""Warnings the runtime emits (filter them with ``warnings.filterwarnings``)."""

from __future__ import annotations

__all__ = ["ApiVersionWarning"]


class ApiVersionWarning(UserWarning):
    """A call overrides the API version the client was generated for.

    ``request_options={"api_version": ...}`` sends another version header for one call, but
    the typed parameters and models still follow the pinned spec version: responses may
    carry fields or values they do not describe, or lack ones they expect.
    """
