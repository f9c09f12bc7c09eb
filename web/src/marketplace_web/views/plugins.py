"""Discovery: the home page, the plugin list with facets, a plugin's page."""

from flask import Blueprint, abort, render_template, request

from ..api import MarketplaceError, client
from .common import installed_plugin_ids, query_with

bp = Blueprint("plugins", __name__)
SORTS = {"popularity": "Most popular", "rating": "Highest rated", "updated": "Recently updated", "name": "Name"}
FILTER_KEYS = ("search", "category", "tags", "sort", "order", "verified", "featured", "minRating", "compatibility")
FILTER_LABELS = {"search": "Search", "category": "Category", "tags": "Tag", "verified": "Verified",
                 "featured": "Featured", "minRating": "Rating at least", "compatibility": "Backstage"}
REVIEW_SORTS = {"helpful": "Most helpful", "recent": "Most recent", "rating": "Highest rating"}


@bp.get("/")
def home():
    """Featured, most installed, recently updated, categories."""
    api = client()
    featured = api.plugins.list(featured=True, sort="popularity", limit=6)
    popular = api.plugins.list(sort="popularity", limit=6)
    recent = api.plugins.list(sort="updated", limit=6)
    categories = api.plugins.categories()
    return render_template("plugins/home.html", featured=featured, popular=popular, recent=recent,
                           categories=categories, installed=installed_plugin_ids())


def _filters() -> dict:
    args = {key: request.args.get(key, "").strip() for key in FILTER_KEYS}
    return {key: value for key, value in args.items() if value}


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 100000))
    except ValueError:
        return 1


@bp.get("/plugins")
def plugin_list():
    """Results as cards, facets with counts, chips, sort, pagination; a fragment for live search."""
    filters = _filters()
    page_number = _page_number()
    from flask import current_app

    limit = current_app.extensions["web_config"].PAGE_SIZE
    params = dict(filters)
    try:
        page = client().plugins.list(page=page_number, limit=limit, facets="true", **params)
    except MarketplaceError as error:
        if error.status == 400:
            return render_template("plugins/list.html", page=None, filters=filters, error=error, facets={},
                                   chips=_chips(filters), sorts=SORTS, query_with=query_with, installed=set(),
                                   partial=_partial()), 400
        raise
    facets = page.raw.get("facets") or {}
    template = "plugins/_results.html" if _partial() else "plugins/list.html"
    response = render_template(template, page=page, filters=filters, facets=facets, chips=_chips(filters),
                               sorts=SORTS, query_with=query_with, installed=installed_plugin_ids(),
                               partial=_partial(), error=None)
    return response, 200, {"Vary": "X-Portal-Fragment"}


def _partial() -> bool:
    return request.headers.get("X-Portal-Fragment") == "results"


def _chips(filters: dict) -> list[dict]:
    """One removable chip per active filter (each tag of `tags` on its own)."""
    chips = []
    for key, value in filters.items():
        if key in ("sort", "order"):
            continue
        if key == "tags":
            tags = [tag for tag in value.split(",") if tag]
            for tag in tags:
                rest = ",".join(other for other in tags if other != tag)
                chips.append({"label": f"Tag: {tag}", "href": query_with(filters, tags=rest or None, page=None)})
            continue
        chips.append({"label": f"{FILTER_LABELS.get(key, key)}: {value}",
                      "href": query_with(filters, **{key: None, "page": None})})
    return chips


@bp.get("/plugins/<path:name>")
def plugin_detail(name: str):
    """Everything the detail endpoint returns, its stats as charts, its reviews."""
    if name.endswith("/install"):
        abort(404)
    api = client()
    plugin = api.plugins.get(name)
    review_sort = request.args.get("reviews", "helpful")
    if review_sort not in REVIEW_SORTS:
        review_sort = "helpful"
    try:
        stats = api.plugins.stats(plugin["id"])
    except MarketplaceError:
        stats = None
    try:
        reviews = api.reviews.list(plugin["id"], sort=review_sort, limit=10)
    except MarketplaceError:
        reviews = None
    return render_template("plugins/detail.html", plugin=plugin, stats=stats, reviews=reviews,
                           review_sort=review_sort, review_sorts=REVIEW_SORTS,
                           installed=plugin["id"] in installed_plugin_ids())
