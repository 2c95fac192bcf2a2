"""Debian archive indexes: Packages stanzas, dependency fields, and a resolver.

Used by `bazel run //oci/debian:lock` (lock.py) to turn a list of root packages into
the complete, pinned set a root filesystem needs, per architecture, without apt or dpkg.

Resolution, per architecture, in a fixed order so the lock is reproducible:
- Pre-Depends and Depends are followed (Recommends and Suggests are not: a minimal
  image installs what is required, as `apt-get install --no-install-recommends` does);
- a clause `a | b` is satisfied by any alternative already chosen, else by the first
  alternative that exists and is not excluded;
- a virtual name (Provides) resolves to a chosen provider, else to the only provider,
  else to the first provider by name (reported, so the choice is visible in the log);
- excluded packages are never chosen; a clause left with no installable alternative
  because of an exclusion is dropped and recorded in the lock (`dropped`), so the
  omission is reviewable (one with no installable alternative otherwise is an error);
- Essential packages are not added implicitly (Debian packages do not declare a
  dependency on them); a root filesystem that needs one lists it as a root.
Version constraints are not checked: one suite's index holds one version of each name.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Iterable, Optional


class IndexError_(Exception):
    """A problem with the index or the package list, phrased for the person who must fix it."""


def parse_stanzas(text: str) -> list[dict[str, str]]:
    """deb822 stanzas (Packages, status, control files) as dicts; continuation lines kept."""
    out: list[dict[str, str]] = []
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if not line or line.startswith("#"):
                continue
            if line[0] in " \t" and key is not None:
                fields[key] += "\n" + line
                continue
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        if fields:
            out.append(fields)
    return out


_ATOM = re.compile(r"^\s*([a-z0-9][a-z0-9+.\-]*)(?::[a-z0-9\-]+)?\s*(\([^)]*\))?\s*(\[[^\]]*\])?\s*(<[^>]*>\s*)*$")


def parse_depends(field: str) -> list[list[str]]:
    """'a (>= 1) | b, c:any' -> [['a', 'b'], ['c']]: clauses of alternative package names."""
    clauses = []
    for clause in field.split(","):
        clause = clause.strip()
        if not clause:
            continue
        alternatives = []
        for alt in clause.split("|"):
            match = _ATOM.match(alt)
            if not match:
                raise IndexError_(f"cannot parse dependency {alt.strip()!r}")
            alternatives.append(match.group(1))
        clauses.append(alternatives)
    return clauses


def parse_provides(field: str) -> list[str]:
    return [alts[0] for alts in parse_depends(field)]


@dataclasses.dataclass
class Package:
    name: str
    version: str
    architecture: str
    filename: str
    sha256: str
    size: int
    depends: list[list[str]]
    provides: list[str]
    essential: bool

    @classmethod
    def from_stanza(cls, s: dict[str, str]) -> "Package":
        depends = parse_depends(s.get("Pre-Depends", "")) + parse_depends(s.get("Depends", ""))
        return cls(
            name=s["Package"],
            version=s["Version"],
            architecture=s["Architecture"],
            filename=s["Filename"],
            sha256=s["SHA256"],
            size=int(s["Size"]),
            depends=depends,
            provides=parse_provides(s.get("Provides", "")),
            essential=s.get("Essential", "no") == "yes",
        )

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "architecture": self.architecture,
            "filename": self.filename,
            "sha256": self.sha256,
            "size": self.size,
        }


class Index:
    """One architecture's Packages index: real packages by name and providers by virtual name."""

    def __init__(self, stanzas: Iterable[dict[str, str]]) -> None:
        self.packages: dict[str, Package] = {}
        self.providers: dict[str, list[str]] = {}
        for s in stanzas:
            if "Package" not in s or "Filename" not in s:
                continue
            pkg = Package.from_stanza(s)
            old = self.packages.get(pkg.name)
            # An index lists one version per name; if not, keep the first, as apt's
            # candidate from a single source would be (and the lock shows which).
            if old is None:
                self.packages[pkg.name] = pkg
        for pkg in self.packages.values():
            for virtual in pkg.provides:
                self.providers.setdefault(virtual, []).append(pkg.name)
        for names in self.providers.values():
            names.sort()


