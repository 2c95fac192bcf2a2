"""Pushes an OCI image layout (an image or an index) to a registry, with urllib only.

Order, as the distribution spec requires: every blob (HEAD first; a blob the registry
has is never uploaded again), then manifests by digest (an index's children before the
index), then each tag. No daemon, no docker CLI.

Credentials: REGISTRY_USER/REGISTRY_PASSWORD, else the `auths` entry for the registry
host in ~/.docker/config.json (or $DOCKER_CONFIG/config.json). Authentication answers
the registry's challenge: Basic, or the Docker token flow (Bearer realm, service,
scope), anonymous or with the credentials above.

Plain http is used only with --insecure and only for 127.0.0.1/localhost/[::1].
Each request is printed as `HEAD|POST|PUT <what> <digest> -> <status>` and a summary
`blobs: N uploaded, M already present` ends the run (the tests count these).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocilayout as ol  # noqa: E402
from registry import RegistryError, api_host, basic_header, credentials, fetch_token, parse_challenge  # noqa: E402

LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class PushError(Exception):
    """A refusal from the registry or a bad argument, reported without a traceback."""


def split_repository(repository: str) -> tuple[str, str]:
    """'HOST[:PORT]/path/name' -> (host, path). A registry host is required."""
    host, _, path = repository.partition("/")
    if not path or not ("." in host or ":" in host or host == "localhost"):
        raise PushError(
            f"--repository {repository!r} must start with a registry host, e.g. 127.0.0.1:5000/{repository}"
        )
    return host, path


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: D401 - urllib's signature
        return None


class Registry:
    """One repository on one registry, with the authorization it earned."""

    def __init__(self, repository: str, insecure: bool) -> None:
        self.host, self.path = split_repository(repository)
        hostname = self.host.rsplit(":", 1)[0] if not self.host.startswith("[") else self.host.split("]")[0] + "]"
        if insecure and hostname not in LOCAL_HOSTS:
            raise PushError(f"--insecure (plain http) is allowed only for {', '.join(LOCAL_HOSTS)}, not {self.host}")
        self.base = f"{'http' if insecure else 'https'}://{api_host(self.host)}"
        self.auth_header: Optional[str] = None
        self.creds = credentials(self.host)
        self.opener = urllib.request.build_opener()

    def request(self, method: str, url: str, data=None, headers: Optional[dict] = None, length: Optional[int] = None,
                retry: bool = True):
        if not url.startswith("http"):
            url = self.base + url
        hdrs = dict(headers or {})
        if self.auth_header:
            hdrs["Authorization"] = self.auth_header
        if length is not None:
            hdrs["Content-Length"] = str(length)
        req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
        try:
            return self.opener.open(req, timeout=300)
        except urllib.error.HTTPError as e:
            if e.code == 401 and retry and self._authorize(e.headers.get("WWW-Authenticate", "")):
                if hasattr(data, "seek"):
                    data.seek(0)
                return self.request(method, url, data, headers, length, retry=False)
            if method == "HEAD" and e.code == 404:
                return e
            body = e.read().decode(errors="replace")[:500]
            raise PushError(f"{method} {url}: HTTP {e.code} {body}") from None
        except urllib.error.URLError as e:
            raise PushError(f"{method} {url}: {e.reason} (is the registry running? http needs --insecure)") from None

    def _authorize(self, challenge: str) -> bool:
        scheme, params = parse_challenge(challenge)
        if scheme == "basic":
            if not self.creds:
                raise PushError(f"{self.host} wants a user and password: set REGISTRY_USER/REGISTRY_PASSWORD "
                                "or log in (docker/podman login) so ~/.docker/config.json has it")
            self.auth_header = basic_header(self.creds)
            return True
        if scheme == "bearer" and params.get("realm"):
            try:
                token = fetch_token(params, f"repository:{self.path}:pull,push", self.creds)
            except RegistryError as e:
                raise PushError(str(e)) from None
            self.auth_header = "Bearer " + token
            return True
        return False

    def push_blob(self, layout: str, desc: dict, stats: dict) -> None:
        digest = desc["digest"]
        resp = self.request("HEAD", f"/v2/{self.path}/blobs/{digest}")
        print(f"HEAD blob {digest} -> {resp.status if hasattr(resp, 'status') else resp.code}")
        if getattr(resp, "status", None) == 200:
            stats["present"] += 1
            return
        resp = self.request("POST", f"/v2/{self.path}/blobs/uploads/", data=b"", length=0)
        location = resp.headers["Location"]
        print(f"POST upload {digest} -> {resp.status}")
        url = urllib.parse.urljoin(self.base + "/", location)
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"digest": digest})
        path = ol.blob_path(layout, digest)
        with open(path, "rb") as f:
            resp = self.request("PUT", url, data=f, length=os.stat(path).st_size,
                                headers={"Content-Type": "application/octet-stream"})
        print(f"PUT blob {digest} -> {resp.status}")
        stats["uploaded"] += 1

    def put_manifest(self, layout: str, desc: dict, reference: str) -> None:
        with open(ol.blob_path(layout, desc["digest"]), "rb") as f:
            data = f.read()
        media = desc.get("mediaType") or json.loads(data).get("mediaType") or ol.MEDIA_MANIFEST
        resp = self.request("PUT", f"/v2/{self.path}/manifests/{reference}", data=data, length=len(data),
                            headers={"Content-Type": media})
        print(f"PUT manifest {reference} -> {resp.status}")


def push(layout: str, repository: str, tags: list[str], insecure: bool) -> str:
    registry = Registry(repository, insecure)
    index = ol.read_index(layout)
    if len(index.get("manifests", [])) != 1:
        raise PushError(f"{layout}: index.json must list exactly one image or index to push")
    top = index["manifests"][0]
    stats = {"uploaded": 0, "present": 0}
    descs = ol.all_blobs(layout, top)
    manifests = {ol.MEDIA_MANIFEST, ol.MEDIA_INDEX, ol.DOCKER_MANIFEST, ol.DOCKER_LIST}
    done: set[str] = set()
    for desc in descs:
        if desc["digest"] in done:
            continue
        done.add(desc["digest"])
        if desc.get("mediaType") in manifests:
            registry.put_manifest(layout, desc, desc["digest"])
        else:
            registry.push_blob(layout, desc, stats)
    for tag in tags:
        registry.put_manifest(layout, top, tag)
    print(f"blobs: {stats['uploaded']} uploaded, {stats['present']} already present")
    print(f"pushed {repository}@{top['digest']}")
    return top["digest"]


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layout", required=True, help="the OCI image layout directory")
    parser.add_argument("--repository", help="HOST[:PORT]/path, e.g. 127.0.0.1:5000/gpt2")
    parser.add_argument("--tag", action="append", default=[], help="a tag to set (repeatable)")
    parser.add_argument("--default-repository", default="", help=argparse.SUPPRESS)
    parser.add_argument("--default-tag", action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--insecure", action="store_true", help="plain http (127.0.0.1/localhost only)")
    args = parser.parse_args(argv)
    repository = args.repository or args.default_repository
    if not repository:
        print("oci_push: no repository: pass --repository HOST/REPO or set repository = ... on the target",
              file=sys.stderr)
        return 2
    tags = args.tag or args.default_tag
    try:
        push(args.layout, repository, tags, args.insecure)
    except PushError as e:
        print(f"oci_push: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
