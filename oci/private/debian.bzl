"""debian_deb (repository rule) and deb_file (rule)."""

load("//bazel/private:repo_names.bzl", "apparent_repo_name")
load(":apt_sources.bzl", "deb822_mirrors", "sources_list_mirrors")

_DEB_DOC = """Downloads one .deb from the Debian mirror this machine's apt uses, checked
against `sha256`. The mirror is never written in the repository: it is
$DEBIAN_MIRROR (e.g. --repo_env=DEBIAN_MIRROR=http://host/debian) when set, else the
first `URIs:` of /etc/apt/sources.list.d/debian.sources (or the first `deb` line of
/etc/apt/sources.list) whose suites are not -security. `filename` is the pool path,
as `apt-cache show PKG:ARCH` prints it in `Filename:` (with the sha256 in `SHA256:`).
The file is `@<name>//file`.
"""

def _mirror(rctx):
    env = rctx.os.environ.get("DEBIAN_MIRROR", "")
    if env:
        return [env]
    found = []
    deb822 = rctx.path("/etc/apt/sources.list.d/debian.sources")
    if deb822.exists:
        found.extend(deb822_mirrors(rctx.read(deb822)))
    listfile = rctx.path("/etc/apt/sources.list")
    if listfile.exists:
        found.extend(sources_list_mirrors(rctx.read(listfile)))
    return found

# Only on the failure path: fetch the file once more, outside Bazel's downloader (which
# refuses plain http without a checksum, and Debian mirrors are usually http), to tell a
# changed file from a network problem and show the hash the mirror serves.
_PROBE = """
import hashlib, sys, urllib.request
for url in sys.argv[1:]:
    try:
        with urllib.request.urlopen(url, timeout=120) as r:
            h = hashlib.sha256()
            for chunk in iter(lambda: r.read(1 << 20), b""):
                h.update(chunk)
        print(h.hexdigest(), url)
        sys.exit(0)
    except Exception as e:
        print("error", url, e, file=sys.stderr)
sys.exit(1)
"""

def mirror_urls(rctx, filename, who):
    """The pool file's URLs on the configured mirror(s); fails naming `who` when there is none."""
    mirrors = _mirror(rctx)
    if not mirrors:
        fail("%s: no Debian mirror: set --repo_env=DEBIAN_MIRROR=http://<mirror>/debian, or configure apt (/etc/apt/sources.list.d/debian.sources)" % who)
    return [m.rstrip("/") + "/" + filename for m in mirrors]

def download_deb(rctx, urls, output, sha256, what, lock_hint):
    """Downloads a .deb checked against `sha256`; any failure names `what` and the lock."""
    result = rctx.download(url = urls, output = output, sha256 = sha256, allow_fail = True)
    if result.success:
        return
    probe = rctx.execute(["python3", "-c", _PROBE] + urls, timeout = 600)
    if probe.return_code == 0:
        got, url = probe.stdout.strip().split(" ", 1)
        fail(("sha256 mismatch for {what}:\n  {lock}: {want}\n  served:   {got}\nfrom {url}. The mirror serves other bytes " +
              "under this name (a new upload, or a mirror that rewrites files): regenerate the lock " +
              "(bazel run //oci/debian:lock), or point --repo_env=DEBIAN_MIRROR at a mirror (e.g. a snapshot) that " +
              "has the locked file.").format(what = what, lock = lock_hint, want = sha256, got = got, url = url))
    fail(("could not download {what} from {urls}:\n{err}\nOffline? Put the file in a --distdir folder. " +
          "Gone from the mirror (Debian keeps only current versions in its pool)? Regenerate the lock, or set " +
          "--repo_env=DEBIAN_MIRROR to a snapshot mirror.").format(what = what, urls = urls, err = probe.stderr.strip()))

def _debian_deb_impl(rctx):
    what = rctx.attr.description or rctx.attr.filename
    urls = mirror_urls(rctx, rctx.attr.filename, "debian_deb " + apparent_repo_name(rctx))
    download_deb(rctx, urls, "file/" + rctx.attr.filename.split("/")[-1], rctx.attr.sha256, what, rctx.attr.lock_hint)
    rctx.file("file/BUILD.bazel", 'filegroup(name = "file", srcs = ["%s"], visibility = ["//visibility:public"])\n' % rctx.attr.filename.split("/")[-1])
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % apparent_repo_name(rctx))

debian_deb = repository_rule(
    implementation = _debian_deb_impl,
    doc = _DEB_DOC,
    environ = ["DEBIAN_MIRROR"],
    attrs = {
        "filename": attr.string(mandatory = True, doc = "Pool path, e.g. pool/main/b/busybox/busybox-static_..._arm64.deb."),
        "sha256": attr.string(mandatory = True, doc = "The SHA256 apt-cache show prints for it."),
        "description": attr.string(doc = "How errors name the package, e.g. `libc6 2.36-9 (arm64)`; default: filename."),
        "lock_hint": attr.string(default = "sha256 attribute", doc = "How errors name where the sha256 came from."),
    },
)

def _deb_file_impl(ctx):
    out = ctx.actions.declare_file(ctx.attr.out or ctx.label.name)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = ["--deb", ctx.file.deb.path, "--member", ctx.attr.member, "--out", out.path],
        inputs = [ctx.file.deb],
        outputs = [out],
        mnemonic = "DebExtract",
        progress_message = "Extracting %s from %s" % (ctx.attr.member, ctx.file.deb.basename),
    )
    return [DefaultInfo(files = depset([out]))]

deb_file = rule(
    implementation = _deb_file_impl,
    doc = "One regular file (`member`) out of a .deb, e.g. /bin/busybox. Keeps its bytes and its executable bit.",
    attrs = {
        "deb": attr.label(mandatory = True, allow_single_file = [".deb"], doc = "The .deb, e.g. @busybox_static_amd64//file."),
        "member": attr.string(mandatory = True, doc = "The file's path in the package, e.g. /bin/busybox."),
        "out": attr.string(doc = "Output file name; default: the target name."),
        "_tool": attr.label(default = Label("//oci/private/tools:deb_tool"), executable = True, cfg = "exec"),
    },
)
