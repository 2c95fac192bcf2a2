"""Prints the `hf_model(...)` pin of a Hugging Face model repository.

    bazel run //models/pin -- openai-community/gpt2 [--revision main] [--include '*.json' ...]
        [--exclude 'onnx/*' ...] [--name gpt2] [--endpoint https://...]

Resolves the revision (a branch, tag or commit) to its commit and lists the files with
their sha256: the hub's LFS sha256 for LFS files (the weights; nothing large is
downloaded), the sha256 of the downloaded bytes for the others. Paste the output into
WORKSPACE after `load("//models:defs.bzl", "hf_model")`.

The hub is HF_ENDPOINT (or --endpoint): this project names none. HF_TOKEN, when set,
is sent for gated and private repositories. By default the files are the top-level
`*.json`, `*.safetensors`, `*.txt`, `*.model`, `*.tiktoken` and `*.jinja`: what
transformers and llama.cpp's converter read, without the `.bin`/`.h5`/`.msgpack`/onnx
copies of the same weights.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
from dataclasses import dataclass

DEFAULT_INCLUDE = ["*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken", "*.jinja"]
DEFAULT_EXCLUDE = ["*/*"]  # top level only, unless --include/--exclude say otherwise
COMMIT = re.compile(r"^[0-9a-f]{40}$")


class PinError(Exception):
    """A problem the user can fix; printed without a traceback."""


@dataclass(frozen=True)
class PinnedFile:
    path: str
    sha256: str
    lfs: bool
    size: int | None


def default_name(repo_id: str) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", repo_id.split("/")[-1].lower())
    return name if not name[:1].isdigit() else "m_" + name


def endpoint_from(arg: str | None) -> str:
    endpoint = (arg or os.environ.get("HF_ENDPOINT", "")).strip().rstrip("/")
    if not endpoint:
        raise PinError("no hub: set HF_ENDPOINT=https://<hub> (the Hugging Face Hub or a mirror) or pass "
                       "--endpoint; this project names no hub itself")
    if not endpoint.startswith(("http://", "https://")):
        raise PinError(f"endpoint {endpoint!r} is not an http(s) URL")
    return endpoint


def resolve(repo_id: str, revision: str, include: list[str], exclude: list[str], endpoint: str,
            token: str | None) -> tuple[str, list[PinnedFile]]:
    """Returns (commit, files) for `revision` of `repo_id`, filtered by the patterns."""
    # The tool exists to go online; a user's HF_HUB_OFFLINE=1 would make every call fail.
    os.environ["HF_HUB_OFFLINE"] = "0"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from huggingface_hub import HfApi, hf_hub_url
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError
    from huggingface_hub.utils import build_hf_headers, filter_repo_objects, get_session, hf_raise_for_status

    api = HfApi(endpoint=endpoint, token=token)
    where = f"{endpoint}/api/models/{repo_id}/revision/{revision}"
    try:
        info = api.model_info(repo_id, revision=revision, files_metadata=True)
    except RevisionNotFoundError as e:
        raise PinError(f"{repo_id} has no revision {revision!r} ({where})") from e
    except RepositoryNotFoundError as e:
        raise PinError(f"{repo_id}: no such repository at {endpoint}, or it is private or gated and "
                       f"HF_TOKEN is {'not accepted' if token else 'not set'} ({where})") from e
    except HfHubHTTPError as e:
        raise PinError(f"{where}: {e}") from e
    except OSError as e:  # connection refused, DNS, TLS
        raise PinError(f"cannot reach {where}: {e}") from e
    except Exception as e:  # httpx transport errors are not OSErrors
        if type(e).__module__.startswith(("httpx", "httpcore")):
            raise PinError(f"cannot reach {where}: {e}") from e
        raise
    commit = info.sha or ""
    if not COMMIT.match(commit):
        raise PinError(f"{where} returned no commit sha (got {commit!r})")

    siblings = list(filter_repo_objects(info.siblings or [], allow_patterns=include or None,
                                        ignore_patterns=exclude or None, key=lambda s: s.rfilename))
    if not siblings:
        raise PinError(f"{repo_id}@{commit}: no file matches include={include} exclude={exclude}; the repository "
                       f"has {sorted(s.rfilename for s in info.siblings or [])}")

    session = get_session()
    headers = build_hf_headers(token=token)
    pinned = []
    for sibling in sorted(siblings, key=lambda s: s.rfilename):
        lfs = sibling.lfs
        if lfs:
            sha = lfs["sha256"] if isinstance(lfs, dict) else lfs.sha256
            pinned.append(PinnedFile(sibling.rfilename, sha, True, sibling.size))
            continue
        url = hf_hub_url(repo_id, sibling.rfilename, revision=commit, endpoint=endpoint)
        print(f"hashing {sibling.rfilename} ({url})", file=sys.stderr)
        try:
            response = session.get(url, headers=headers, follow_redirects=True)
            hf_raise_for_status(response)
        except Exception as e:
            raise PinError(f"cannot download {url}: {e}") from e
        pinned.append(PinnedFile(sibling.rfilename, hashlib.sha256(response.content).hexdigest(), False,
                                 len(response.content)))
    return commit, pinned


def format_pin(name: str, repo_id: str, revision: str, commit: str, files: list[PinnedFile]) -> str:
    lines = [
        f"# {repo_id}: {revision!r} is commit {commit}; {len(files)} files "
        f"({sum(f.lfs for f in files)} LFS sha256 from the hub, the others hashed here).",
        '# In WORKSPACE, after load("//models:defs.bzl", "hf_model"); in MODULE.bazel, after',
        '# hf_model = use_repo_rule("@cecaiserve//models:defs.bzl", "hf_model_repository"):',
        "hf_model(",
        f'    name = "{name}",',
        f'    repo_id = "{repo_id}",',
        f'    revision = "{commit}",',
        "    files = {",
    ]
    lines += [f'        "{f.path}": "{f.sha256}",' for f in files]
    lines += ["    },", ")"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("repo_id", help="owner/name, e.g. openai-community/gpt2")
    parser.add_argument("--revision", default="main", help="branch, tag or commit (default: main)")
    parser.add_argument("--include", action="append", default=[], help="fnmatch pattern of files to take (repeat)")
    parser.add_argument("--exclude", action="append", default=[], help="fnmatch pattern of files to leave (repeat)")
    parser.add_argument("--name", help="repository name in the pin (default: from repo_id)")
    parser.add_argument("--endpoint", help="hub URL (default: $HF_ENDPOINT)")
    args = parser.parse_args(argv)

    if args.repo_id.count("/") != 1:
        parser.error(f"repo_id {args.repo_id!r} must be owner/name")
    include, exclude = args.include, args.exclude
    if not include and not exclude:
        include, exclude = DEFAULT_INCLUDE, DEFAULT_EXCLUDE
    try:
        endpoint = endpoint_from(args.endpoint)
        commit, files = resolve(args.repo_id, args.revision, include, exclude, endpoint,
                                os.environ.get("HF_TOKEN") or None)
    except PinError as e:
        print(f"pin: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(format_pin(args.name or default_name(args.repo_id), args.repo_id, args.revision, commit, files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
