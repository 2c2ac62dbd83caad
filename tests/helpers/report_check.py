"""What a report must show, computed straight from out.json (not through crawler.figures,
so that a shared mistake cannot hide), and the JavaScript that reads the same figures
back from a report open in a browser."""

from __future__ import annotations

from typing import Any


def failed(record: dict[str, Any]) -> bool:
    status = record.get("status")
    return record.get("error") is not None or status is None or status >= 400


def expected_broken(out: dict[str, Any]) -> dict[str, list[str]]:
    """Each failed record's URL -> the recorded pages whose links hold it (not itself),
    in out.json's order."""
    broken: dict[str, list[str]] = {p["url"]: [] for p in out["pages"] if failed(p)}
    for page in out["pages"]:
        for link in dict.fromkeys(page.get("links") or ()):
            if link in broken and link not in (page["url"], page.get("final_url")):
                broken[link].append(page["url"])
    return broken


def digits(text: str) -> int:
    """ "3 000" (a narrow no-break space per thousand) -> 3000."""
    return int("".join(c for c in text if c.isdigit()))


# Run in the page: the overview's figures, and each broken link's row as shown.
READ_REPORT_JS = """
const figure = name => {
  const node = document.querySelector('[data-figure="' + name + '"]');
  return node ? node.textContent : null;
};
const rows = Array.from(document.querySelectorAll('#broken-table tbody tr')).map(row => ({
  url: row.getAttribute('data-url'),
  linksIn: row.querySelector('[data-links-in]').textContent.trim(),
  linkers: Array.from(row.querySelectorAll('ul.linkers a')).map(a => a.textContent),
}));
return {
  pages: figure('pages'), ok: figure('ok'), failed: figure('failed'),
  broken: figure('broken'), rows: rows,
};
"""
