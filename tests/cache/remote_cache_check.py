"""Proves that the offline example's images come out of a shared remote cache, bit for bit.

    python3 tests/cache/remote_cache_check.py --cache-url http://127.0.0.1:PORT --cache-dir DIR

Run from the workspace root (`.ci/run` and `bench/remote_cache_bench.sh` call it). Two
builds of the same image targets, each in an output root of its own (so nothing comes
from a local action cache, output base or disk cache):

  A  this checkout, --config=ci (reads and WRITES the cache). Secrets planted in its
     environment: HF_TOKEN, REGISTRY_USER/REGISTRY_PASSWORD and a DOCKER_CONFIG whose
     config.json holds credentials, all carrying a marker string.
  B  a copy of the checkout at another absolute path, --config=cache (read-only), with
     another TZ, umask, locale, HOME and user name (and, as root, another uid: it runs
     as `nobody` through setpriv). Disk cache off (`--disk_cache=`).

Checks (each printed as `RESULT <name> ok|FAIL <detail>`; .ci/run counts them):
  remote_hits        every cacheable action of B was a remote cache hit. A "cacheable
                     action" is a spawn (an action that runs a process: Bazel's "internal"
                     actions such as file writes and symlinks run none and are never
                     cached) whose execution info allows remote caching (no `no-cache`,
                     `no-remote-cache`, `no-remote` or `local`). Hits come from Bazel's
                     summary line ("N processes: H remote cache hit, I internal, ...");
                     B's execution log must agree: Bazel 4.2.3 logs every spawn, hits
                     included (`remoteCacheHit`, runner "remote cache hit"); each spawn
                     that was not a hit is classed as cacheable (a failure) or not
                     (counted and listed).
  same_digests       every image's manifest digest (<image>.digest, checked against its
                     layout's index.json) is the same in A and B.
  no_secret_leak     the marker appears in no execution log (action arguments and
                     environments), output tree (bazel-out), external repository of A, nor
                     anywhere in the cache's directory. Known exposures outside actions and
                     the cache are reported, not failed: Bazel's build-event file lists
                     the client environment as --client_env options, and its server log
                     (java.log) records it too; variables holding a PATH to a credential
                     (HF_TOKEN_PATH, DOCKER_CONFIG) expose only the path.
  from_scratch       (--from-scratch) a third build C like B but with no cache at all gives
                     the same digests: the actions are deterministic, not just their keys.

The repository cache (downloads of wheels, .debs, models: repository rules are never in
the remote cache) is shared by every build here (--repository_cache), as a CI worker
that persists it would have it. The targets are one variable: --targets, default
IMAGES_QUERY below (every oci_image of the offline example that `bazel build //...`
builds, so new pairs join by themselves; manual ones, like the 700 MB vLLM image, stay
out).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

if not __package__:  # run as a script from the repository's root (.ci/run), not by Bazel
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tools.execlog.execlog_diff import read_json_stream  # noqa: E402

IMAGES_QUERY = 'kind("oci_image rule", //examples/tiny:all) except attr(tags, "manual", //examples/tiny:all)'
MARKER = "CECAI_SECRET_MARKER_7f3c9a"
PROCESSES_RE = re.compile(r"INFO: (\d+) process(?:es)?(?::([^\n]*))?\.")
NOT_CACHEABLE_KEYS = ("no-cache", "no-remote-cache", "no-remote", "local")


@dataclass
class BuildResult:
    name: str
    seconds: float
    processes: int
    kinds: dict[str, int]  # "remote cache hit" -> n, "internal" -> n, "linux-sandbox" -> n ...
    digests: dict[str, str]  # target label -> sha256:...
    spawns: list[dict] = field(default_factory=list)  # every spawn of the execution log, hits included
    exec_log: Optional[Path] = None
    bep: Optional[Path] = None
    output_base: Optional[Path] = None
    stderr_tail: str = ""

    @property
    def hits(self) -> int:
        return self.kinds.get("remote cache hit", 0)

    @property
    def internal(self) -> int:
        return self.kinds.get("internal", 0)


def say(message: str) -> None:
    print(f"[cache-check] {message}", flush=True)


def parse_processes(stderr: str) -> tuple[int, dict[str, int]]:
    """The last "INFO: N processes: a remote cache hit, b internal, c linux-sandbox." line."""
    matches = list(PROCESSES_RE.finditer(stderr))
    if not matches:
        return -1, {}
    last = matches[-1]
    kinds: dict[str, int] = {}
    for part in (last.group(2) or "").split(","):
        part = part.strip()
        m = re.match(r"(\d+) (.+)", part)
        if m:
            kinds[m.group(2)] = kinds.get(m.group(2), 0) + int(m.group(1))
    return int(last.group(1)), kinds


def image_digests(bep: Path) -> dict[str, str]:
    """target -> manifest digest, from the <image>.digest files the BEP lists as outputs.
    Each is checked against the layout's own index.json (the digest file is what the
    rule writes; index.json is what a registry or podman reads)."""
    files: dict[str, list[str]] = {}
    sets: dict[str, list[str]] = {}
    set_children: dict[str, list[str]] = {}
    targets: dict[str, list[str]] = {}
    for event in read_json_stream(bep):
        eid = event.get("id", {})
        if "namedSet" in eid:
            ns = event.get("namedSetOfFiles", {})
            sets[eid["namedSet"]["id"]] = [f.get("uri", "") for f in ns.get("files", [])]
            set_children[eid["namedSet"]["id"]] = [s["id"] for s in ns.get("fileSets", [])]
        if "targetCompleted" in eid and event.get("completed", {}).get("success"):
            label = eid["targetCompleted"]["label"]
            groups = event["completed"].get("outputGroup", [])
            targets[label] = [s["id"] for g in groups for s in g.get("fileSets", [])]

    def expand(set_id: str, seen: set[str]) -> list[str]:
        if set_id in seen:
            return []
        seen.add(set_id)
        out = list(sets.get(set_id, []))
        for child in set_children.get(set_id, []):
            out += expand(child, seen)
        return out

    digests: dict[str, str] = {}
    for label, set_ids in targets.items():
        uris = [u for s in set_ids for u in expand(s, set())]
        for uri in uris:
            if uri.endswith(".digest"):
                digest_file = Path(uri.removeprefix("file://"))
                digest = digest_file.read_text().strip()
                index = json.loads((digest_file.with_suffix("") / "index.json").read_text())
                manifest = index["manifests"][0]["digest"]
                if manifest != digest:
                    raise SystemExit(f"{label}: {digest_file} says {digest}, its index.json {manifest}")
                files[label] = [digest]
    return {label: values[0] for label, values in files.items()}


def spawn_cacheable(spawn: dict) -> bool:
    """Bazel 4.2.3's SpawnExec says whether the spawn could use a remote cache
    (`remoteCacheable`, false for no-cache/no-remote-cache/no-remote/local) and whether
    it may be cached at all (`cacheable`)."""
    return bool(spawn.get("remoteCacheable", False)) and bool(spawn.get("cacheable", False))


def run_build(name: str, cwd: Path, startup: list[str], flags: list[str], targets: list[str],
              env: dict[str, str], work: Path, umask: Optional[int] = None,
              as_user: Optional[str] = None) -> BuildResult:
    """One build; its execution log and BEP file go to `work`, which the build's user
    must be able to write."""
    exec_log = work / f"{name}.exec.json"
    bep = work / f"{name}.bep.json"
    cmd = ["./bazelw", *startup, "build", *flags,
           f"--execution_log_json_file={exec_log}", f"--build_event_json_file={bep}", *targets]
    if as_user:
        cmd = ["setpriv", f"--reuid={as_user}", f"--regid={as_user}", "--clear-groups", *cmd]

    def preexec() -> None:
        if umask is not None:
            os.umask(umask)

    say(f"build {name}: {' '.join(cmd[:12])} ... ({len(targets)} targets)")
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, preexec_fn=preexec)
    seconds = time.monotonic() - started
    (work / f"{name}.stderr.log").write_text(proc.stderr)
    if proc.returncode != 0:
        say(f"build {name} FAILED (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
        raise SystemExit(1)
    processes, kinds = parse_processes(proc.stderr)
    spawns = list(read_json_stream(exec_log)) if exec_log.exists() else []
    # `info` reads the build options: --disk_cache= keeps it from needing a writable home
    # (the .bazelrc's default disk cache is under ~, which for `nobody` is /nonexistent).
    info = subprocess.run([*(cmd[:cmd.index("./bazelw")] if as_user else []), "./bazelw", *startup, "info",
                           "--disk_cache=", "output_base"],
                          cwd=cwd, env=env, capture_output=True, text=True)
    result = BuildResult(name=name, seconds=seconds, processes=processes, kinds=kinds,
                         digests=image_digests(bep), spawns=spawns, exec_log=exec_log, bep=bep,
                         output_base=Path(info.stdout.strip()) if info.returncode == 0 else None,
                         stderr_tail=proc.stderr[-2000:])
    say(f"build {name}: {seconds:.1f} s; {processes} processes: "
        + ", ".join(f"{n} {k}" for k, n in sorted(result.kinds.items())))
    for label, digest in sorted(result.digests.items()):
        say(f"  {label} {digest}")
    return result


def shutdown(cwd: Path, startup: list[str], env: dict[str, str], as_user: Optional[str] = None) -> None:
    cmd = ["./bazelw", *startup, "shutdown"]
    if as_user:
        cmd = ["setpriv", f"--reuid={as_user}", f"--regid={as_user}", "--clear-groups", *cmd]
    subprocess.run(cmd, cwd=cwd, env=env, capture_output=True)


def copy_checkout(src: Path, dest: Path) -> None:
    """The files git knows about (tracked, plus new ones not ignored), as a second
    checkout would have them; no bazel-* links, no user.bazelrc."""
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=src, capture_output=True, check=True).stdout
    dest.mkdir(parents=True)
    for raw in listing.split(b"\0"):
        if not raw:
            continue
        rel = raw.decode()
        s = src / rel
        if not s.exists() and not s.is_symlink():
            continue  # deleted in the working tree
        d = dest / rel
        d.parent.mkdir(parents=True, exist_ok=True)
        if s.is_symlink():
            os.symlink(os.readlink(s), d)
        else:
            shutil.copy2(s, d)


def scan_for_marker(places: dict[str, Path], markers: list[str]) -> dict[str, list[str]]:
    """Files under each place containing any marker (grep -rlF, following nothing)."""
    found: dict[str, list[str]] = {}
    for name, path in places.items():
        if not path.exists():
            continue
        args = ["grep", "-rlF"]
        for m in markers:
            args += ["-e", m]
        proc = subprocess.run([*args, str(path)], capture_output=True, text=True)
        hits = [line for line in proc.stdout.splitlines() if line]
        if hits:
            found[name] = hits
    return found


def secret_env(work: Path) -> tuple[dict[str, str], list[str]]:
    """Environment variables holding the marker the way real credentials would be held,
    and the strings to look for (plain and base64, as docker's config stores them)."""
    docker = work / "docker-config"
    docker.mkdir(exist_ok=True)
    auth = base64.b64encode(f"ciuser:{MARKER}".encode()).decode()
    (docker / "config.json").write_text(json.dumps({"auths": {"registry.example:5000": {"auth": auth}}}))
    env = {
        "HF_TOKEN": f"hf_{MARKER}",
        "REGISTRY_USER": "ciuser",
        "REGISTRY_PASSWORD": MARKER,
        "DOCKER_CONFIG": str(docker),
    }
    return env, [MARKER, auth]


def report(name: str, ok: bool, detail: str) -> bool:
    print(f"RESULT {name} {'ok' if ok else 'FAIL'} {detail}", flush=True)
    return ok


def nginx_bytes(log: Path, offset: int) -> tuple[int, int, int, int]:
    """(GET hits, bytes served, PUT count, bytes received) in the access log after offset
    (format "METHOD STATUS BODY_BYTES_SENT REQUEST_LENGTH URI", tests/cache/http_cache.sh)."""
    if not log.exists():
        return 0, 0, 0, 0
    gets = served = puts = received = 0
    with log.open() as f:
        f.seek(offset)
        for line in f:
            parts = line.split()
            if len(parts) < 5:
                continue
            method, status, sent, length = parts[0], parts[1], int(parts[2]), int(parts[3])
            if method == "GET" and status == "200":
                gets += 1
                served += sent
            elif method == "PUT":
                puts += 1
                received += length
    return gets, served, puts, received


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache-url", required=True, help="the HTTP cache (BAZEL_REMOTE_CACHE)")
    parser.add_argument("--cache-dir", type=Path, help="the cache's folder (tests/cache/http_cache.sh): scanned for secrets, its log read for bytes")
    parser.add_argument("--targets", nargs="*", help=f"default: bazel query '{IMAGES_QUERY}'")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a new temporary one, removed)")
    parser.add_argument("--repository-cache", type=Path, help="default: this workspace's (bazel info repository_cache)")
    parser.add_argument("--from-scratch", action="store_true", help="also build C without any cache and compare digests")
    parser.add_argument("--b-flags", default="", help="extra flags for build B (e.g. --remote_download_toplevel)")
    parser.add_argument("--extra-warm", action="append", default=[], metavar="FLAGS",
                        help="after B, one more warm build like B with these extra flags, in a fresh output root "
                             "(bench: e.g. --remote_download_toplevel); measured, digests compared")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder and output roots")
    args = parser.parse_args(argv)

    root = Path.cwd()
    if not (root / "WORKSPACE").exists():
        raise SystemExit("run from the workspace root")
    work = args.work or Path(tempfile.mkdtemp(prefix="cecai-cache-check-"))
    cleanup: list[Path] = [] if args.work else [work]
    work.mkdir(parents=True, exist_ok=True)
    os.chmod(work, 0o755)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("BAZEL_", "TEST_", "RUNFILES"))}
    base_env["BAZEL_REMOTE_CACHE"] = args.cache_url

    targets = args.targets
    if not targets:
        q = subprocess.run(["./bazelw", "query", IMAGES_QUERY], cwd=root, env=base_env, capture_output=True, text=True)
        targets = sorted(q.stdout.split())
        if q.returncode != 0 or not targets:
            raise SystemExit(f"bazel query {IMAGES_QUERY} failed:\n{q.stderr[-2000:]}")
    repo_cache = args.repository_cache
    if not repo_cache:
        info = subprocess.run(["./bazelw", "info", "repository_cache"], cwd=root, env=base_env,
                              capture_output=True, text=True, check=True)
        repo_cache = Path(info.stdout.strip())
    say(f"targets: {' '.join(targets)}")
    say(f"repository cache (shared, not part of the remote cache): {repo_cache}")
    log = (args.cache_dir / "logs" / "bazel.log") if args.cache_dir else Path("/nonexistent")
    numbers: dict[str, object] = {"targets": targets}
    ok = True

    # --- A: this checkout, fills the cache; secrets in its environment.
    secrets, markers = secret_env(work)
    a_startup = [f"--output_user_root={work / 'root_a'}", "--max_idle_secs=60"]
    common = [f"--repository_cache={repo_cache}", "--disk_cache="]
    offset = log.stat().st_size if log.exists() else 0
    a = run_build("A", root, a_startup, ["--config=ci", *common], targets, {**base_env, **secrets}, work)
    shutdown(root, a_startup, base_env)
    gets, served, puts, received = nginx_bytes(log, offset)
    numbers["A"] = {"seconds": round(a.seconds, 1), "processes": a.processes, "kinds": a.kinds,
                    "cache_gets": gets, "bytes_downloaded": served, "cache_puts": puts, "bytes_uploaded": received}
    say(f"A: cache served {gets} blobs / {served} bytes, received {puts} uploads / {received} bytes")

    # --- B: another checkout path, user, TZ, umask, locale; read-only cache; no disk cache.
    # B's folders live apart from `work` (whose parents another user may not traverse),
    # in a folder of their own under the system's temporary directory.
    b_work = Path(tempfile.mkdtemp(prefix="cecai-cache-b-", dir="/tmp"))
    os.chmod(b_work, 0o755)
    cleanup.append(b_work)
    other = b_work / "elsewhere" / "checkout-2"
    copy_checkout(root, other)
    as_user = None
    b_env = {k: v for k, v in base_env.items() if not k.startswith(("LC_", "LANG"))}
    home_b = b_work / "home_b"
    home_b.mkdir()
    b_env.update({"TZ": "Asia/Kathmandu", "LC_ALL": "POSIX", "LANG": "POSIX", "USER": "builder-b",
                  "LOGNAME": "builder-b", "HOME": str(home_b), "TMPDIR": str(b_work / "tmp_b")})
    (b_work / "tmp_b").mkdir()
    root_b = b_work / "root_b"
    root_b.mkdir()
    repo_cache_b = repo_cache
    if os.geteuid() == 0 and shutil.which("setpriv"):
        as_user = "65534"  # nobody: another uid, as on another machine
        # nobody cannot use root's repository cache; a copy is what a CI worker restoring
        # a persisted repository cache has.
        repo_cache_b = b_work / "repository_cache_b"
        subprocess.run(["cp", "-a", str(repo_cache), str(repo_cache_b)], check=True)
        subprocess.run(["chown", "-R", "65534:65534", str(b_work)], check=True)
        probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "test", "-w", str(other)])
        if probe.returncode != 0:
            raise SystemExit(f"uid 65534 cannot write {other}")
    b_startup = [f"--output_user_root={root_b}", "--max_idle_secs=60"]
    offset = log.stat().st_size if log.exists() else 0
    b_common = [f"--repository_cache={repo_cache_b}", "--disk_cache="]
    b_flags = ["--config=cache", *b_common, *args.b_flags.split()]
    b_logs = b_work / "logs"
    b_logs.mkdir(exist_ok=True)
    if as_user:
        os.chown(b_logs, 65534, 65534)
    b = run_build("B", other, b_startup, b_flags, targets, b_env, b_logs, umask=0o077, as_user=as_user)
    shutdown(other, b_startup, b_env, as_user)
    gets, served, puts, received = nginx_bytes(log, offset)
    say(f"B ran as uid {as_user or os.geteuid()} in {other}, TZ=Asia/Kathmandu, umask 077, LC_ALL=POSIX, USER=builder-b")
    say(f"B: cache served {gets} blobs / {served} bytes, received {puts} uploads / {received} bytes")

    spawned = b.processes - b.internal
    logged_hits = [s for s in b.spawns if s.get("remoteCacheHit")]
    executed = [s for s in b.spawns if not s.get("remoteCacheHit")]
    executed_cacheable = [s for s in executed if spawn_cacheable(s)]
    executed_other = [s for s in executed if not spawn_cacheable(s)]
    numbers["B"] = {"seconds": round(b.seconds, 1), "processes": b.processes, "kinds": b.kinds,
                    "cache_gets": gets, "bytes_downloaded": served, "cache_puts": puts, "bytes_uploaded": received,
                    "spawns": spawned, "hits": b.hits, "executed_cacheable": len(executed_cacheable),
                    "executed_not_cacheable": len(executed_other)}
    say(f"B: {b.processes} actions = {b.internal} internal (no process, never cached) + {spawned} spawns; "
        f"of the spawns {b.hits} remote cache hits, {len(executed_cacheable)} cacheable but executed, "
        f"{len(executed_other)} not cacheable (executed locally by design)")
    for s in executed_other:
        say(f"  not cacheable: {s.get('mnemonic')} {s.get('progressMessage', '')[:100]}")
    for s in executed_cacheable:
        say(f"  MISSED: {s.get('mnemonic')} {s.get('progressMessage', '')[:100]} ({s.get('runner')})")
    say(f"B's execution log: {len(b.spawns)} spawns, {len(logged_hits)} of them remote cache hits")
    hit_ok = (spawned > 0 and not executed_cacheable and b.hits == spawned - len(executed_other)
              and len(logged_hits) == b.hits and len(b.spawns) == spawned)
    ok &= report("remote_hits", hit_ok,
                 f"{b.hits}/{spawned - len(executed_other)} cacheable spawns were remote cache hits "
                 f"({len(executed_other)} not cacheable, {b.internal} internal; execution log: "
                 f"{len(logged_hits)} hits of {len(b.spawns)} spawns)")

    missing = [t for t in targets if t not in a.digests]
    same = bool(a.digests) and a.digests == b.digests
    ok &= report("same_digests", same and not missing,
                 "; ".join(f"{t.split(':')[-1]} {a.digests.get(t, '?')[:19]}={b.digests.get(t, '?')[:19]}" for t in targets))
    numbers["digests"] = {"A": a.digests, "B": b.digests}

    # --- extra warm builds (measurements of download modes for the benchmark)
    numbers["extra_warm"] = []
    for n, flags in enumerate(args.extra_warm, start=1):
        root_w = b_work / f"root_w{n}"
        root_w.mkdir()
        if as_user:
            subprocess.run(["chown", "-R", "65534:65534", str(root_w)], check=True)
        w_startup = [f"--output_user_root={root_w}", "--max_idle_secs=60"]
        offset = log.stat().st_size if log.exists() else 0
        w = run_build(f"W{n}", other, w_startup, ["--config=cache", *b_common, *flags.split()], targets, b_env, b_logs,
                      umask=0o077, as_user=as_user)
        shutdown(other, w_startup, b_env, as_user)
        gets, served, puts, received = nginx_bytes(log, offset)
        say(f"W{n} ({flags}): {w.seconds:.1f} s, cache served {gets} blobs / {served} bytes")
        numbers["extra_warm"].append({"flags": flags, "seconds": round(w.seconds, 1), "processes": w.processes,
                                      "kinds": w.kinds, "cache_gets": gets, "bytes_downloaded": served,
                                      "same_digests": w.digests == a.digests})
        for spawn in w.spawns:
            if not spawn.get("remoteCacheHit"):
                say(f"  W{n} executed: {spawn.get('mnemonic')} {spawn.get('progressMessage', '')[:100]} "
                    f"({spawn.get('runner')}, remoteCacheable={spawn.get('remoteCacheable')})")
        ok &= report(f"same_digests_w{n}", w.digests == a.digests,
                     f"{flags}: {w.hits}/{w.processes - w.internal} spawns were hits, digests "
                     + ("equal" if w.digests == a.digests else "DIFFER"))
        shutil.rmtree(root_w, ignore_errors=True)

    # --- C: no cache at all, B's environment: deterministic outputs.
    places_extra: dict[str, Path] = {}
    if args.from_scratch:
        root_c = b_work / "root_c"
        root_c.mkdir()
        if as_user:
            subprocess.run(["chown", "-R", "65534:65534", str(root_c)], check=True)
        c_startup = [f"--output_user_root={root_c}", "--max_idle_secs=60"]
        c = run_build("C", other, c_startup, [*b_common, "--remote_cache="],
                      targets, {**b_env, **secrets}, b_logs, umask=0o077, as_user=as_user)
        shutdown(other, c_startup, b_env, as_user)
        numbers["C"] = {"seconds": round(c.seconds, 1), "processes": c.processes, "kinds": c.kinds}
        ok &= report("from_scratch", c.digests == a.digests and bool(c.digests),
                     "; ".join(f"{t.split(':')[-1]} {c.digests.get(t, '?')[:19]}" for t in targets))
        places_extra = {"execution log C": c.exec_log}
        if c.output_base:
            places_extra["outputs C (bazel-out)"] = c.output_base / "execroot" / "cecaiserve" / "bazel-out"

    # --- secrets (planted in A and C, the builds that execute actions)
    places: dict[str, Path] = {"execution log A": a.exec_log, "execution log B": b.exec_log}
    if a.output_base:
        places["outputs A (bazel-out)"] = a.output_base / "execroot" / "cecaiserve" / "bazel-out"
        places["external repositories A"] = a.output_base / "external"
    if b.output_base:
        places["outputs B (bazel-out)"] = b.output_base / "execroot" / "cecaiserve" / "bazel-out"
    if args.cache_dir:
        places["remote cache (nginx folder: ac/, cas/)"] = args.cache_dir / "cas"
    places.update(places_extra)  # C (no cache) executes every action with the secrets set
    found = scan_for_marker(places, markers)
    known = {"build-event file A": a.bep}
    if a.output_base:
        known["output base A, outside bazel-out and external"] = a.output_base
    for place, files in scan_for_marker(known, markers).items():
        files = [f for f in files if "/execroot/" not in f and "/external/" not in f]
        if files:
            say(f"  known exposure, not an action, output or cache entry: {place}: "
                + ", ".join(Path(f).name for f in files[:5])
                + " (Bazel records the client environment there; pass credentials as files: HF_TOKEN_PATH, DOCKER_CONFIG)")
    for place, files in found.items():
        say(f"  marker found in {place}: {files[:5]}")
    ok &= report("no_secret_leak", not found,
                 f"marker of HF_TOKEN/REGISTRY_PASSWORD/DOCKER_CONFIG absent from {len(places)} places"
                 if not found else f"found in: {', '.join(found)}")

    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2) + "\n")
    if not args.keep:
        for folder in cleanup:
            # Bazel leaves read-only folders behind; make them writable first.
            subprocess.run(["chmod", "-R", "u+w", str(folder)], capture_output=True)
            shutil.rmtree(folder, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
