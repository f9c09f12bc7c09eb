"""Reviews routes: thin views over the use cases in services.py."""

from marketplace_shared.api import API_PREFIX, Blueprint

blp = Blueprint("reviews", __name__, url_prefix=API_PREFIX, description="Reviews")
