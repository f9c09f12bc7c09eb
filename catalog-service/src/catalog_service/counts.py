"""catalog_counts: the exact numbers of public plugins per category, compatibility range and tag (and in all),
kept by every write in its own transaction, so that listings count without scanning their matches."""

from sqlalchemy import text
from sqlalchemy.orm import Session

from .models import CatalogCount, Plugin
from .textsearch import text_search_for


def counted(plugin: Plugin) -> tuple:
    """What catalog_counts counts of a plugin: (is_public, category, backstage range, node range, tags)."""
    return (bool(plugin.is_public), plugin.category, plugin.compat_backstage, plugin.compat_node,
            frozenset(plugin.tags or ()))


def adjust_counts(session: Session, before: tuple, after: tuple) -> None:
    """Keep catalog_counts exact: `before`/`after` are what counted() gave for a plugin before and after a
    change."""
    insert = text_search_for(session).insert
    deltas: dict[tuple[str, str], int] = {}
    for (public, category, backstage, node, tags), sign in ((before, -1), (after, 1)):
        if not public:
            continue
        keys = ([("all", ""), ("category", category), ("backstage", backstage), ("node", node)]
                + [("tag", tag) for tag in tags])
        for key in keys:
            if key[1] is not None:
                deltas[key] = deltas.get(key, 0) + sign
    for (dimension, value), delta in deltas.items():
        if not delta:
            continue
        statement = insert(CatalogCount).values(dimension=dimension, value=value, count=delta)
        session.execute(statement.on_conflict_do_update(
            index_elements=[CatalogCount.dimension, CatalogCount.value],
            set_={"count": CatalogCount.count + statement.excluded.count}))


def rebuild_counts(session: Session) -> None:
    """Recompute catalog_counts (and on PostgreSQL search_terms) from the plugins, after bulk loads that bypass
    the services."""
    text_search_for(session).rebuild_vocabulary(session)
    session.execute(text("DELETE FROM catalog_counts"))
    session.execute(text("INSERT INTO catalog_counts (dimension, value, count) "
                         "SELECT 'all', '', count(*) FROM plugins WHERE is_public"))
    for dimension, name in (("category", "category"), ("backstage", "compat_backstage"), ("node", "compat_node")):
        session.execute(text(f"INSERT INTO catalog_counts (dimension, value, count) SELECT '{dimension}', {name}, "
                             f"count(*) FROM plugins WHERE is_public AND {name} IS NOT NULL GROUP BY {name}"))
    session.execute(text("INSERT INTO catalog_counts (dimension, value, count) "
                         "SELECT 'tag', tag, count(*) FROM plugin_tags WHERE public GROUP BY tag"))
