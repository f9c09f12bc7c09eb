"""Versions and ranges with npm semantics (node-semver), plus the short versions BlueMind uses."""

import re
from functools import lru_cache

import nodesemver

_VERSION = re.compile(r"^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?"
                      r"(-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$")


def normalize_version(text: str) -> str | None:
    """'0.2' -> '0.2.0'; None when it is not a (possibly short) semantic version."""
    match = _VERSION.match((text or "").strip())
    if not match:
        return None
    major, minor, patch, pre, build = match.groups()
    return f"{major}.{minor or 0}.{patch or 0}{pre or ''}{build or ''}"


def version_key(normalized: str):
    """A sort key giving semver precedence."""
    parsed = nodesemver.make_semver(normalized, loose=False)
    # Pre-releases sort before the release; identifiers compare numerically when numeric.
    pre = tuple((0, int(p), "") if isinstance(p, int) or str(p).isdigit() else (1, 0, str(p))
                for p in parsed.prerelease)
    return (parsed.major, parsed.minor, parsed.patch, 0 if pre else 1, pre)


@lru_cache(maxsize=4096)
def valid_range(text: str) -> bool:
    try:
        return nodesemver.valid_range(text, False) is not None
    except (ValueError, TypeError):
        return False


@lru_cache(maxsize=16384)
def satisfies(version: str, range_text: str) -> bool:
    try:
        return bool(nodesemver.satisfies(version, range_text, False, include_prerelease=False))
    except (ValueError, TypeError):
        return False


class _Cmp:
    def __init__(self, semver):
        self.semver = semver

    def __lt__(self, other):
        return self.semver.compare(other.semver) < 0

    def __gt__(self, other):
        return self.semver.compare(other.semver) > 0

    def __eq__(self, other):
        return self.semver.compare(other.semver) == 0


def _bounds(comparators):
    """(lower, lower_inclusive, upper, upper_inclusive) of one comparator set; None means unbounded."""
    lower, lower_inc, upper, upper_inc = None, True, None, True
    for comparator in comparators:
        op = comparator.operator
        if op is None or comparator.value == "":
            continue
        ver = _Cmp(comparator.semver)
        if op in (">", ">=") or op in ("", "="):
            inclusive = op != ">"
            if lower is None or ver > lower or (ver == lower and not inclusive):
                lower, lower_inc = ver, inclusive
        if op in ("<", "<=") or op in ("", "="):
            inclusive = op != "<"
            if upper is None or ver < upper or (ver == upper and not inclusive):
                upper, upper_inc = ver, inclusive
    return lower, lower_inc, upper, upper_inc


def _sets_overlap(a, b) -> bool:
    lower, lower_inc, upper, upper_inc = _bounds(list(a) + list(b))
    if lower is None or upper is None:
        return True
    if lower < upper:
        return True
    return lower == upper and lower_inc and upper_inc


def _candidates(a, b):
    """Versions that would satisfy both comparator sets if any does: the overlap's lowest ones."""
    lower = _bounds(list(a) + list(b))[0]
    if lower is None:
        yield "0.0.0"
    else:
        version = lower.semver
        yield version.version
        yield f"{version.major}.{version.minor}.{version.patch + 1}"
        if version.prerelease:
            yield f"{version.major}.{version.minor}.{version.patch}"
    for comparator in list(a) + list(b):
        if comparator.semver is not None:
            yield comparator.semver.version


@lru_cache(maxsize=16384)
def intersects(range_a: str, range_b: str) -> bool:
    """True when some version satisfies both npm ranges.

    The bounds overlapping is not enough: npm admits a pre-release only where a comparator of the
    same set names a pre-release of the same major.minor.patch (so `~1.36.0` and
    `>=1.37.0-next.0 <1.38.0` share no version). Each overlap's lowest versions are checked with
    npm's own rules instead.
    """
    try:
        first = nodesemver.make_range(range_a, False)
        second = nodesemver.make_range(range_b, False)
    except (ValueError, TypeError):
        return False
    return any(satisfies(candidate, range_a) and satisfies(candidate, range_b)
               for a in first.set for b in second.set if _sets_overlap(a, b)
               for candidate in _candidates(a, b))
