"""A stand-in Kubernetes API server for `helm install --dry-run=client` (Helm 3), which
asks the cluster for its version, API discovery and existing objects even in dry runs.

It answers only what that needs: /version, discovery for the kinds the demo chart and
cnpg-render produce, empty Secret lists (Helm's release storage) and 404 for every
object lookup (nothing exists yet). It does not store or validate anything."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GROUPS = {
    "apps/v1": [("deployments", "Deployment")],
    "batch/v1": [("jobs", "Job")],
    "postgresql.cnpg.io/v1": [("clusters", "Cluster"), ("scheduledbackups", "ScheduledBackup"), ("backups", "Backup")],
    "barmancloud.cnpg.io/v1": [("objectstores", "ObjectStore")],
}
CORE = [("secrets", "Secret"), ("configmaps", "ConfigMap"), ("services", "Service")]


def _resources(group_version: str, kinds) -> dict:
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": [{"name": plural, "singularName": kind.lower(), "namespaced": True, "kind": kind,
                           "verbs": ["get", "list", "create", "update", "delete"]} for plural, kind in kinds]}


def _groups() -> dict:
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": gv.split("/")[0], "versions": [{"groupVersion": gv, "version": "v1"}],
         "preferredVersion": {"groupVersion": gv, "version": "v1"}} for gv in GROUPS]}


def answer(path: str) -> dict | None:
    """The JSON body for a GET of `path`, or None for 404."""
    fixed = {"/version": {"major": "1", "minor": "30", "gitVersion": "v1.30.0", "platform": "linux/amd64"},
             "/api": {"kind": "APIVersions", "versions": ["v1"]}, "/api/v1": _resources("v1", CORE),
             "/apis": _groups()}
    if path in fixed:
        return fixed[path]
    if path.startswith("/apis/") and path[len("/apis/"):] in GROUPS:
        return _resources(path[len("/apis/"):], GROUPS[path[len("/apis/"):]])
    if path.endswith("/secrets"):
        return {"kind": "SecretList", "apiVersion": "v1", "metadata": {}, "items": []}
    return None


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = answer(self.path.split("?")[0])
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class FakeApiServer:
    """Serve on 127.0.0.1 (a free port) while the context is open; `kubeconfig(dir)`
    writes a kubeconfig pointing at it."""

    def __enter__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def kubeconfig(self, directory) -> str:
        host, port = self.server.server_address[:2]
        path = directory / "kubeconfig"
        path.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters: [{{name: fake, cluster: {{server: 'http://{host}:{port}'}}}}]\n"
            "users: [{name: fake, user: {}}]\n"
            "contexts: [{name: fake, context: {cluster: fake, user: fake, namespace: apps}}]\n"
            "current-context: fake\n")
        return str(path)
