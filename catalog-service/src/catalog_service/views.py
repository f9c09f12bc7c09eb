"""Catalog routes: thin views over the use cases in services.py."""

from marketplace_shared.api import API_PREFIX, Blueprint, response_metadata
from marketplace_shared.pagination import PageArgsSchema, links_block, pagination_block

blp = Blueprint("plugins", __name__, url_prefix=API_PREFIX, description="Discover plugins")


@blp.route("/plugins")
@blp.arguments(PageArgsSchema, location="query")
def list_plugins(args):
    """List plugins"""
    page, limit, total = args["page"], args["limit"], 0
    return {
        "data": [],
        "pagination": pagination_block(page, limit, total),
        "links": links_block(page, limit, total),
        "metadata": response_metadata(),
    }
