"""The Debian index parser and resolver on a small made-up index (no network)."""

import unittest

import debindex

INDEX = """\
Package: app
Version: 1.0
Architecture: amd64
Pre-Depends: libc6 (>= 2.34)
Depends: libssl3 | libssl-compat, awk, conf-tool (>= 1) | debconf-2.0, helper:any
Filename: pool/main/a/app/app_1.0_amd64.deb
SHA256: aa
Size: 10

Package: libc6
Version: 2.36
Architecture: amd64
Depends: libgcc-s1
Filename: pool/main/g/glibc/libc6_2.36_amd64.deb
SHA256: bb
Size: 20

Package: libgcc-s1
Version: 12
Architecture: amd64
Depends: libc6
Filename: pool/main/g/gcc/libgcc-s1_12_amd64.deb
SHA256: cc
Size: 30

Package: libssl3
Version: 3.0
Architecture: amd64
Filename: pool/main/o/openssl/libssl3_3.0_amd64.deb
SHA256: dd
Size: 40

Package: mawk
Version: 1.3
Architecture: amd64
Provides: awk
Filename: pool/main/m/mawk/mawk_1.3_amd64.deb
SHA256: ee
Size: 50

Package: gawk
Version: 5
Architecture: amd64
Provides: awk
Filename: pool/main/g/gawk/gawk_5_amd64.deb
SHA256: ff
Size: 60

Package: debconf
Version: 1.5
Architecture: all
Provides: debconf-2.0
Depends: perl-base
Filename: pool/main/d/debconf/debconf_1.5_all.deb
SHA256: 11
Size: 70

Package: helper
Version: 2
Architecture: all
Multi-Arch: foreign
Description: two lines
 of description
Filename: pool/main/h/helper/helper_2_all.deb
SHA256: 22
Size: 80
"""


def index() -> debindex.Index:
    return debindex.Index(debindex.parse_stanzas(INDEX))


class DebIndexTest(unittest.TestCase):
    def test_parse_depends(self) -> None:
        self.assertEqual(
            debindex.parse_depends("a (>= 1) | b:any, c [amd64], d <!nocheck>"),
            [["a", "b"], ["c"], ["d"]],
        )
        with self.assertRaises(debindex.IndexError_):
            debindex.parse_depends("Bad Name")

    def test_stanza_continuation(self) -> None:
        helper = [s for s in debindex.parse_stanzas(INDEX) if s["Package"] == "helper"][0]
        self.assertEqual(helper["Description"], "two lines\n of description")

    def test_resolve(self) -> None:
        r = debindex.resolve(index(), ["app"], {"debconf": "prompts", "debconf-2.0": "virtual"})
        names = [p.name for p in r.packages]
        # Pre-Depends and Depends followed, cycles fine, first existing alternative,
        # a virtual name resolved to its first provider by name (gawk < mawk), :any ignored.
        self.assertEqual(names, ["app", "gawk", "helper", "libc6", "libgcc-s1", "libssl3"])
        self.assertEqual(r.dropped, ["app: conf-tool | debconf-2.0"])
        self.assertEqual(r.notes, ["app: virtual awk has providers gawk, mawk; chose gawk"])
        self.assertEqual(r.packages[0].to_json(), {
            "name": "app", "version": "1.0", "architecture": "amd64",
            "filename": "pool/main/a/app/app_1.0_amd64.deb", "sha256": "aa", "size": 10,
        })

    def test_excluded_provider_and_chosen_provider(self) -> None:
        # Excluding gawk leaves mawk; a provider already chosen as a root satisfies the clause.
        r = debindex.resolve(index(), ["app"], {"gawk": "x", "debconf": "x"})
        self.assertIn("mawk", [p.name for p in r.packages])
        r = debindex.resolve(index(), ["mawk", "app"], {"debconf": "x"})
        self.assertNotIn("gawk", [p.name for p in r.packages])

    def test_unsatisfiable_names_the_package(self) -> None:
        bad = debindex.Index(debindex.parse_stanzas(INDEX + "\nPackage: x\nVersion: 1\nArchitecture: all\n"
                                                    "Depends: nowhere\nFilename: f\nSHA256: 0\nSize: 1\n"))
        with self.assertRaisesRegex(debindex.IndexError_, "x needs nowhere"):
            debindex.resolve(bad, ["x"], {})
        with self.assertRaisesRegex(debindex.IndexError_, "root package typo"):
            debindex.resolve(index(), ["typo"], {})

    def test_package_list(self) -> None:
        plist = debindex.parse_package_list(
            "suite: bookworm\ncomponents: main\narchitectures: amd64 arm64\n\n# c\npython3.11-minimal\nlibstdc++6\n"
            "-debconf   # only maintainer scripts use it\n"
        )
        self.assertEqual(plist.roots, ["python3.11-minimal", "libstdc++6"])
        self.assertEqual(plist.excluded, {"debconf": "only maintainer scripts use it"})
        self.assertEqual(plist.architectures, ["amd64", "arm64"])
        with self.assertRaisesRegex(debindex.IndexError_, "say why debconf is excluded"):
            debindex.parse_package_list("suite: a\ncomponents: b\narchitectures: c\n-debconf\n")


if __name__ == "__main__":
    unittest.main()
