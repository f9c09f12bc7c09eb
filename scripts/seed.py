"""Load a demo catalog into a running marketplace through its public API (`make seed`).

Publishers, plugins modelled on real Backstage plugins (with versions, packages, icons,
compatibility ranges and configuration schemas), reviews and installations: a new user sees a
living marketplace. Running it twice adds nothing twice (existing plugins are skipped).
"""

import argparse
import gzip
import io
import json
import os
import random
import struct
import sys
import tarfile
import time
import zlib

import requests

PREFIX = "/api/marketplace/v1"

# name, display name, category, tags, description
PLUGINS = [
    ("catalog-backend", "Catalog Backend", "backend", ["catalog", "core"], "Software catalog backend: entities, processors and providers"),
    ("catalog-import", "Catalog Import", "catalog", ["catalog", "import"], "Register existing components in the software catalog from a URL"),
    ("catalog-graph", "Catalog Graph", "catalog", ["catalog", "graph", "relations"], "Visualise relations between catalog entities as a graph"),
    ("techdocs", "TechDocs", "documentation", ["docs", "markdown", "mkdocs"], "Docs-like-code: render MkDocs documentation next to your services"),
    ("techdocs-backend", "TechDocs Backend", "documentation", ["docs", "backend"], "Build, publish and serve TechDocs sites"),
    ("api-docs", "API Docs", "documentation", ["openapi", "asyncapi", "graphql"], "Browse OpenAPI, AsyncAPI and GraphQL definitions in the catalog"),
    ("scaffolder", "Scaffolder", "productivity", ["templates", "golden-path"], "Create new components from software templates"),
    ("scaffolder-backend-module-github", "Scaffolder GitHub Module", "productivity", ["templates", "github"], "Scaffolder actions that publish to GitHub"),
    ("search", "Search", "productivity", ["search", "discovery"], "Search across the catalog, TechDocs and more"),
    ("search-backend-module-pg", "Search PostgreSQL Engine", "backend", ["search", "postgres"], "PostgreSQL search engine for Backstage search"),
    ("kubernetes", "Kubernetes", "infrastructure", ["kubernetes", "k8s", "deployments"], "See the Kubernetes resources of your services across clusters"),
    ("kubernetes-backend", "Kubernetes Backend", "infrastructure", ["kubernetes", "backend"], "Backend that talks to your Kubernetes clusters"),
    ("github-actions", "GitHub Actions", "ci-cd", ["github", "ci", "workflows"], "Workflow runs of GitHub Actions for your components"),
    ("gitlab", "GitLab", "ci-cd", ["gitlab", "pipelines", "merge-requests"], "Pipelines, merge requests and contributors from GitLab"),
    ("jenkins", "Jenkins", "ci-cd", ["jenkins", "builds"], "Jenkins builds and their status for your components"),
    ("circleci", "CircleCI", "ci-cd", ["circleci", "builds"], "CircleCI pipelines for your components"),
    ("azure-devops", "Azure DevOps", "ci-cd", ["azure", "pipelines", "repos"], "Azure Pipelines builds, pull requests and README"),
    ("argocd", "Argo CD", "ci-cd", ["argocd", "gitops", "kubernetes"], "Argo CD application sync and health status"),
    ("tekton", "Tekton", "ci-cd", ["tekton", "pipelines", "kubernetes"], "Tekton PipelineRuns of your components"),
    ("sonarqube", "SonarQube", "quality", ["sonarqube", "code-quality", "coverage"], "Code quality, coverage and issues from SonarQube"),
    ("code-coverage", "Code Coverage", "quality", ["coverage", "testing"], "Track code coverage reports over time"),
    ("lighthouse", "Lighthouse", "quality", ["web", "performance", "accessibility"], "Google Lighthouse audits of your websites"),
    ("tech-insights", "Tech Insights", "quality", ["scorecards", "checks"], "Scorecards and checks over facts about your components"),
    ("tech-radar", "Tech Radar", "collaboration", ["radar", "technology"], "Visualise your organisation's technology choices"),
    ("pagerduty", "PagerDuty", "monitoring", ["pagerduty", "incidents", "on-call"], "Incidents, on-call and escalation policies from PagerDuty"),
    ("opsgenie", "Opsgenie", "monitoring", ["opsgenie", "alerts", "on-call"], "Alerts and on-call schedules from Opsgenie"),
    ("datadog", "Datadog", "monitoring", ["datadog", "dashboards", "metrics"], "Embed Datadog dashboards and graphs"),
    ("grafana", "Grafana", "monitoring", ["grafana", "dashboards", "alerts"], "Grafana dashboards and alerts for your components"),
    ("prometheus", "Prometheus", "monitoring", ["prometheus", "metrics", "alerts"], "Prometheus graphs and alerts in the entity page"),
    ("newrelic", "New Relic", "observability", ["newrelic", "apm"], "Application performance data from New Relic"),
    ("dynatrace", "Dynatrace", "observability", ["dynatrace", "apm", "problems"], "Problems and synthetics from Dynatrace"),
    ("sentry", "Sentry", "observability", ["sentry", "errors"], "Errors and issues from Sentry"),
    ("splunk-on-call", "Splunk On-Call", "monitoring", ["splunk", "incidents"], "Incidents and on-call from Splunk On-Call"),
    ("jaeger", "Jaeger", "observability", ["tracing", "jaeger"], "Distributed traces from Jaeger"),
    ("cost-insights", "Cost Insights", "cost", ["cloud-cost", "finops"], "Cloud costs over time, by team and product"),
    ("kubecost", "Kubecost", "cost", ["kubernetes", "cloud-cost"], "Kubernetes cost allocation from Kubecost"),
    ("infracost", "Infracost", "cost", ["terraform", "cloud-cost"], "Cost estimates of Terraform changes"),
    ("snyk", "Snyk", "security", ["snyk", "vulnerabilities"], "Vulnerabilities in dependencies and containers from Snyk"),
    ("security-insights", "Security Insights", "security", ["github", "dependabot"], "GitHub security advisories and Dependabot alerts"),
    ("vault", "Vault", "security", ["vault", "secrets"], "Secrets of your components stored in HashiCorp Vault"),
    ("rbac", "RBAC", "security", ["permissions", "access"], "Role-based access control policies managed in the UI"),
    ("fossa", "FOSSA", "security", ["licenses", "compliance"], "License compliance from FOSSA"),
    ("jira", "Jira", "collaboration", ["jira", "issues"], "Jira issues and activity of your components"),
    ("confluence", "Confluence Search", "collaboration", ["confluence", "search", "wiki"], "Index Confluence spaces into Backstage search"),
    ("github-pull-requests", "GitHub Pull Requests", "collaboration", ["github", "pull-requests"], "Open pull requests of your components"),
    ("shortcuts", "Shortcuts", "productivity", ["navigation"], "Personal shortcuts in the sidebar"),
    ("home", "Home", "productivity", ["homepage", "widgets"], "A customisable home page with widgets"),
    ("explore", "Explore", "productivity", ["discovery", "tools"], "Explore domains, groups and tools of your organisation"),
    ("org", "Org", "catalog", ["groups", "teams"], "Groups, users and ownership at a glance"),
    ("todo", "TODO", "quality", ["todo", "code"], "TODO comments found in your source code"),
    ("airbrake", "Airbrake", "observability", ["errors", "airbrake"], "Errors reported to Airbrake"),
    ("rollbar", "Rollbar", "observability", ["errors", "rollbar"], "Errors and items from Rollbar"),
    ("firehydrant", "FireHydrant", "monitoring", ["incidents", "reliability"], "Incidents and retrospectives from FireHydrant"),
    ("gcp-projects", "GCP Projects", "infrastructure", ["gcp", "cloud"], "Create and list Google Cloud projects"),
    ("aws-lambda", "AWS Lambda", "infrastructure", ["aws", "serverless"], "AWS Lambda functions of your components"),
    ("terraform", "Terraform", "infrastructure", ["terraform", "iac"], "Terraform runs and state outputs"),
    ("nomad", "Nomad", "infrastructure", ["nomad", "scheduling"], "HashiCorp Nomad jobs and allocations"),
    ("linguist", "Linguist", "quality", ["languages", "code"], "Languages used in the source of your components"),
    ("adr", "Architecture Decision Records", "documentation", ["adr", "architecture"], "Read the ADRs kept in your repositories"),
    ("playlist", "Playlist", "catalog", ["lists", "curation"], "Curated lists of catalog entities"),
    ("entity-feedback", "Entity Feedback", "collaboration", ["feedback", "ratings"], "Collect feedback on catalog entities"),
    ("announcements", "Announcements", "collaboration", ["news", "communication"], "Share announcements with your developers"),
    ("devtools", "DevTools", "productivity", ["debugging", "admin"], "Information about your Backstage instance"),
    ("notifications", "Notifications", "productivity", ["notifications", "alerts"], "Notifications for users and groups"),
]
PUBLISHERS = [("Spotify", "backstage@spotify.example"), ("Red Hat", "janus@redhat.example"),
              ("Roadie", "hello@roadie.example"), ("Community", "community@backstage.example")]
