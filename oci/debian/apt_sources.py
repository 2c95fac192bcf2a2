"""Which Debian mirrors a machine's apt configuration names (as //oci/private:apt_sources.bzl
reads them for debian_deb): the lock tool and the repository rule use the same mirror."""

from __future__ import annotations

import re


def deb822_mirrors(text: str) -> list[str]:
    """The URIs of the `deb` stanzas of a .sources file whose suites are not -security."""
    found: list[str] = []
    for stanza in text.split("\n\n"):
        uris = re.findall(r"^URIs:\s*(.+)$", stanza, re.M)
        suites = re.findall(r"^Suites:\s*(.+)$", stanza, re.M)
        types = re.findall(r"^Types:\s*(.+)$", stanza, re.M)
        if not uris or any("security" in s for s in suites):
            continue
        if types and "deb" not in types[0].split():
            continue  # a deb-src stanza
        found.extend(uris[0].split())
    return found


def sources_list_mirrors(text: str) -> list[str]:
    """The URIs of the one-line `deb` entries of a sources.list that are not -security.

    Options in brackets before the URI (`deb [arch=amd64 signed-by=/x.gpg] URI suite ...`)
    are skipped, however many words they span.
    """
    found: list[str] = []
    for line in text.splitlines():
        words = line.split()
        if len(words) < 3 or words[0] != "deb" or "security" in line:
            continue
        uri = 1
        if words[1].startswith("["):
            closing = [i for i, w in enumerate(words) if i >= 1 and w.endswith("]")]
            uri = closing[0] + 1 if closing else len(words)
        if uri < len(words):
            found.append(words[uri])
    return found
