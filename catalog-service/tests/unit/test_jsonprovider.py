"""The catalog writes its JSON with orjson and reads its JSON columns with it: the bodies and values must be what
the standard library's were."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider

from catalog_service.jsonprovider import OrjsonProvider, read_json_column


def providers():
    app = Flask(__name__)
    standard = DefaultJSONProvider(app)
    standard.sort_keys = False
    app.json = OrjsonProvider(app)
    return app, standard


@dataclass
class Point:
    x: int


def test_same_meaning_as_the_standard_library():
    app, standard = providers()
    body = {"data": [{"id": "p1", "name": "Kübernetes ✓", "rating": 4.5, "tags": ["a"], "none": None}],
            "when": datetime(2026, 12, 1, 12, 0, tzinfo=UTC), "price": Decimal("9.90"), "point": Point(3),
            7: "a non-string key", "z": 1, "a": 2}
    with app.app_context():
        ours = app.json.dumps(body)
        assert json.loads(ours) == json.loads(standard.dumps(body))
        assert list(json.loads(ours)) == ["data", "when", "price", "point", "7", "z", "a"]  # order kept
        response = app.json.response(body)
    assert response.mimetype == "application/json" and response.get_data().endswith(b"\n")
    assert json.loads(response.get_data()) == json.loads(standard.dumps(body))
    assert json.loads(response.get_data())["when"] == "Tue, 01 Dec 2026 12:00:00 GMT"  # Flask's own format


def test_what_orjson_refuses_is_written_by_the_standard_library():
    app, standard = providers()
    body = {"count": 2**70}
    with app.app_context():
        assert app.json.dumps(body) == standard.dumps(body)
        assert json.loads(app.json.response(body).get_data()) == body
        assert app.json.dumps(body, indent=2) == standard.dumps(body, indent=2)


def test_catalog_pages_come_through_it(client):
    response = client.get("/api/marketplace/v1/plugins")
    assert response.status_code == 200 and response.get_data().endswith(b"\n")
    assert isinstance(client.application.json, OrjsonProvider)
    assert response.get_json()["pagination"]["total"] == 0


@pytest.mark.parametrize("text", [
    '["kubernetes", "ci"]', '{"type": "object", "properties": {"port": {"maximum": 65535}}}', "[]", "null",
    '{"maximum": 123456789012345678901234567890}',  # orjson would read a float
    '{"minimum": -9223372036854775809}', '[1e400]',  # beyond 64 bits; infinity, which orjson refuses
    '"\\ud800"', '{"a": 1, "a": 2}', '[0.1, -0.0, 1E-7]', '"K\\u00fcbernetes \u2713"',
])
@pytest.mark.parametrize("kind", [bytes, str])  # psycopg hands over bytes, SQLite's JSON type a str
def test_json_columns_read_as_the_standard_library_reads_them(text, kind):
    data = text.encode() if kind is bytes else text
    value = read_json_column(data)
    assert value == json.loads(text)
    assert json.dumps(value) == json.dumps(json.loads(text))  # same types: an int stays an int


def test_catalog_engine_reads_json_columns_with_it(client):
    engine = client.application.extensions["database"].engine
    assert engine.dialect._json_deserializer is read_json_column
