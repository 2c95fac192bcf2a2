"""Registry access shared by oci_push (push_tool.py) and oci_pull (run by the repository
rule as `python3 registry.py auth|resolve|probe ...`, standard library only).

Credentials: REGISTRY_USER/REGISTRY_PASSWORD, else the `auths` entry for the registry
in $DOCKER_CONFIG/config.json or ~/.docker/config.json (base64 "user:password", what
`docker login` and `podman login --authfile` write). Credential helpers (`credsStore`,
`credHelpers`) are not run: a config that only names one is reported.

Authorization answers the registry's 401 challenge: Basic with those credentials, or
the token flow (`WWW-Authenticate: Bearer realm=...,service=...,scope=...`): a GET to
the realm, anonymous or with Basic credentials, whose JSON has `token` or
`access_token`.

`manifest` fetches a manifest by digest with an Accept header (which Bazel 4.2.3's
downloader cannot send; registries refuse OCI manifests without it) and checks it.

For oci_pull, `auth` prints one JSON object: {} (no authorization needed, or the
registry is unreachable: the downloads may still come from Bazel's repository cache),
{"bearer": TOKEN} or {"basic": [USER, PASSWORD]}; `resolve` prints the digest a tag
points at now; `probe` GETs one URL with that authorization and prints its status and
the sha256 of what it served (for error messages).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Optional

MANIFEST_TYPES = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])
DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")


class RegistryError(Exception):
    """A refusal from the registry or the credentials, reported without a traceback."""


def api_host(host: str) -> str:
    """Where the registry API of `host` is served (Docker Hub's name differs)."""
    return "registry-1.docker.io" if host in DOCKER_HUB else host


def docker_config_path() -> str:
    folder = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(folder, "config.json")


def credentials(host: str) -> Optional[tuple[str, str]]:
    user, password = os.environ.get("REGISTRY_USER"), os.environ.get("REGISTRY_PASSWORD")
    if user and password:
        return user, password
    path = docker_config_path()
    if not os.path.exists(path):
        return None
    with open(path) as f:
        config = json.load(f)
    auths = config.get("auths", {})
    keys = [host, "https://" + host, "http://" + host, "https://" + host + "/v1/", "https://" + host + "/v2/"]
    if host in DOCKER_HUB:
        keys += ["https://index.docker.io/v1/", "docker.io", "index.docker.io"]
    for key in keys:
        entry = auths.get(key)
        if entry and entry.get("auth"):
            user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            return user, password
        if entry and entry.get("username") and entry.get("password"):
            return entry["username"], entry["password"]
    if config.get("credsStore") or host in config.get("credHelpers", {}):
        print(f"registry: {path} names a credential helper for {host}; helpers are not run: put the credentials in "
              "`auths` (e.g. `podman login --authfile`) or set REGISTRY_USER/REGISTRY_PASSWORD", file=sys.stderr)
    return None


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.partition(" ")
    params = dict(re.findall(r'(\w+)="([^"]*)"', rest))
    return scheme.lower(), params


def basic_header(creds: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(":".join(creds).encode()).decode()


def fetch_token(params: dict[str, str], scope: str, creds: Optional[tuple[str, str]]) -> str:
    """The token flow: GET realm?service=...&scope=..., anonymous or with Basic credentials."""
    query = {"scope": scope}
    if params.get("service"):
        query["service"] = params["service"]
    realm = params["realm"]
    url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)
    headers = {"Authorization": basic_header(creds)} if creds else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as resp:
            body = json.load(resp)
    except urllib.error.HTTPError as e:
        who = f"as {creds[0]}" if creds else "anonymously"
        raise RegistryError(f"token request to {realm} ({who}, scope {scope}) failed: HTTP {e.code}"
                            + ("" if creds else "; log in (docker config `auths`) or set REGISTRY_USER/REGISTRY_PASSWORD")) from None
    except urllib.error.URLError as e:
        raise RegistryError(f"token request to {realm} failed: {e.reason}") from None
    token = body.get("token") or body.get("access_token")
    if not token:
        raise RegistryError(f"token response from {realm} has no token")
    return token


def authorization(host: str, challenge: str, scope: str) -> Optional[dict]:
    """{"bearer": token} or {"basic": [user, password]} answering `challenge`, or None."""
    scheme, params = parse_challenge(challenge)
    creds = credentials(host)
    if scheme == "basic":
        if not creds:
            raise RegistryError(f"{host} wants a user and password: set REGISTRY_USER/REGISTRY_PASSWORD or log in "
                                f"(docker/podman login) so {docker_config_path()} has it under `auths`")
        return {"basic": list(creds)}
    if scheme == "bearer" and params.get("realm"):
        return {"bearer": fetch_token(params, scope, creds)}
    return None


def header_of(auth: Optional[dict]) -> dict[str, str]:
    """The Authorization header for {"bearer": ...} or {"basic": ...}; none for {} or {"offline": ...}."""
    if auth and "bearer" in auth:
        return {"Authorization": "Bearer " + auth["bearer"]}
    if auth and "basic" in auth:
        return {"Authorization": basic_header(tuple(auth["basic"]))}
    return {}


def url_of(scheme: str, host: str, repository: str, kind: str, reference: str) -> str:
    return f"{scheme}://{api_host(host)}/v2/{repository}/{kind}/{reference}"


def request(url: str, headers: dict[str, str], method: str = "GET"):
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers, method=method), timeout=120)


