"""Inline SVG bar charts (no scripts, no network), each with a title and a data table."""

from __future__ import annotations

from html import escape

WIDTH, BAR, GAP, LABEL = 640, 22, 8, 190
COLOURS = ("#1f5f8b", "#b4462b", "#2e7d4f", "#7a4f9a", "#8a6d1d")


def bar_chart(title: str, data: list[tuple[str, int]], *, colour: int = 0) -> str:
    """A horizontal bar chart of labelled counts, followed by the same data as a table."""
    if not data:
        return f"<figure><figcaption>{escape(title)}</figcaption><p>No findings.</p></figure>"
    top = max(count for _label, count in data) or 1
    height = len(data) * (BAR + GAP) + GAP
    span = WIDTH - LABEL - 60
    bars = []
    for index, (label, count) in enumerate(data):
        y = GAP + index * (BAR + GAP)
        width = max(1, round(span * count / top))
        fill = COLOURS[colour % len(COLOURS)]
        text_y = round(y + BAR * 0.7)
        bars.append(
            f'<text x="{LABEL - 8}" y="{text_y}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{LABEL}" y="{y}" width="{width}" height="{BAR}" fill="{fill}">'
            f"<title>{escape(label)}: {count}</title></rect>"
            f'<text x="{LABEL + width + 6}" y="{text_y}">{count}</text>'
        )
    svg = (
        f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        + "".join(bars) + "</svg>"
    )
    return f"<figure><figcaption>{escape(title)}</figcaption>{svg}{_table(title, data)}</figure>"


def column_chart(title: str, data: list[tuple[str, int]]) -> str:
    """A vertical column chart (for weeks), followed by the same data as a table."""
    if not data:
        return f"<figure><figcaption>{escape(title)}</figcaption><p>No findings.</p></figure>"
    top = max(count for _label, count in data) or 1
    height, base, step = 240, 200, max(8, (WIDTH - 40) // len(data))
    columns = []
    for index, (label, count) in enumerate(data):
        bar = max(1, round((base - 20) * count / top))
        x = 30 + index * step
        columns.append(
            f'<rect x="{x}" y="{base - bar}" width="{step - 3}" height="{bar}" fill="{COLOURS[0]}">'
            f"<title>{escape(label)}: {count}</title></rect>"
        )
        if index % max(1, len(data) // 8) == 0:
            columns.append(f'<text x="{x}" y="{base + 16}" font-size="11">{escape(label)}</text>')
    width = 40 + len(data) * step
    svg = (
        f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="100%" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'<line x1="28" y1="{base}" x2="{width}" y2="{base}" stroke="#555"/>'
        f'<text x="0" y="16" font-size="11">{top}</text>' + "".join(columns) + "</svg>"
    )
    return f"<figure><figcaption>{escape(title)}</figcaption>{svg}{_table(title, data)}</figure>"


def _table(title: str, data: list[tuple[str, int]]) -> str:
    rows = "".join(f"<tr><th scope='row'>{escape(k)}</th><td>{v}</td></tr>" for k, v in data)
    return (f"<details><summary>Data: {escape(title)}</summary><table>"
            f"<thead><tr><th scope='col'>Group</th><th scope='col'>Findings</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></details>")
