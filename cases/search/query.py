"""Read a search box the way web search engines do: words, "phrases", -excluded, or.

PostgreSQL reads the text itself with `websearch_to_tsquery`; SQLite's FTS5 has its own strict
syntax, so the same reading is translated into it here (every term quoted, so no input is
ever FTS5 syntax). Both refuse a search with nothing to look for.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidInput

MAX_QUERY = 200
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


@dataclass(frozen=True)
class Parsed:
    """Groups of alternatives (OR inside, AND between), and the terms to leave out."""

    groups: tuple[tuple[str, ...], ...]
    excluded: tuple[str, ...]


def parse(text: str | None) -> Parsed:
    """Split a search into terms; InvalidInput names what is wrong with it."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput({"q": "Type what to look for: a case number, a name, an account "
                                 "or words"})
    if len(text) > MAX_QUERY:
        raise InvalidInput({"q": f"Keep the search under {MAX_QUERY} characters"})
    groups: list[list[str]] = []
    excluded: list[str] = []
    join_next = False
    for match in _TOKEN.finditer(text):
        negated, phrase, word = match.group(1), match.group(2), match.group(3)
        if word is not None and word.lower() == "or":
            join_next = bool(groups)
            continue
        if word is not None and word.startswith("-") and len(word) > 1:
            negated, word = "-", word[1:]
        term = (phrase if phrase is not None else word).strip()
        if not re.search(r"\w", term):
            continue
        if negated:
            excluded.append(term)
        elif join_next:
            groups[-1].append(term)
        else:
            groups.append([term])
        join_next = False
    if not groups:
        raise InvalidInput({"q": "Give at least one word to look for (a search of only "
                                 "-excluded words would find everything)"})
    return Parsed(tuple(tuple(g) for g in groups), tuple(excluded))


def fts5(parsed: Parsed) -> str:
    """The search as an FTS5 query: each term a quoted string."""
    def quote(term: str) -> str:
        return '"' + term.replace('"', '""') + '"'

    wanted = " AND ".join("(" + " OR ".join(quote(t) for t in group) + ")"
                          for group in parsed.groups)
    for term in parsed.excluded:
        wanted = f"({wanted}) NOT {quote(term)}"
    return wanted


def websearch(parsed: Parsed) -> str:
    """The search rebuilt for websearch_to_tsquery (terms quoted, nothing else passed through)."""
    def quote(term: str) -> str:
        return '"' + term.replace('"', " ") + '"'

    parts = [" or ".join(quote(t) for t in group) for group in parsed.groups]
    parts += ["-" + quote(t) for t in parsed.excluded]
    return " ".join(parts)


def case_number(text: str) -> int | None:
    """A search that is a case number ("42", "#42", "case 42"), else None."""
    match = re.fullmatch(r"\s*(?:case\s*)?#?\s*(\d{1,9})\s*", text or "", re.IGNORECASE)
    return int(match.group(1)) if match else None
