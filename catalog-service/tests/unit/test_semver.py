"""Range intersection with npm's rules, pre-releases included."""

import pytest

from catalog_service.semver import intersects, normalize_version


@pytest.mark.parametrize(("first", "second", "expected"), [
    ("^1.35.0", ">=1.36.0", True),
    ("1.30.0 - 1.40.0", "^1.35.0", True),
    ("~1.36.0 || ^2.0.0", "^2.3.0", True),
    ("*", "^3.0.0", True),
    ("<1.0.0", ">=1.0.0", False),
    ("^1.0.0-beta.1", "1.0.0-beta.2", True),
    # Only 1.37.0 pre-releases lie between the bounds, and ~1.36.0 admits none of them (npm agrees).
    ("~1.36.0", ">=1.37.0-next.0 <1.38.0", False),
    ("~1.36.0 || ^2.0.0", ">=1.37.0-next.0 <1.38.0", False),
    ("not a range", "^1.0.0", False),
])
def test_intersects_like_npm(first, second, expected):
    assert intersects(first, second) is expected
    assert intersects(second, first) is expected


def test_short_versions_are_normalised():
    assert normalize_version("0.2") == "0.2.0"
    assert normalize_version("v1") == "1.0.0"
    assert normalize_version("1.2.3.4") is None