@dataclasses.dataclass
class Resolution:
    packages: list[Package]
    dropped: list[str]  # "pkg: a | b (all excluded)"
    notes: list[str]


def resolve(index: Index, roots: list[str], excluded: Iterable[str]) -> Resolution:
    excluded = set(excluded)
    chosen: dict[str, Package] = {}
    provided: dict[str, str] = {}  # virtual name -> chosen package providing it
    dropped: list[str] = []
    notes: list[str] = []
    queue: list[str] = []

    def choose(name: str) -> None:
        if name in chosen:
            return
        pkg = index.packages[name]
        chosen[name] = pkg
        for virtual in pkg.provides:
            provided.setdefault(virtual, name)
        queue.append(name)

    def satisfied(alt: str) -> bool:
        return alt in chosen or alt in provided

    def candidate(alt: str, who: str) -> Optional[str]:
        if alt in excluded:
            return None
        if alt in index.packages:
            return alt
        providers = [p for p in index.providers.get(alt, []) if p not in excluded]
        if not providers:
            return None
        if len(providers) > 1:
            notes.append(f"{who}: virtual {alt} has providers {', '.join(providers)}; chose {providers[0]}")
        return providers[0]

    for root in roots:
        if root in excluded:
            raise IndexError_(f"{root} is both a root and excluded")
        if root not in index.packages:
            raise IndexError_(f"root package {root} is not in the index (a typo, or another suite/component?)")
        choose(root)
    while queue:
        name = queue.pop(0)
        for clause in chosen[name].depends:
            if any(satisfied(alt) for alt in clause):
                continue
            pick = None
            for alt in clause:
                pick = candidate(alt, name)
                if pick:
                    break
            if pick is None:
                if any(alt in excluded or any(p in excluded for p in index.providers.get(alt, [])) for alt in clause):
                    dropped.append(f"{name}: {' | '.join(clause)}")
                    continue
                raise IndexError_(f"{name} needs {' | '.join(clause)}, which no package in the index provides")
            choose(pick)
    return Resolution(sorted(chosen.values(), key=lambda p: p.name), sorted(set(dropped)), notes)


@dataclasses.dataclass
class PackageList:
    """The lock's input file (oci/debian/*.packages)."""

    suite: str
    components: list[str]
    architectures: list[str]
    roots: list[str]
    excluded: dict[str, str]  # name -> why


def parse_package_list(text: str, path: str = "packages") -> PackageList:
    """Lines: `suite: X`, `components: a b`, `architectures: a b`, a root package name,
    or `-name  # why` for a package never to install. `#` starts a comment."""
    settings: dict[str, str] = {}
    roots: list[str] = []
    excluded: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line, _, comment = raw.partition("#")
        line = line.strip()
        if not line:
            continue
        if ":" in line:
            key, _, value = line.partition(":")
            settings[key.strip()] = value.strip()
        elif line.startswith("-"):
            name = line[1:].strip()
            if not comment.strip():
                raise IndexError_(f"{path}:{number}: say why {name} is excluded, in a # comment")
            excluded[name] = comment.strip()
        elif re.fullmatch(r"[a-z0-9][a-z0-9+.\-]*", line):
            if line in roots:
                raise IndexError_(f"{path}:{number}: {line} is listed twice")
            roots.append(line)
        else:
            raise IndexError_(f"{path}:{number}: cannot read {raw!r}")
    for key in ("suite", "components", "architectures"):
        if key not in settings:
            raise IndexError_(f"{path}: no `{key}:` line")
    return PackageList(settings["suite"], settings["components"].split(), settings["architectures"].split(),
                       roots, excluded)
