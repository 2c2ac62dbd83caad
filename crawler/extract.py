"""--extract NAME=SELECTOR: parse the option into an Extractor, apply extractors to a page.

Pure: strings and a parsed tree in, values out. No I/O, no fetching, no decoding (the
caller hands over a tree built from the decoded page, see crawler/links.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import soupsieve

if TYPE_CHECKING:
    from bs4.element import Tag

# A name becomes a JSON key in every record: keep it a plain word.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
# SPEC: the attribute is what follows the last "@" when that is a plain attribute name at
# the end; so `a[href*="@"]` stays a selector ("]" is no name).
_ATTRIBUTE = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:.-]*$")


class BadExtractor(ValueError):
    """A --extract value that cannot be used; the message is one line naming it."""


@dataclass(frozen=True, slots=True)
class Extractor:
    """One --extract: the values of `selector`'s matches, their `attribute` or their text."""

    name: str
    selector: str
    attribute: str | None  # None: the text
    # Compiled once; soupsieve patterns pickle, and two extractors are equal by the above.
    pattern: soupsieve.SoupSieve = field(compare=False, repr=False)

    @classmethod
    def parse(cls, spec: str) -> Extractor:
        """`NAME=SELECTOR` or `NAME=SELECTOR@attr`; BadExtractor if it cannot be used."""
        name, sep, rest = spec.partition("=")
        name = name.strip()
        if not sep:
            raise BadExtractor(f"expected NAME=SELECTOR, got {spec!r}")
        if not _NAME.match(name):
            raise BadExtractor(f"bad name {name!r} in {spec!r}: expected a plain word")
        selector, attribute = _split_attribute(rest.strip())
        if not selector:
            raise BadExtractor(f"empty selector in {spec!r}")
        try:
            pattern = soupsieve.compile(selector)
        except (soupsieve.SelectorSyntaxError, ValueError) as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise BadExtractor(f"bad CSS selector {selector!r}: {first_line}") from None
        return cls(name=name, selector=selector, attribute=attribute, pattern=pattern)

    def values(self, soup: Tag) -> list[str]:
        """The value of each match, in document order; a match without the attribute
        has none."""
        if self.attribute is None:
            return [" ".join(tag.get_text().split()) for tag in self.pattern.select(soup)]
        found: list[str] = []
        for tag in self.pattern.select(soup):
            value = tag.get(self.attribute)
            if isinstance(value, str):
                found.append(value)
            elif isinstance(value, list):  # a tree built with multi-valued attributes
                found.append(" ".join(value))
        return found


def _split_attribute(text: str) -> tuple[str, str | None]:
    head, sep, tail = text.rpartition("@")
    if sep and _ATTRIBUTE.match(tail):
        return head.strip(), tail
    return text, None


def parse_extractors(specs: Iterable[str]) -> tuple[Extractor, ...]:
    """Every --extract value parsed; BadExtractor on a bad one or a name given twice."""
    extractors: list[Extractor] = []
    names: set[str] = set()
    for spec in specs:
        extractor = Extractor.parse(spec)
        if extractor.name in names:
            raise BadExtractor(f"name {extractor.name!r} given twice")
        names.add(extractor.name)
        extractors.append(extractor)
    return tuple(extractors)


def extract(soup: Tag, extractors: Sequence[Extractor]) -> dict[str, list[str]]:
    """A record's `data`: each extractor's name -> its values (`[]` when nothing matches)."""
    return {extractor.name: extractor.values(soup) for extractor in extractors}
