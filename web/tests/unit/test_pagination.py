"""The pager macro (templates/includes/pagination.html) every list page uses."""

from types import SimpleNamespace

TEMPLATE = '{% from "includes/pagination.html" import pagination %}'


def page(number: int, total: int) -> SimpleNamespace:
    return SimpleNamespace(page=number, total_pages=total, has_prev=number > 1, has_next=number < total)


def render(app, source: str, **context) -> str:
    with app.test_request_context():
        return app.jinja_env.from_string(TEMPLATE + source).render(**context)


def test_links_keep_the_given_filters_and_leave_out_empty_ones(app):
    html = render(app, "{{ pagination(p, status=status, search=search) }}", p=page(2, 3), status="failed",
                  search="")
    assert '<a rel="prev" href="?page=1&status=failed">← Previous</a>' in html
    assert '<a rel="next" href="?page=3&status=failed">Next →</a>' in html
    assert "<span>Page 2 of 3</span>" in html and 'aria-label="Pages"' in html


def test_filter_values_are_url_encoded(app):
    html = render(app, "{{ pagination(p, search=search) }}", p=page(1, 2), search="a&b c")
    assert 'href="?page=2&search=a%26b%20c"' in html and "rel=\"prev\"" not in html


def test_labels_and_a_caller_written_address(app):
    html = render(app, '{% call(n) pagination(p, label="Delivery pages", previous="← Newer", next="Older →") %}'
                  "{{ '/plugins?sort=name&page=' ~ n }}{% endcall %}", p=page(2, 2))
    assert '<a rel="prev" href="/plugins?sort=name&amp;page=1">← Newer</a>' in html
    assert 'aria-label="Delivery pages"' in html and "Older →" not in html


def test_a_single_page_has_no_pager(app):
    assert render(app, "{{ pagination(p) }}", p=page(1, 1)).strip() == ""
