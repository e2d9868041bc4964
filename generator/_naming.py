"""Names: Python identifiers from spec strings, singular nouns, class and module names."""

from __future__ import annotations

import keyword
import re

__all__ = ["pascal", "plural", "py_identifier", "singular", "snake"]

_WORD_SPLIT = re.compile(r"[^0-9A-Za-z]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_RESERVED = set(keyword.kwlist) | set(keyword.softkwlist) | {"self", "cls"}


def _words(text: str) -> list[str]:
    out: list[str] = []
    for chunk in _WORD_SPLIT.split(text):
        if chunk:
            out.extend(w for w in _CAMEL.split(chunk) if w)
    return out


def snake(text: str) -> str:
    """``list-for-repo`` / ``listForRepo`` / ``X-GitHub-Api`` → ``list_for_repo`` …"""
    return "_".join(w.lower() for w in _words(text))


def pascal(text: str) -> str:
    """``checkout.session`` → ``CheckoutSession``; already-Pascal words keep their case."""
    return "".join(w[:1].upper() + w[1:] for w in _words(text))


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
