"""--extract NAME=SELECTOR: parsing the option, and the values it takes from a page."""

from __future__ import annotations

import pickle

import pytest
from bs4 import BeautifulSoup

from crawler.extract import BadExtractor, Extractor, extract, parse_extractors
from crawler.links import parse_page


def soup(html: str) -> BeautifulSoup:
    # As crawler/links.py builds the whole tree for extraction.
    return BeautifulSoup(html, "lxml", multi_valued_attributes=None)


def run(html: str, *specs: str) -> dict[str, list[str]]:
    return extract(soup(html), parse_extractors(specs))


# --- parsing the option -------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "name", "selector", "attribute"),
    [
        ("title=title", "title", "title", None),
        ("price=div.price > span", "price", "div.price > span", None),
        ("links=a@href", "links", "a", "href"),
        ("links = a[rel~=next] @href", "links", "a[rel~=next]", "href"),
        ("img_alt=img@data-alt", "img_alt", "img", "data-alt"),
        ("x-y=h1", "x-y", "h1", None),
        # "@" inside an attribute selector: what follows the last "@" is no plain name.
        ('mail=a[href*="@"]', "mail", 'a[href*="@"]', None),
        (
            'mail=a[href^="mailto:"][href*="@"]@href',
            "mail",
            'a[href^="mailto:"][href*="@"]',
            "href",
        ),
        ("eq=a[title='x=y']", "eq", "a[title='x=y']", None),
    ],
)
def test_parse(spec: str, name: str, selector: str, attribute: str | None) -> None:
    extractor = Extractor.parse(spec)
    assert (extractor.name, extractor.selector, extractor.attribute) == (name, selector, attribute)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("title", "expected NAME=SELECTOR"),
        ("=title", "bad name ''"),
        ("9lives=p", "bad name '9lives'"),
        ("a b=p", "bad name 'a b'"),
        ("name.x=p", "bad name 'name.x'"),
        ("x=", "empty selector"),
        ("x=@href", "empty selector"),
        ("x=a[", "bad CSS selector 'a['"),
        ("x=p:nonsense", "bad CSS selector 'p:nonsense'"),
        ("x=div >", "bad CSS selector 'div >'"),
        ('x=a[href*="@"@href', "bad CSS selector"),
    ],
)
def test_parse_refuses(spec: str, message: str) -> None:
    with pytest.raises(BadExtractor, match=message.replace("[", r"\[")) as info:
        Extractor.parse(spec)
    assert "\n" not in str(info.value)


def test_names_are_unique() -> None:
    with pytest.raises(BadExtractor, match="name 'a' given twice"):
        parse_extractors(["a=p", "b=p", "a=h1"])
    assert [e.name for e in parse_extractors(["a=p", "b=p"])] == ["a", "b"]


def test_extractor_is_a_picklable_value() -> None:
    extractor = Extractor.parse("links=a@href")
    assert pickle.loads(pickle.dumps(extractor)) == extractor
    assert extractor == Extractor.parse("links = a @href")


# --- extraction ---------------------------------------------------------------------


def test_text_and_attribute() -> None:
    html = '<h1>Hi</h1><a href="/a">A</a><a href="/b?x=1&amp;y=2">B</a>'
    assert run(html, "h=h1", "links=a@href", "names=a") == {
        "h": ["Hi"],
        "links": ["/a", "/b?x=1&y=2"],  # as given: not resolved, not canonical
        "names": ["A", "B"],
    }


def test_no_match_is_an_empty_list() -> None:
    assert run("<p>x</p>", "h=h1", "img=img@src") == {"h": [], "img": []}


def test_matches_in_document_order() -> None:
    html = "<div><p class=n>1</p><section><p class=n>2</p></section></div><p class=n>3</p>"
    assert run(html, "n=.n", "deep=div p") == {"n": ["1", "2", "3"], "deep": ["1", "2"]}


def test_text_is_whitespace_collapsed_and_stripped() -> None:
    html = "<p>  one\n\t two <b>three</b>\u00a0four  </p><p>   </p>"
    # One value per match, the blank one too, so lists line up with the matches.
    assert run(html, "p=p") == {"p": ["one two three four", ""]}


def test_attribute_values_as_given_and_missing_ones_skipped() -> None:
    html = '<a href=" /x ">1</a><a>2</a><a href="">3</a><div class="b  a">d</div>'
    assert run(html, "h=a@href", "c=div@class", "cls=.a") == {
        "h": [" /x ", ""],
        "c": ["b  a"],
        "cls": ["d"],
    }


def test_malformed_html() -> None:
    # Unclosed and stray tags, an unquoted attribute, a page cut off mid-tag.
    html = "<ul><li>one<li>two</ul></span><p>a<p class=x>b</div><a href=/z>z<h1>cut <b"
    assert run(html, "li=li", "p=p", "x=p.x", "h=a@href", "h1=h1") == {
        "li": ["one", "two"],
        "p": ["a", "bzcut"],  # text joined as in the DOM's textContent
        "x": ["bzcut"],
        "h": ["/z"],
        "h1": ["cut"],
    }


def test_parse_page_extracts_from_the_whole_tree_with_links_as_before() -> None:
    body = (
        '<html><head><title> T </title></head><body><base href="/d/">'
        '<h2>café</h2><a href="x" rel=nofollow>x</a><a href="y">y</a></body></html>'
    ).encode("cp1252")
    extractors = parse_extractors(["h=h2", "href=a@href"])
    with_data = parse_page(
        body,
        url="http://ex.com/",
        http_charset="windows-1252",
        max_url_length=2048,
        extractors=extractors,
    )
    plain = parse_page(body, url="http://ex.com/", http_charset="windows-1252", max_url_length=2048)
    assert with_data.data == {"h": ["café"], "href": ["x", "y"]}
    assert plain.data is None
    assert (
        (with_data.title, with_data.links, with_data.nofollow)
        == (
            plain.title,
            plain.links,
            plain.nofollow,
        )
        == ("T", ["http://ex.com/d/x", "http://ex.com/d/y"], ["http://ex.com/d/x"])
    )


def test_parse_page_without_tags_has_empty_lists() -> None:
    page = parse_page(
        b"just text",
        url="http://ex.com/",
        http_charset=None,
        max_url_length=2048,
        extractors=parse_extractors(["h=h1"]),
    )
    assert page.data == {"h": []}
