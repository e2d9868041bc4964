"""``multipart/form-data`` bodies: files as parts with filename and content type.

A file may be given as ``bytes``, an open binary file, a path (``pathlib.Path``), or a
tuple ``(filename, content)`` / ``(filename, content, content_type)`` with content as
bytes or a file. Other fields are sent as plain parts, nested ones flattened the Stripe way
(``file_link_data[create]=true``).
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Mapping
from typing import IO, Any, Union

from ._encoding import encode_form
from ._errors import ConfigurationError
from ._types import NotGiven

__all__ = ["FileContent", "FileTypes", "split_multipart"]

FileContent = Union[IO[bytes], bytes, bytearray]
FileTypes = Union[
    FileContent,
    "os.PathLike[str]",
    tuple[str, FileContent],
    tuple[str, FileContent, str],
]

_FilePart = tuple[str, tuple[Union[str, None], bytes, Union[str, None]]]


def _is_file(value: Any) -> bool:
    if isinstance(value, (bytes, bytearray, os.PathLike)):
        return True
    if isinstance(value, tuple) and len(value) in (2, 3) and isinstance(value[0], str):
        return _is_file(value[1])
    return hasattr(value, "read")


def _content(name: str, value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, os.PathLike):
        with open(value, "rb") as fh:
            return fh.read()
    data = value.read()
    if isinstance(data, str):
        raise ConfigurationError(f"file field {name!r} was opened in text mode: open it with 'rb'")
    return bytes(data)


def _file_part(name: str, value: Any) -> _FilePart:
    ctype: str | None = None
    if isinstance(value, tuple):
        filename, content = value[0], value[1]
        if len(value) == 3:
            ctype = value[2]
    else:
        content = value
        raw = os.fspath(value) if isinstance(value, os.PathLike) else getattr(value, "name", None)
        filename = os.path.basename(raw) if isinstance(raw, str) else name
    if ctype is None:
        ctype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return (name, (filename, _content(name, content), ctype))


def split_multipart(body: Mapping[str, Any]) -> tuple[dict[str, Any], list[_FilePart]]:
    """Split a body into form fields and file parts for ``httpx``."""
    if not isinstance(body, Mapping):
        raise ConfigurationError("a multipart body must be a mapping of field names to values")
    data: dict[str, Any] = {}
    files: list[_FilePart] = []
    plain: dict[str, Any] = {}
    for name, value in body.items():
        if isinstance(value, NotGiven):
            continue
        if _is_file(value):
            files.append(_file_part(name, value))
        elif isinstance(value, (list, tuple)) and value and all(_is_file(v) for v in value):
            files.extend(_file_part(name, v) for v in value)
        else:
            plain[name] = value
    for key, text in encode_form(plain):
        if key in data:
            prev = data[key]
            data[key] = [*prev, text] if isinstance(prev, list) else [prev, text]
        else:
            data[key] = text
    if not files and data:
        # httpx sends a body without file parts as urlencoded: keep it multipart/form-data
        for key, value in data.items():
            for text in value if isinstance(value, list) else [value]:
                files.append((key, (None, text.encode(), None)))
        data = {}
    return data, files
