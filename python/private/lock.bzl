"""Reads the JSON lock (written by //python/lock) into `pypi_distribution` arguments.

Shared by the WORKSPACE hub (`pip_repository`) and the MODULE.bazel extension, so both
modes create the same repositories from the same file.
"""

load(":names.bzl", "normalize_name", "spoke_name")

_FIELDS = ["name", "version", "filename", "urls", "sha256", "kind", "deps"]

def parse_lock(content, lock_hint):
    """Decodes the lock and checks its shape; fails naming the entry and field at fault."""
    lock = json.decode(content)
    if lock.get("version") != 1:
        fail("{}: lock format version {} is not supported (expected 1); regenerate it with `bazel run //python/lock`".format(
            lock_hint,
            lock.get("version"),
        ))
    packages = lock.get("packages", {})
    for key, entry in packages.items():
        for field in _FIELDS:
            if field not in entry:
                fail("{}: package '{}' has no '{}' field; regenerate the lock with `bazel run //python/lock`".format(
                    lock_hint,
                    key,
                    field,
                ))
        if normalize_name(entry["name"]) != key:
            fail("{}: package '{}' is stored under key '{}'".format(lock_hint, entry["name"], key))
        for dep in entry["deps"]:
            if dep not in packages:
                fail("{}: '{}' needs '{}', which is not locked; regenerate the lock with `bazel run //python/lock`".format(
                    lock_hint,
                    key,
                    dep,
                ))
    return lock

def closure(lock, key):
    """`key` and every distribution it needs, transitively (sorted; cycles are fine)."""
    seen = {}
    todo = [key]

    # Starlark has no while loop: at most one step per locked distribution.
    for _ in range(len(lock["packages"]) + 1):
        if not todo:
            break
        next_todo = []
        for k in todo:
            if k not in seen:
                seen[k] = True
                next_todo.extend(lock["packages"][k]["deps"])
        todo = next_todo
    return sorted(seen.keys())

def distribution_kwargs(lock, hub, sdist_builds, python, lock_hint, install = True):
    """One dict of `pypi_distribution` arguments per locked distribution, sorted by key."""
    builds = {normalize_name(k): v for k, v in sdist_builds.items()}
    out = []
    for key in sorted(lock["packages"].keys()):
        entry = lock["packages"][key]
        out.append({
            "name": spoke_name(hub, key),
            "dist_name": entry["name"],
            "version": entry["version"],
            "filename": entry["filename"],
            "urls": entry["urls"],
            "sha256": entry["sha256"],
            "kind": entry["kind"],
            "deps": entry["deps"],
            "hub": hub,
            "build": builds.get(key, ""),
            "python": python,
            "lock_hint": lock_hint,
            "install": install,
        })
    return out
