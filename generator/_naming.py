"""Names: Python identifiers from spec strings, singular nouns, class and module names.

The one place names are made. Every name is a valid identifier: symbols that carry meaning
become words (``DateSent<`` → ``date_sent_lt``, ``>=`` → ``gte``, ``+1`` → ``plus_1``),
other punctuation separates words (``page[size]`` → ``page_size``), a leading digit gets a
prefix, and Python keywords a trailing underscore. Callers keep names unique within their
scope with :func:`unique`; the spec's own (wire) name stays in the docstrings.
"""

from __future__ import annotations

import functools
import keyword
import re

__all__ = ["pascal", "plural", "py_identifier", "singular", "snake", "unique"]

_WORD_SPLIT = re.compile(r"[^0-9A-Za-z]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_RESERVED = set(keyword.kwlist) | set(keyword.softkwlist) | {"self", "cls"}


_SYMBOLS = (("<=", " lte "), (">=", " gte "), ("!=", " ne "), ("<", " lt "), (">", " gt "))
_SIGNED = re.compile(r"^([+-])(?=\d)")


def _words(text: str) -> list[str]:
    if "<" in text or ">" in text or "!=" in text:
        for symbol, word in _SYMBOLS:
            text = text.replace(symbol, word)
    if text[:1] in "+-":
        text = _SIGNED.sub(lambda m: "plus " if m.group(1) == "+" else "minus ", text)
    out: list[str] = []
    for chunk in _WORD_SPLIT.split(text):
        if chunk:
            out.extend(w for w in _CAMEL.split(chunk) if w)
    return out


@functools.lru_cache(maxsize=1 << 16)  # the same few thousand names come back all the time
def snake(text: str) -> str:
    """``list-for-repo`` / ``listForRepo`` / ``X-GitHub-Api`` → ``list_for_repo`` …"""
    return "_".join(w.lower() for w in _words(text))


@functools.lru_cache(maxsize=1 << 16)
def pascal(text: str) -> str:
    """``checkout.session`` → ``CheckoutSession``; already-Pascal words keep their case.

    Always a valid class name: ``3d_secure`` → ``N3dSecure``, ``None`` → ``None_``."""
    name = "".join(w[:1].upper() + w[1:] for w in _words(text))
    if not name:
        return "Value"
    if name[0].isdigit():
        name = "N" + name
    if keyword.iskeyword(name):
        name += "_"
    return name


def unique(name: str, used: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``… when taken; the result is added to ``used``."""
    candidate, n = name, 2
    while candidate in used:
        candidate, n = f"{name}_{n}", n + 1
    used.add(candidate)
    return candidate


@functools.lru_cache(maxsize=1 << 16)
def py_identifier(text: str, *, prefix: str = "field_") -> str:
    """A valid, non-reserved snake_case identifier for any spec name."""
    name = snake(text)
    if not name:
        name = "value"
    if name[0].isdigit():
        name = prefix + name
    if name in _RESERVED or keyword.iskeyword(name):
        name += "_"
    return name


_IRREGULAR = {"people": "person", "persons": "person", "children": "child", "data": "data"}
_INVARIANT = ("status", "news", "series", "analysis", "address", "access", "class", "process")


def singular(word: str) -> str:
    """English singular of the last word of a snake_case noun phrase."""
    head, _, last = word.rpartition("_")
    if last in _IRREGULAR:
        single = _IRREGULAR[last]
    elif last.endswith(_INVARIANT) or last.endswith("ss") or not last.endswith("s"):
        single = last
    elif last.endswith("ies") and len(last) > 4:
        single = last[:-3] + "y"
    elif last.endswith(("sses", "shes", "ches", "xes", "zzes")) or last.endswith("uses"):
        single = last[:-2]
    else:
        single = last[:-1]
    return f"{head}_{single}" if head else single


def plural(word: str) -> str:
    """English plural of the last word of a snake_case noun phrase."""
    head, _, last = word.rpartition("_")
    if last in ("person",):
        many = "people" if last == "person" else last
    elif last.endswith("s") and singular(last) != last:
        many = last
    elif last.endswith(("s", "x", "z", "ch", "sh")):
        many = last + "es"
    elif last.endswith("y") and len(last) > 1 and last[-2] not in "aeiou":
        many = last[:-1] + "ies"
    else:
        many = last + "s"
    return f"{head}_{many}" if head else many
