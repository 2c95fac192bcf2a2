"""A token server for docker-registry's `auth: token` (the Docker token flow), for tests.

Issues RS256 JWTs signed with `openssl dgst -sign` (no crypto library needed), with the
signing certificate in the `x5c` header; the registry trusts that certificate through
`rootcertbundle`. Policy: anonymous clients may pull repositories under `public/`,
user `alice` (password `secret`) may pull and push anything; everything else is 401.
"""

from __future__ import annotations

import base64
import http.server
import json
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

USERS = {"alice": "secret"}
SERVICE = "test-registry"
ISSUER = "test-issuer"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.key, self.cert = folder / "key.pem", folder / "cert.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-keyout", str(self.key), "-out", str(self.cert), "-subj", "/CN=token-issuer"],
                       check=True, capture_output=True)
        der = subprocess.run(["openssl", "x509", "-in", str(self.cert), "-outform", "DER"],
                             check=True, capture_output=True).stdout
        self.x5c = base64.b64encode(der).decode()
        self.requests: list[tuple[str, str]] = []  # (user or "", scope)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                scope = query.get("scope", [""])[0]
                user = ""
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    name, _, password = base64.b64decode(header[6:]).decode().partition(":")
                    if USERS.get(name) != password:
                        return self.reply(401, {"details": "bad credentials"})
                    user = name
                server.requests.append((user, scope))
                access = []
                if scope:
                    kind, name, actions = scope.split(":")
                    wanted = actions.split(",")
                    granted = wanted if user else [a for a in wanted if a == "pull" and name.startswith("public/")]
                    if not granted:
                        return self.reply(401, {"details": "authentication required"})
                    access = [{"type": kind, "name": name, "actions": granted}]
                self.reply(200, {"token": server.sign(user, access), "expires_in": 300})

            def reply(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def sign(self, user: str, access: list) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {"iss": ISSUER, "sub": user, "aud": SERVICE, "exp": now + 300, "nbf": now - 10, "iat": now - 10,
                  "jti": f"{now}-{len(self.requests)}", "access": access}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(self.key)],
                                   input=signing_input.encode(), check=True, capture_output=True).stdout
        return signing_input + "." + b64url(signature)

    def registry_auth(self) -> str:
        """The `auth:` body of a docker-registry config that trusts this server."""
        return (f"  token:\n    realm: {self.realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n"
                f"    rootcertbundle: {self.cert}\n")

    def stop(self) -> None:
        self.httpd.shutdown()


def htpasswd_auth(folder: Path) -> str:
    """A bcrypt htpasswd file for alice/secret and the `auth:` body that uses it."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # bcrypt through libxcrypt; the registry accepts only bcrypt

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "htpasswd"
    path.write_text("".join(f"{u}:{crypt.crypt(p, crypt.mksalt(crypt.METHOD_BLOWFISH))}\n" for u, p in USERS.items()))
    return f"  htpasswd:\n    realm: test-basic\n    path: {path}\n"


def docker_config(folder: Path, host: str, user: str = "alice", password: str = "secret") -> Path:
    """A DOCKER_CONFIG folder whose config.json has `auths` for `host` (as docker login writes it)."""
    folder.mkdir(parents=True, exist_ok=True)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (folder / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return folder