BACKSTAGE_RANGES = ["^1.30.0", "^1.35.0", ">=1.28.0 <2.0.0", "^1.32.0 || ^1.35.0", "1.30.0 - 1.40.0"]
REVIEW_TEXTS = [
    (5, "Excellent plugin!", "Works perfectly with our setup."),
    (4, "Very useful", "Does what it says; configuration took a few minutes."),
    (5, "A must-have", "Our teams use it every day."),
    (3, "Good, could be better", "Some rough edges in the settings page."),
    (4, "Solid", "Stable across upgrades so far."),
    (2, "Needs work", "Missing the features we needed."),
]


def png_icon(seed: int, size: int = 16) -> bytes:
    """A small solid-colour PNG, made without any imaging library."""
    rng = random.Random(seed)
    colour = bytes(rng.randrange(40, 220) for _ in range(3))
    raw = b"".join(b"\x00" + colour * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def npm_package(name: str, version: str, padding: int = 0) -> bytes:
    """A .tgz laid out like an npm package (package/package.json, package/dist/index.js), the same bytes
    for the same arguments."""
    files = {
        "package/package.json": json.dumps({"name": f"@backstage-community/plugin-{name}", "version": version,
                                            "main": "dist/index.js"}, indent=2).encode(),
        "package/dist/index.js": f"export const plugin = {{ id: '{name}' }};\n".encode() + b"/*" + b"x" * padding + b"*/",
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, content in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mtime = 1_700_000_000
            archive.addfile(info, io.BytesIO(content))
    # Gzipped with a fixed header time: the same name and version always make the same bytes (and sha256).
    return gzip.compress(buffer.getvalue(), mtime=0)


def config_schema(name: str) -> dict:
    return {
        "type": "object",
        "properties": {
            "apiUrl": {"type": "string", "format": "uri", "description": f"Base URL of the {name} API"},
            "refreshIntervalSeconds": {"type": "integer", "minimum": 10, "default": 60},
        },
        "additionalProperties": False,
    }


class Seeder:
    def __init__(self, base_url: str, admin_key: str):
        self.base_url = base_url.rstrip("/")
        self.admin = self._session(admin_key)

    def _session(self, key: str) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        session.headers["Authorization"] = f"Bearer {key}"
        return session

    def call(self, session, method, path, expected=(200, 201, 202), **kwargs):
        response = session.request(method, self.base_url + PREFIX + path, timeout=30, **kwargs)
        if response.status_code not in expected:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response

    def account(self, name: str, email: str, role: str) -> requests.Session:
        body = {"name": name, "email": email, "role": role}
        account = self.call(self.admin, "POST", "/admin/accounts", json=body).json()["data"]
        key = self.call(self.admin, "POST", f"/admin/accounts/{account['id']}/api-keys",
                        json={"name": "seed"}).json()["data"]["key"]
        return self._session(key)

    def plugin(self, publisher, index: int, entry) -> str | None:
        name, display, category, tags, description = entry
        response = self.call(publisher, "POST", "/plugins", expected=(201, 409), json={
            "name": name, "displayName": display, "description": description, "category": category,
            "tags": tags, "license": "Apache-2.0",
            "longDescription": f"# {display}\n\n{description}.\n\nModelled on the Backstage community plugin.",
            "repository": f"https://github.com/backstage/community-plugins/tree/main/workspaces/{name}",
            "documentation": f"https://backstage.io/docs/plugins/{name}",
            "features": [description],
            "pricing": {"model": "free"},
        })
        if response.status_code == 409:
            return None
        plugin_id = response.json()["data"]["id"]
        self.call(publisher, "POST", f"/plugins/{plugin_id}/images",
                  files={"icon": ("icon.png", png_icon(index), "image/png")})
        rng = random.Random(index)
        for minor in range(rng.randint(1, 3)):
            version = f"1.{minor}.{rng.randint(0, 9)}"
            metadata = {
                "version": version, "changelog": f"Release {version}",
                "compatibility": {"backstage": rng.choice(BACKSTAGE_RANGES), "node": ">=18.0.0",
                                  "platform": ["linux", "darwin", "win32"]},
                "dependencies": [{"name": "@backstage/core-plugin-api", "version": "^1.9.0"}],
                "configuration": {"schema": config_schema(display), "defaults": {"refreshIntervalSeconds": 60},
                                  "examples": [{"apiUrl": "https://api.example.com"}]},
                "permissions": [f"{name}.read"],
            }
            self.call(publisher, "POST", f"/plugins/{plugin_id}/versions",
                      data={"metadata": json.dumps(metadata)},
                      files={"package": (f"{name}-{version}.tgz", npm_package(name, version), "application/gzip")})
        if index % 7 == 0:
            self.call(self.admin, "PATCH", f"/plugins/{plugin_id}", json={"verified": True, "featured": index % 14 == 0})
        return plugin_id

    def run(self, count: int) -> None:
        publishers = [self.account(name, f"seed-{random.randrange(10**6)}-{email}", "publisher")
                      for name, email in PUBLISHERS]
        reviewers = [self.account(f"Reviewer {n}", f"seed-{random.randrange(10**6)}-r{n}@example.com", "user")
                     for n in range(4)]
        created = []
        for index, entry in enumerate(PLUGINS[:count]):
            plugin_id = self.plugin(publishers[index % len(publishers)], index, entry)
            if plugin_id:
                created.append((index, plugin_id))
                print(f"  {entry[0]}", flush=True)
        for index, plugin_id in created:
            for n, reviewer in enumerate(reviewers[: index % 4 + 1]):
                rating, title, text = REVIEW_TEXTS[(index + n) % len(REVIEW_TEXTS)]
                # The review service learns of new plugins through events: wait a moment if needed.
                for _ in range(50):
                    response = reviewer.post(f"{self.base_url}{PREFIX}/plugins/{plugin_id}/reviews", timeout=30,
                                             json={"rating": rating, "title": title, "review": text})
                    if response.status_code != 404:
                        break
                    time.sleep(0.1)
        for index, plugin_id in created[:: 5]:
            reviewer = reviewers[index % len(reviewers)]
            reviewer.post(f"{self.base_url}{PREFIX}/plugins/{plugin_id}/install", timeout=30,
                          json={"environment": "demo", "namespace": "backstage-plugins"})
        print(f"Seeded {len(created)} plugins ({len(PLUGINS[:count]) - len(created)} were already there).")


def saved_admin_key() -> str | None:
    """The key `make run` saved in var/admin-api-key, if it is running from this checkout."""
    path = os.path.join(os.environ.get("VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "var")),
                        "admin-api-key")
    return open(path).read().strip() if os.path.exists(path) else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("MARKETPLACE_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--api-key", default=os.environ.get("MARKETPLACE_ADMIN_API_KEY") or saved_admin_key())
    parser.add_argument("--count", type=int, default=len(PLUGINS))
    args = parser.parse_args(argv)
    if not args.api_key:
        parser.error("an admin key is needed: --api-key or MARKETPLACE_ADMIN_API_KEY (make run prints it)")
    Seeder(args.url, args.api_key).run(args.count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
