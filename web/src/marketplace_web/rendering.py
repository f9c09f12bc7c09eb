"""Markdown rendered inert, number and date formats, and charts drawn as SVG on the server."""

from datetime import datetime
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

# CommonMark without raw HTML: markup in a description shows as text; ammonia then keeps only
# safe tags and http(s)/mailto links (a `javascript:` link loses its href).
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")
_TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre", "blockquote",
         "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td"}
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}, "td": {"align"}}


def markdown(text: str | None) -> Markup:
    if not text:
        return Markup("")
    html = _MARKDOWN.render(text)
    clean = nh3.clean(html, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                      link_rel="noopener noreferrer nofollow")
    return Markup(clean)


def safe_url(url: str | None) -> str | None:
    """A link a page may carry: http(s), mailto, or a path on this site; anything else is dropped."""
    if not url or not isinstance(url, str):
        return None
    parts = urlsplit(url.strip())
    if parts.scheme in ("http", "https", "mailto"):
        return url.strip()
    if not parts.scheme and not parts.netloc and url.startswith("/") and not url.startswith("//"):
        return url
    return None


def compact(number) -> str:
    """1234 -> 1.2k, 3400000 -> 3.4M."""
    try:
        value = float(number or 0)
    except (TypeError, ValueError):
        return "0"
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return str(int(value)) if value == int(value) else f"{value:.1f}"


def date(value: str | None) -> str:
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%d")
    except ValueError:
        return str(value)


def datetime_text(value: str | None) -> str:
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return str(value)


def bar_chart(items: list[tuple[str, float]], title: str, width: int = 320, bar_height: int = 18,
              unit: str = "") -> Markup:
    """Horizontal bars with their labels and values, an accessible SVG (role=img, a title)."""
    items = [(label, float(value or 0)) for label, value in items]
    top = max((value for _label, value in items), default=0) or 1
    gap, label_width, value_width = 6, 90, 56
    height = len(items) * (bar_height + gap) + gap
    room = width - label_width - value_width
    rows = []
    for index, (label, value) in enumerate(items):
        y = gap + index * (bar_height + gap)
        length = max(0.0, room * float(value) / top)
        rows.append(
            f'<text x="0" y="{y + bar_height - 5}" class="chart-label">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar_height}" rx="3" class="chart-bar"/>'
            f'<text x="{label_width + length + 4:.1f}" y="{y + bar_height - 5}" class="chart-value">'
            f'{escape(compact(value))}{escape(unit)}</text>')
    return Markup(f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
                  f'aria-label="{escape(title)}"><title>{escape(title)}</title>{"".join(rows)}</svg>')


def line_chart(points: list[tuple[str, float]], title: str, width: int = 320, height: int = 120) -> Markup:
    """A line over time with its first and last labels, an accessible SVG."""
    if not points:
        return Markup("")
    values = [float(value or 0) for _label, value in points]
    top = max(values) or 1
    pad = 20
    step = (width - 2 * pad) / max(1, len(values) - 1)
    coords = [(pad + index * step, height - pad - (height - 2 * pad) * value / top) for index, value in
              enumerate(values)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(title)}">'
        f'<title>{escape(title)}</title>'
        f'<polyline points="{path}" class="chart-line" fill="none"/>'
        f'<text x="{pad}" y="{height - 4}" class="chart-label">{escape(points[0][0])}</text>'
        f'<text x="{width - pad}" y="{height - 4}" text-anchor="end" class="chart-label">{escape(points[-1][0])}</text>'
        f'<text x="{pad}" y="12" class="chart-value">max {escape(compact(top))}</text></svg>')
