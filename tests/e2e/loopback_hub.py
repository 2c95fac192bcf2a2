"""A model hub on 127.0.0.1 that speaks the part of the Hugging Face Hub's HTTP API we use.

Why: hf_model and `//models/pin` must be tested end to end, and no hub is reachable
from a test. This server holds repositories in memory and answers:

- `GET|HEAD /{owner}/{name}/resolve/{revision}/{path}`: the file's bytes, with the
  hub's `X-Repo-Commit` and `ETag` headers (revision: the commit or a branch name);
- `GET /api/models/{owner}/{name}[/revision/{revision}][?blobs=true]`: what
  `huggingface_hub.HfApi.model_info(files_metadata=True)` (huggingface_hub 2.4.0) reads:
  `id`, `sha` and `siblings` with `rfilename` and, with `blobs`, `size`, `blobId` (git
  blob sha1) and `lfs` (`sha256`, `size`, `pointerSize`) for LFS files.

A repository made with `token=` answers 401 to requests without `Authorization: Bearer
<token>`. Every request's path and headers are recorded in `requests`. Plain HTTP and,
given a certificate, HTTPS (Bazel's downloader wants HTTPS for unpinned files).
"""

from __future__ import annotations

import hashlib
import http.server
import json
import ssl
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

LFS_SUFFIXES = (".safetensors", ".bin", ".gguf", ".h5", ".msgpack", ".onnx", ".model")


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class HubRepo:
    repo_id: str
    files: dict[str, bytes]
    commit: str
    branches: dict[str, str] = field(default_factory=dict)
    token: str | None = None

    def resolve(self, revision: str) -> str | None:
        if revision == self.commit:
            return self.commit
        return self.branches.get(revision)

    def sibling(self, path: str, blobs: bool) -> dict:
        entry: dict = {"rfilename": path}
        if blobs:
            data = self.files[path]
            entry["size"] = len(data)
            entry["blobId"] = git_blob_id(data)
            if path.endswith(LFS_SUFFIXES):
                entry["lfs"] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "pointerSize": 134}
        return entry


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]


class LoopbackHub:
    """Start with `start()`; `http_url` / `https_url` are the endpoints (no trailing /)."""

    def __init__(self, cert: Path | None = None, key: Path | None = None) -> None:
        self.repos: dict[str, HubRepo] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._servers: list[http.server.ThreadingHTTPServer] = []
        self._cert, self._key = cert, key
        self.http_url = ""
        self.https_url = ""

    def add_repo(self, repo_id: str, files: dict[str, bytes | Path], branch: str = "main",
                 token: str | None = None) -> HubRepo:
        data = {p: (v.read_bytes() if isinstance(v, Path) else v) for p, v in files.items()}
        digest = hashlib.sha1(repo_id.encode())
        for p in sorted(data):
            digest.update(p.encode() + b"\0" + hashlib.sha256(data[p]).digest())
        repo = HubRepo(repo_id, data, digest.hexdigest(), {branch: digest.hexdigest()}, token)
        self.repos[repo_id] = repo
        return repo

    def requests_to(self, fragment: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if fragment in r.path]

    def start(self) -> "LoopbackHub":
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_HEAD(self) -> None:
                self.handle_request(head=True)

            def do_GET(self) -> None:
                self.handle_request(head=False)

            def send(self, status: int, body: bytes, head: bool, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def error(self, status: int, code: str, message: str, head: bool) -> None:
                body = json.dumps({"error": message}).encode()
                self.send(status, body, head, {"Content-Type": "application/json", "X-Error-Code": code,
                                               "X-Error-Message": message})

            def handle_request(self, head: bool) -> None:
                url = urllib.parse.urlsplit(self.path)
                path = urllib.parse.unquote(url.path)
                with hub._lock:
                    hub.requests.append(Request(self.command, self.path, dict(self.headers.items())))
                query = urllib.parse.parse_qs(url.query)
                parts = path.strip("/").split("/")
                if parts[:2] == ["api", "models"] and len(parts) >= 4:
                    repo_id = "/".join(parts[2:4])
                    revision = parts[5] if len(parts) >= 6 and parts[4] == "revision" else "main"
                    blobs = query.get("blobs", ["false"])[0].lower() in ("1", "true")
                    self.api(repo_id, revision, blobs, head)
                elif len(parts) >= 5 and parts[2] == "resolve":
                    self.resolve("/".join(parts[:2]), parts[3], "/".join(parts[4:]), head)
                else:
                    self.error(404, "EntryNotFound", f"no route for {path}", head)

            def repo(self, repo_id: str, head: bool) -> HubRepo | None:
                repo = hub.repos.get(repo_id)
                if repo is None:
                    self.error(404, "RepoNotFound", f"Repository {repo_id} not found", head)
                    return None
                if repo.token and self.headers.get("Authorization") != f"Bearer {repo.token}":
                    self.error(401, "GatedRepo", "Invalid credentials in Authorization header", head)
                    return None
                return repo

            def api(self, repo_id: str, revision: str, blobs: bool, head: bool) -> None:
                repo = self.repo(repo_id, head)
                if repo is None:
                    return
                commit = repo.resolve(revision)
                if commit is None:
                    self.error(404, "RevisionNotFound", f"Invalid rev id: {revision}", head)
                    return
                body = {
                    "_id": repo_id,
                    "id": repo_id,
                    "modelId": repo_id,
                    "sha": commit,
                    "private": bool(repo.token),
                    "siblings": [repo.sibling(p, blobs) for p in sorted(repo.files)],
                }
                self.send(200, json.dumps(body).encode(), head, {"Content-Type": "application/json"})

            def resolve(self, repo_id: str, revision: str, file_path: str, head: bool) -> None:
                repo = self.repo(repo_id, head)
                if repo is None:
                    return
                commit = repo.resolve(revision)
                if commit is None:
                    self.error(404, "RevisionNotFound", f"Invalid rev id: {revision}", head)
                    return
                data = repo.files.get(file_path)
                if data is None:
                    self.error(404, "EntryNotFound", f"{file_path} does not exist at {revision}", head)
                    return
                etag = hashlib.sha256(data).hexdigest() if file_path.endswith(LFS_SUFFIXES) else git_blob_id(data)
                self.send(200, data, head, {"Content-Type": "application/octet-stream", "X-Repo-Commit": commit,
                                            "ETag": f'"{etag}"'})

        plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._servers.append(plain)
        self.http_url = f"http://127.0.0.1:{plain.server_address[1]}"
        if self._cert is not None:
            tls = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self._cert, self._key)
            tls.socket = context.wrap_socket(tls.socket, server_side=True)
            self._servers.append(tls)
            self.https_url = f"https://127.0.0.1:{tls.server_address[1]}"
        for server in self._servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
