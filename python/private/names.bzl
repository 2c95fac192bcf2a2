"""Name helpers shared by the hub and the distribution repositories."""

def normalize_name(name):
    """PEP 503 normalization with '_' (valid as a Bazel package and repository name).

    Mirrors python/lock/lockfile.py:normalize; the lock stores keys already normalized.
    """
    out = []
    prev_sep = False
    for c in name.lower().elems():
        if c in "-_.":
            if not prev_sep:
                out.append("_")
            prev_sep = True
        else:
            out.append(c)
            prev_sep = False
    return "".join(out)

def spoke_name(hub, key):
    """The repository that holds one distribution: @<hub>__<key>."""
    return "{}__{}".format(hub, key)
