"""The report's charts: inline SVG drawn here, in Python, from plain numbers.

Pure functions, strings in, an SVG string out: no JavaScript and no library in the
page draws them, so the report shows its charts as soon as the HTML is parsed, with no
network access. Every bar carries a <title> (the browser's tooltip) with its exact
figure, and every chart an aria-label; the same figures are also in the report's
tables. Colours come from CSS classes (crawler/templates/report.css).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

BAR_HEIGHT = 18  # px per row of a horizontal bar chart
BAR_GAP = 6
LABEL_WIDTH = 170  # px left of the bars for their labels
VALUE_WIDTH = 90  # px right of the longest bar for its value
CHART_WIDTH = 640
COLUMN_HEIGHT = 160  # px of the tallest column
AXIS_HEIGHT = 34  # px under the columns for their labels


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    css: str = "bar"  # the bar's CSS class: its colour
    tip: str = ""  # the tooltip; default "label: value"


@dataclass(frozen=True, slots=True)
class Stack:
    """One column of a stacked chart: ok at the bottom, failed on top."""

    label: str  # under the column ("" for none)
    ok: int
    failed: int
    tip: str


def _number(value: float) -> str:
    return f"{value:,.0f}".replace(",", "\u202f")  # a narrow no-break space per thousand


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' role="img" aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(body)
        + "</svg>"
    )


def hbars(bars: Sequence[Bar], label: str) -> str:
    """Horizontal bars, one row each, the label on the left and the value on the right;
    lengths proportional to the values (the largest spans the chart)."""
    if not bars:
        return ""
    top = max(bar.value for bar in bars) or 1
    span = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    body = []
    for i, bar in enumerate(bars):
        y = i * (BAR_HEIGHT + BAR_GAP)
        length = max(1.0, span * bar.value / top) if bar.value else 0.0
        tip = escape(bar.tip or f"{bar.label}: {bar.value}")
        text_y = y + BAR_HEIGHT - 5
        body.append(
            f'<g><title>{tip}</title><text class="label" x="{LABEL_WIDTH - 8}" y="{text_y}"'
            f' text-anchor="end">{escape(_clip(bar.label, 26))}</text>'
            f'<rect class="{escape(bar.css)}" x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}"'
            f' height="{BAR_HEIGHT}" rx="2"/>'
            f'<text class="value" x="{LABEL_WIDTH + length + 6:.1f}" y="{text_y}">'
            f"{_number(bar.value)}</text></g>"
        )
    height = len(bars) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP
    return _svg(CHART_WIDTH, height, label, body)


def columns(bars: Sequence[Bar], label: str) -> str:
    """Vertical columns in order (a histogram), each labelled under it, its value above."""
    if not bars:
        return ""
    top = max(bar.value for bar in bars) or 1
    slot = CHART_WIDTH / len(bars)
    width = max(2.0, slot * 0.72)
    body = [_baseline(COLUMN_HEIGHT + 14)]
    for i, bar in enumerate(bars):
        height = COLUMN_HEIGHT * bar.value / top if bar.value else 0.0
        height = max(height, 1.0) if bar.value else 0.0
        x = i * slot + (slot - width) / 2
        y = COLUMN_HEIGHT + 14 - height
        tip = escape(bar.tip or f"{bar.label}: {bar.value}")
        middle = x + width / 2
        body.append(
            f'<g><title>{tip}</title><rect class="{escape(bar.css)}" x="{x:.1f}" y="{y:.1f}"'
            f' width="{width:.1f}" height="{height:.1f}" rx="2"/>'
            f'<text class="value" x="{middle:.1f}" y="{y - 3:.1f}" text-anchor="middle">'
            f"{_number(bar.value)}</text>"
            f'<text class="label" x="{middle:.1f}" y="{COLUMN_HEIGHT + 30}"'
            f' text-anchor="middle">{escape(_clip(bar.label, 12))}</text></g>'
        )
    return _svg(CHART_WIDTH, COLUMN_HEIGHT + 14 + AXIS_HEIGHT, label, body)


def stacked(stacks: Sequence[Stack], label: str, y_label: str) -> str:
    """Stacked columns over time: ok (bottom) and failed (top) per slice; the labels
    given are drawn under their columns (give a few, not every one)."""
    if not stacks:
        return ""
    top = max(s.ok + s.failed for s in stacks) or 1
    slot = CHART_WIDTH / len(stacks)
    width = max(1.0, slot * 0.85)
    base = COLUMN_HEIGHT + 14
    body = [
        _baseline(base),
        f'<text class="label" x="2" y="10">{escape(y_label)}: {_number(top)}</text>',
    ]
    for i, s in enumerate(stacks):
        x = i * slot + (slot - width) / 2
        ok_h = COLUMN_HEIGHT * s.ok / top
        bad_h = COLUMN_HEIGHT * s.failed / top
        if s.failed:
            bad_h = max(bad_h, 1.0)  # a failure is never invisible
        parts = [f"<g><title>{escape(s.tip)}</title>"]
        parts.append(
            f'<rect class="bar ok" x="{x:.1f}" y="{base - ok_h:.1f}" width="{width:.1f}"'
            f' height="{ok_h:.1f}"/>'
        )
        if s.failed:
            parts.append(
                f'<rect class="bar failed" x="{x:.1f}" y="{base - ok_h - bad_h:.1f}"'
                f' width="{width:.1f}" height="{bad_h:.1f}"/>'
            )
        if s.label:
            parts.append(
                f'<text class="label" x="{x:.1f}" y="{base + 16}">{escape(s.label)}</text>'
            )
        parts.append("</g>")
        body.append("".join(parts))
    return _svg(CHART_WIDTH, base + AXIS_HEIGHT, label, body)


def _baseline(y: float) -> str:
    return f'<line class="axis" x1="0" y1="{y}" x2="{CHART_WIDTH}" y2="{y}"/>'


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "\u2026"
