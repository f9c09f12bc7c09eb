"""One error policy: a lost unique-constraint race is 409 CONFLICT in the envelope; roles are checked before
the body is read."""

import marshmallow as ma
import pytest
from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from marketplace_shared.api import API_PREFIX, Blueprint, create_service_app
from marketplace_shared.config import BaseConfig
from marketplace_shared.db import Database, request_session
from marketplace_shared.identity import Identity, issue_token, requires
from marketplace_shared.testing import lose_insert_race


class Base(DeclarativeBase):
    pass


class Thing(Base):
    __tablename__ = "things"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)


class Body(ma.Schema):
    name = ma.fields.String(required=True)


@pytest.fixture
def app(tmp_path):
    config = BaseConfig(DATABASE_URL=f"sqlite:///{tmp_path}/t.db")
    config.SERVICE_NAME = "test-service"
    database = Database(config.DATABASE_URL)
    Base.metadata.create_all(database.engine)
    blp = Blueprint("things", __name__, url_prefix=API_PREFIX)

    @blp.route("/things", methods=["POST"])
    @blp.arguments(Body)
    def create(body):
        session = request_session()
        session.add(Thing(name=body["name"]))  # no check first: the database decides, as in a race
        session.commit()
        return {"data": body}, 201

    @blp.route("/things/count")
    def count():
        return {"count": len(request_session().scalars(select(Thing)).all())}

    @blp.route("/admin-things", methods=["POST"])
    @requires("admin")
    @blp.arguments(Body)
    def admin_create(body):
        return {"data": body}, 201

    app, _api = create_service_app(config, database, "test", [blp], uses_broker=False)
    app.config["TESTING"] = False  # errors go through the handlers, as in production
    return app


def _as(app, role: str) -> dict:
    identity = Identity(id=f"acct_{role}", role=role)
    return {"X-Marketplace-Identity": issue_token(app.config["INTERNAL_TOKEN_SECRET"], identity)}


def test_a_duplicate_insert_is_409_conflict(app):
    client = app.test_client()
    assert client.post(f"{API_PREFIX}/things", json={"name": "a"}, headers=_as(app, "user")).status_code == 201
    again = client.post(f"{API_PREFIX}/things", json={"name": "a"}, headers=_as(app, "user"))
    assert again.status_code == 409
    body = again.get_json()
    assert body["error"]["code"] == "CONFLICT" and body["requestId"] == again.headers["X-Request-Id"]
    assert "UNIQUE" not in again.get_data(as_text=True)  # no database detail leaks
    assert client.get(f"{API_PREFIX}/things/count").get_json() == {"count": 1}


def test_a_lost_race_is_409_and_the_next_request_works(app, monkeypatch):
    client = app.test_client()
    lost = lose_insert_race(monkeypatch)
    raced = client.post(f"{API_PREFIX}/things", json={"name": "b"}, headers=_as(app, "user"))
    assert raced.status_code == 409 and raced.get_json()["error"]["code"] == "CONFLICT" and len(lost) == 1
    assert client.post(f"{API_PREFIX}/things", json={"name": "b"}, headers=_as(app, "user")).status_code == 201


@pytest.mark.parametrize(("role", "status", "code"), [("anonymous", 401, "UNAUTHORIZED"), ("user", 403, "FORBIDDEN"),
                                                      ("admin", 400, "VALIDATION_ERROR")])
def test_roles_are_checked_before_the_body(app, role, status, code):
    response = app.test_client().post(f"{API_PREFIX}/admin-things", json={"wrong": 1}, headers=_as(app, role))
    assert response.status_code == status and response.get_json()["error"]["code"] == code