def pull_auth(scheme: str, host: str, repository: str, reference: str) -> dict:
    """What oci_pull's downloads need: probes the manifest and answers a 401."""
    url = url_of(scheme, host, repository, "manifests", reference)
    try:
        with request(url, {"Accept": MANIFEST_TYPES}, "HEAD"):
            return {}
    except urllib.error.HTTPError as e:
        if e.code != 401:
            return {}  # 404 and the like: the download reports it, naming the digest
        auth = authorization(host, e.headers.get("WWW-Authenticate", ""), f"repository:{repository}:pull")
        return auth or {}
    except (urllib.error.URLError, OSError) as e:
        return {"offline": str(getattr(e, "reason", e))}


def resolve(scheme: str, host: str, repository: str, tag: str) -> str:
    url = url_of(scheme, host, repository, "manifests", tag)
    headers = {"Accept": MANIFEST_TYPES}
    for attempt in range(2):
        try:
            with request(url, headers, "HEAD") as resp:
                digest = resp.headers.get("Docker-Content-Digest")
            if digest:
                return digest
            with request(url, headers) as resp:
                return "sha256:" + hashlib.sha256(resp.read()).hexdigest()
        except urllib.error.HTTPError as e:
            if e.code == 401 and attempt == 0:
                headers.update(header_of(authorization(host, e.headers.get("WWW-Authenticate", ""),
                                                       f"repository:{repository}:pull")))
                continue
            raise RegistryError(f"{url}: HTTP {e.code}") from None
        except urllib.error.URLError as e:
            raise RegistryError(f"{url}: {e.reason}") from None
    raise RegistryError(f"{url}: not authorized")


def fetch_manifest(scheme: str, host: str, repository: str, digest: str, auth: dict, out: str) -> int:
    """GETs a manifest by digest with the Accept header Bazel 4.2.3's downloader cannot send
    (registries refuse an OCI manifest to a client that does not accept it) and checks
    it against the digest. 0: written; 1: refused or other bytes (message); 2: unreachable."""
    url = url_of(scheme, host, repository, "manifests", digest)
    try:
        with request(url, dict(header_of(auth), Accept=MANIFEST_TYPES)) as resp:
            data = resp.read()
    except urllib.error.HTTPError as e:
        print(f"HTTP {e.code} {e.read().decode(errors='replace')[:300].strip()}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as e:
        print(f"unreachable: {getattr(e, 'reason', e)}", file=sys.stderr)
        return 2
    got = "sha256:" + hashlib.sha256(data).hexdigest()
    if got != digest:
        print(f"the registry served a manifest whose digest is {got}", file=sys.stderr)
        return 1
    with open(out, "wb") as f:
        f.write(data)
    return 0


def probe(url: str, auth: dict) -> str:
    try:
        with request(url, dict(header_of(auth), Accept=MANIFEST_TYPES)) as resp:
            return f"HTTP {resp.status}, content sha256:{hashlib.sha256(resp.read()).hexdigest()}"
    except urllib.error.HTTPError as e:
        return f"HTTP {e.code} {e.read().decode(errors='replace')[:300].strip()}"
    except urllib.error.URLError as e:
        return f"unreachable: {e.reason}"


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["auth", "resolve", "probe", "manifest"])
    parser.add_argument("--scheme", default="https")
    parser.add_argument("--host")
    parser.add_argument("--repository")
    parser.add_argument("--reference", help="a digest (auth) or a tag (resolve)")
    parser.add_argument("--url", help="probe: the URL")
    parser.add_argument("--auth", default="{}", help="probe, manifest: the JSON `auth` printed")
    parser.add_argument("--out", help="manifest: where to write it")
    args = parser.parse_args(argv)
    try:
        if args.command == "auth":
            print(json.dumps(pull_auth(args.scheme, args.host, args.repository, args.reference)))
        elif args.command == "manifest":
            return fetch_manifest(args.scheme, args.host, args.repository, args.reference, json.loads(args.auth), args.out)
        elif args.command == "resolve":
            print(resolve(args.scheme, args.host, args.repository, args.reference))
        else:
            print(probe(args.url, json.loads(args.auth)))
    except RegistryError as e:
        print(f"registry: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
