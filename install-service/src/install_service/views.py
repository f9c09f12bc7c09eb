"""Installations routes: thin views over the use cases in services.py."""

from marketplace_shared.api import API_PREFIX, Blueprint

blp = Blueprint("installs", __name__, url_prefix=API_PREFIX, description="Installations")
