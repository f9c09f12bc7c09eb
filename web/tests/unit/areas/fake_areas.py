"""More of the fake public API for the reviews, publishing, webhooks and admin pages.

`extend(fake)` adds routes (and state) to the FakeGateway of tests/fake_gateway.py before its first request;
it replaces the fixed reviews list with one that follows the reviews written here.
"""

import itertools

from flask import abort, make_response, request

from ...fake_gateway import KEYS, PREFIX, XSS, error, plugin, summary


def _who():
    header = request.headers.get("Authorization", "")
    return KEYS.get(header.removeprefix("Bearer ").strip()) if header else None


def text(response) -> str:
    return response.get_data(as_text=True)


def extend(fake) -> None:
    app = fake.app
    ids = itertools.count(2)
    fake.reviews = {"review_1": {"id": "review_1", "pluginId": "plugin_metrics-board", "rating": 4, "title": XSS,
                                 "review": f"Nice {XSS}", "user": {"id": "acct_other", "name": XSS},
                                 "createdAt": "2026-11-02T00:00:00Z", "helpful": 3, "verifiedInstall": True,
                                 "hidden": False, "reports": 0}}
    fake.webhooks, fake.deliveries, fake.accounts, fake.keys = {}, {}, {}, {}
    fake.accounts.update({who["id"]: dict(who, tier="authenticated", active=True, createdAt="2026-01-01T00:00:00Z")
                          for who in KEYS.values()})
    fake.plugins["draft-one"] = plugin("draft-one", status="draft", versions=[], version=None)
    for item in fake.plugins.values():
        item.setdefault("ownerId", "acct_pub")

    def plugin_of(ref):
        return fake.plugins.get(ref) or next((p for p in fake.plugins.values() if p["id"] == ref), None)

    def review_view(review):
        view = {key: value for key, value in review.items() if key != "reports"}
        if (_who() or {}).get("role") == "admin":
            view["moderation"] = {"reports": review["reports"], "hiddenReason": review.get("hiddenReason")}
        return view

    def needs(role=None):
        """The gateway's and services' role check: answers 401/403 at once (abort) when the caller falls short."""
        who = _who()
        if who is None:
            abort(make_response(*error(401, "UNAUTHORIZED", "Authentication required")))
        order = ["user", "publisher", "admin"]
        if role and order.index(who["role"]) < order.index(role):
            abort(make_response(*error(403, "FORBIDDEN", f"Needs the {role} role")))

    # -- reviews ---------------------------------------------------------------------------------
    def list_reviews(plugin_id):
        found = plugin_of(plugin_id)
        admin = (_who() or {}).get("role") == "admin"
        if request.args.get("mine") == "true":
            if _who() is None:
                return error(401, "UNAUTHORIZED", "Sign in to find your own review")
            items = [r for r in fake.reviews.values() if found and r["pluginId"] == found["id"]
                     and r["user"]["id"] == _who()["id"]]
        else:
            items = [r for r in fake.reviews.values() if found and r["pluginId"] == found["id"]
                     and (admin or not r["hidden"])]
        return {"data": [review_view(r) for r in items],
                "pagination": {"page": 1, "limit": 10, "total": len(items), "totalPages": 1}}

    app.view_functions["reviews"] = list_reviews

    @app.get(f"{PREFIX}/reviews")
    def moderation_queue():
        """GET /reviews (admin): status, pluginId (id or name), sort reports|recent, order, page, limit."""
        needs("admin")
        args = request.args
        status, ref = args.get("status"), args.get("pluginId")
        keep = {"reported": lambda r: not r["hidden"] and r["reports"] > 0, "hidden": lambda r: r["hidden"],
                "visible": lambda r: not r["hidden"], None: lambda r: True}[status]
        found = plugin_of(ref) if ref else None
        items = [r for r in fake.reviews.values()
                 if keep(r) and (ref is None or (found and r["pluginId"] == found["id"]))]
        key = {"reports": lambda r: r["reports"], "recent": lambda r: r["createdAt"]}[args.get("sort", "reports")]
        items.sort(key=key, reverse=args.get("order", "desc") == "desc")
        page, limit = int(args.get("page", 1)), int(args.get("limit", 20))
        shown = items[(page - 1) * limit: page * limit]
        pages = (len(items) + limit - 1) // limit

        def with_plugin(review):
            reviewed = plugin_of(review["pluginId"]) or {}
            return review_view(review) | {"plugin": {"id": review["pluginId"], "name": reviewed.get("name"),
                                                     "displayName": reviewed.get("displayName")}}

        return {"data": [with_plugin(r) for r in shown],
                "pagination": {"page": page, "limit": limit, "total": len(items), "totalPages": pages,
                               "hasNextPage": page < pages, "hasPrevPage": page > 1}}

    @app.post(f"{PREFIX}/plugins/<plugin_id>/reviews")
    def create_review(plugin_id):
        needs()
        body = request.get_json()
        found = plugin_of(plugin_id)
        if any(r["user"]["id"] == _who()["id"] and r["pluginId"] == found["id"] for r in fake.reviews.values()):
            return error(409, "CONFLICT", "You have already reviewed this plugin")
        if body.get("title") == "refused by the api":
            return error(400, "VALIDATION_ERROR", "Invalid request body", {"fields": {"title": ["Not allowed."]}})
        ident = f"review_{next(ids)}"
        fake.reviews[ident] = {"id": ident, "pluginId": found["id"], "rating": body["rating"],
                               "title": body.get("title", ""), "review": body.get("review", ""),
                               "user": {"id": _who()["id"], "name": _who()["name"]},
                               "createdAt": "2026-12-01T00:00:00Z", "helpful": 0, "verifiedInstall": False,
                               "hidden": False, "reports": 0}
        return {"data": review_view(fake.reviews[ident])}, 201

    def one_review(review_id):
        return fake.reviews.get(review_id)

    @app.get(f"{PREFIX}/reviews/<review_id>")
    def get_review(review_id):
        review = one_review(review_id)
        return {"data": review_view(review)} if review else error(404, "REVIEW_NOT_FOUND", "Review not found")

    @app.patch(f"{PREFIX}/reviews/<review_id>")
    def update_review(review_id):
        needs()
        review = one_review(review_id)
        if review["user"]["id"] != _who()["id"]:
            return error(403, "FORBIDDEN", "Only the author may edit a review")
        review.update(request.get_json())
        return {"data": review_view(review)}

    @app.delete(f"{PREFIX}/reviews/<review_id>")
    def delete_review(review_id):
        needs()
        review = one_review(review_id)
        if review["user"]["id"] != _who()["id"] and _who()["role"] != "admin":
            return error(403, "FORBIDDEN", "Only the author may delete a review")
        del fake.reviews[review_id]
        return "", 204

    @app.post(f"{PREFIX}/reviews/<review_id>/helpful")
    def vote(review_id):
        needs()
        review = one_review(review_id)
        if review["user"]["id"] == _who()["id"]:
            return error(403, "FORBIDDEN", "You cannot vote for your own review")
        review["helpful"] += 1
        return {"data": review_view(review)}

    @app.post(f"{PREFIX}/reviews/<review_id>/report")
    def report(review_id):
        needs()
        one_review(review_id)["reports"] += 1
        fake.last_report = request.get_json()
        return {"data": {"reviewId": review_id, "reports": one_review(review_id)["reports"]}}, 201

    @app.post(f"{PREFIX}/reviews/<review_id>/hide")
    def hide(review_id):
        needs("admin")
        review = one_review(review_id)
        review.update(hidden=True, hiddenReason=(request.get_json(silent=True) or {}).get("reason"))
        return {"data": review_view(review)}

    @app.post(f"{PREFIX}/reviews/<review_id>/restore")
    def restore(review_id):
        needs("admin")
        one_review(review_id).update(hidden=False, hiddenReason=None)
        return {"data": review_view(one_review(review_id))}

    # -- publishing ------------------------------------------------------------------------------
    @app.get("/addons/api/plugins/")
    def my_plugins():
        needs("publisher")
        mine = [p for p in fake.plugins.values() if p["ownerId"] == _who()["id"] or _who()["role"] == "admin"]
        return [{"id": index, "plugin_id": p["id"], "name": p["displayName"], "slug": p["name"],
                 "status": "published" if p["status"] == "published" else "unpublished",
                 "current_version": p["version"], "versions": p["versions"], "downloads": p["downloads"]["total"],
                 "verified": p["verified"], "updated": p["updatedAt"]} for index, p in enumerate(mine, 1)]

    def owned(ref):
        """The caller's own plugin (an admin's: any), else the API's 401/403/404 at once (abort)."""
        needs("publisher")
        found = plugin_of(ref)
        if found is None:
            abort(make_response(*error(404, "PLUGIN_NOT_FOUND", f"Plugin '{ref}' not found")))
        if found["ownerId"] != _who()["id"] and _who()["role"] != "admin":
            abort(make_response(*error(403, "FORBIDDEN", "This plugin is not yours")))
        return found

    @app.post(f"{PREFIX}/plugins")
    def create_plugin():
        needs("publisher")
        body = request.get_json()
        fake.created_plugin = body
        if body["name"] in fake.plugins:
            return error(409, "CONFLICT", f"A plugin named '{body['name']}' exists")
        if body.get("category") == "Bad Category":
            return error(400, "VALIDATION_ERROR", "Invalid request body",
                         {"fields": {"category": ["Lower-case letters, digits and hyphens."]}})
        created = plugin(body["name"], versions=[], version=None, status="unpublished", ownerId=_who()["id"],
                         **{k: v for k, v in body.items() if k != "name"})
        fake.plugins[body["name"]] = created
        return {"data": created}, 201

    @app.patch(f"{PREFIX}/plugins/<ref>")
    def update_plugin(ref):
        found = owned(ref)
        body = request.get_json()
        if ({"verified", "featured"} & set(body)) and _who()["role"] != "admin":
            return error(403, "FORBIDDEN", "Only administrators set verified and featured")
        found.update(body)
        return {"data": found}

    @app.post(f"{PREFIX}/plugins/<ref>/versions")
    def publish_version(ref):
        found = owned(ref)
        import json as _json
        metadata = _json.loads(request.form["metadata"])
        package = request.files.get("package")
        fake.uploaded_version = {"metadata": metadata, "filename": package.filename, "content": package.read()}
        if metadata["version"] == "not-semver":
            return error(400, "VALIDATION_ERROR", "Invalid request parameters: version",
                         {"fields": {"version": ["Not a semantic version."],
                                     "compatibility": {"backstage": ["Not a semantic version or range."]}}})
        if any(v["version"] == metadata["version"] for v in found["versions"]):
            return error(409, "CONFLICT", f"Version {metadata['version']} exists")
        version = {"version": metadata["version"], "releaseDate": "2026-12-01T00:00:00Z",
                   "changelog": metadata.get("changelog"), "compatibility": metadata.get("compatibility") or {},
                   "dependencies": [], "permissions": [], "yanked": False, "yankReason": None, "downloads": 0}
        found["versions"].insert(0, version)
        found.update(version=metadata["version"], status="published")
        return {"data": version}, 201

    @app.post(f"{PREFIX}/plugins/<ref>/images")
    def images(ref):
        found = owned(ref)
        fake.uploaded_images = {name: [f.filename for f in request.files.getlist(name)] for name in request.files}
        if "icon" in request.files and not request.files["icon"].filename.endswith(".png"):
            return error(415, "UNSUPPORTED_MEDIA_TYPE", "Images must be PNG, JPEG, GIF or WebP",
                         {"fields": {"icon": ["Not an image."]}})
        if "icon" in request.files:
            found["icon"] = f"{PREFIX}/plugins/{found['id']}/images/icon.png"
        found["screenshots"] = found["screenshots"] + [f"{PREFIX}/plugins/{found['id']}/images/{f.filename}"
                                                       for f in request.files.getlist("screenshots")]
        return {"data": {"icon": found["icon"], "screenshots": found["screenshots"]}}, 201

    @app.delete(f"{PREFIX}/plugins/<ref>/images/<name>")
    def delete_image(ref, name):
        found = owned(ref)
        if found["icon"] and found["icon"].endswith("/" + name):
            found["icon"] = None
        found["screenshots"] = [s for s in found["screenshots"] if not s.endswith("/" + name)]
        return "", 204

    @app.post(f"{PREFIX}/plugins/<ref>/<action>")
    def plugin_action(ref, action):
        found = owned(ref)
        body = request.get_json(silent=True) or {}
        if action == "publish":
            found["status"] = "published"
        elif action == "unpublish":
            found["status"] = "unpublished"
        elif action == "deprecate":
            if body.get("replacement") and body["replacement"] not in fake.plugins:
                return error(404, "PLUGIN_NOT_FOUND", f"Plugin '{body['replacement']}' not found")
            found["deprecation"] = {"reason": body["reason"], "replacement": body.get("replacement")}
        else:
            return error(404, "NOT_FOUND", "No such action")
        return {"data": found}

    @app.post(f"{PREFIX}/plugins/<ref>/versions/<version>/yank")
    def yank(ref, version):
        found = owned(ref)
        item = next(v for v in found["versions"] if v["version"] == version)
        item.update(yanked=True, yankReason=request.get_json()["reason"])
        return {"data": item}

    # -- webhooks --------------------------------------------------------------------------------
    def hook_of(ident):
        hook = fake.webhooks.get(ident)
        if hook is None or (hook["ownerId"] != (_who() or {}).get("id") and (_who() or {}).get("role") != "admin"):
            return None
        return hook

    @app.route(f"{PREFIX}/webhooks", methods=["GET", "POST"])
    def webhooks():
        needs()
        if request.method == "GET":
            items = [h for h in fake.webhooks.values() if h["ownerId"] == _who()["id"] or _who()["role"] == "admin"]
            return {"data": items, "pagination": {"page": 1, "limit": 20, "total": len(items),
                                                  "totalPages": 1 if items else 0}}
        body = request.get_json()
        if "example.invalid" in body["url"]:
            return error(400, "VALIDATION_ERROR", "Invalid request body",
                         {"fields": {"url": ["The host resolves to an address that is not allowed."]}})
        ident = f"wh_{next(ids)}"
        fake.webhooks[ident] = {"id": ident, "url": body["url"], "events": body["events"],
                                "description": body.get("description"), "active": True, "disabled": False,
                                "disabledReason": None, "ownerId": _who()["id"], "createdAt": "2026-12-01T00:00:00Z"}
        return {"data": dict(fake.webhooks[ident], secret="whsec_" + "s3cr3t" * 6)}, 201

    @app.route(f"{PREFIX}/webhooks/<ident>", methods=["GET", "PATCH", "DELETE"])
    def webhook(ident):
        needs()
        hook = hook_of(ident)
        if hook is None:
            return error(404, "WEBHOOK_NOT_FOUND", f"Webhook '{ident}' not found")
        if request.method == "PATCH":
            hook.update(request.get_json())
        if request.method == "DELETE":
            del fake.webhooks[ident]
            return "", 204
        return {"data": hook}

    def delivery(hook, event, status="succeeded"):
        ident = f"dlv_{next(ids)}"
        fake.deliveries[ident] = {
            "id": ident, "webhookId": hook["id"], "event": event, "status": status, "attemptCount": 2,
            "createdAt": "2026-12-01T00:00:00Z", "nextAttemptAt": None, "payload": {"event": event, "data": {"x": XSS}},
            "attempts": [{"number": 1, "attemptedAt": "2026-12-01T00:00:00Z", "success": False, "statusCode": 500,
                          "durationMs": 12, "responseBody": XSS, "error": None},
                         {"number": 2, "attemptedAt": "2026-12-01T00:00:01Z", "success": status == "succeeded",
                          "statusCode": 200, "durationMs": 8, "responseBody": "ok", "error": None}]}
        return fake.deliveries[ident]

    @app.post(f"{PREFIX}/webhooks/<ident>/ping")
    def ping(ident):
        hook = hook_of(ident)
        if hook is None:
            return error(404, "WEBHOOK_NOT_FOUND", f"Webhook '{ident}' not found")
        return {"data": delivery(hook, "webhook.ping")}, 202

    @app.get(f"{PREFIX}/webhooks/<ident>/deliveries")
    def deliveries(ident):
        hook = hook_of(ident)
        if hook is None:
            return error(404, "WEBHOOK_NOT_FOUND", f"Webhook '{ident}' not found")
        items = [d for d in fake.deliveries.values() if d["webhookId"] == ident
                 and (not request.args.get("status") or d["status"] == request.args["status"])]
        return {"data": items[::-1], "pagination": {"page": 1, "limit": 20, "total": len(items),
                                                    "totalPages": 1 if items else 0}}

    @app.post(f"{PREFIX}/webhooks/<ident>/deliveries/<delivery_id>/redeliver")
    def redeliver(ident, delivery_id):
        hook = hook_of(ident)
        if hook is None or delivery_id not in fake.deliveries:
            return error(404, "DELIVERY_NOT_FOUND", "Delivery not found")
        found = fake.deliveries[delivery_id]
        found["attempts"].append({"number": 3, "attemptedAt": "2026-12-01T00:01:00Z", "success": True,
                                  "statusCode": 204, "durationMs": 5, "responseBody": "", "error": None})
        found["attemptCount"] = 3
        return {"data": found}, 202

    # -- accounts --------------------------------------------------------------------------------
    @app.route(f"{PREFIX}/admin/accounts", methods=["GET", "POST"])
    def accounts():
        needs("admin")
        if request.method == "POST":
            body = request.get_json()
            if any(a["email"] == body["email"] for a in fake.accounts.values()):
                return error(409, "CONFLICT", "An account with this email exists")
            ident = f"acct_{next(ids)}"
            fake.accounts[ident] = dict(body, id=ident, createdAt="2026-12-01T00:00:00Z")
            return {"data": fake.accounts[ident]}, 201
        items = [a for a in fake.accounts.values() if not request.args.get("role") or a["role"] == request.args["role"]]
        return {"data": items, "pagination": {"page": 1, "limit": 25, "total": len(items), "totalPages": 1}}

    @app.route(f"{PREFIX}/admin/accounts/<ident>", methods=["GET", "PATCH"])
    def account(ident):
        needs("admin")
        if ident not in fake.accounts:
            return error(404, "ACCOUNT_NOT_FOUND", "Account not found")
        if request.method == "PATCH":
            fake.accounts[ident].update(request.get_json())
        return {"data": fake.accounts[ident]}

    @app.route(f"{PREFIX}/admin/accounts/<ident>/api-keys", methods=["GET", "POST"])
    def account_keys(ident):
        needs("admin")
        if request.method == "POST":
            key_id = f"key_{next(ids)}"
            fake.keys[key_id] = {"id": key_id, "accountId": ident, "name": request.get_json().get("name"),
                                 "prefix": "mkp_abcd", "status": "active", "createdAt": "2026-12-01T00:00:00Z",
                                 "lastUsedAt": None}
            return {"data": dict(fake.keys[key_id], key="mkp_" + "n3wk3y" * 6)}, 201
        return {"data": [k for k in fake.keys.values() if k["accountId"] == ident]}

    @app.delete(f"{PREFIX}/api-keys/<key_id>")
    def revoke(key_id):
        needs()
        fake.keys[key_id]["status"] = "revoked"
        return "", 204

    fake.summary = summary
    fake.needs = needs
    fake.who = _who
    fake.plugin_of = plugin_of
    fake.next_id = lambda: next(ids)
