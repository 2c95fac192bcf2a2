"""The mirror lines of apt's configuration, with the cases //tests/oci:apt_sources_test
checks for the Starlark twin (oci/private/apt_sources.bzl)."""

import unittest

from apt_sources import deb822_mirrors, sources_list_mirrors

DEB822 = """Types: deb
URIs: http://deb.example/debian http://second.example/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://deb.example/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
"""

SOURCES_LIST = """# a comment
deb http://plain.example/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://options.example/debian bookworm main
deb [trusted=yes] http://one-option.example/debian bookworm main
deb http://security.example/debian-security bookworm-security main
deb-src http://src.example/debian bookworm main
deb [arch=amd64
deb http://short.example
"""


class AptSourcesTest(unittest.TestCase):
    def test_deb822(self) -> None:
        self.assertEqual(deb822_mirrors(DEB822), ["http://deb.example/debian", "http://second.example/debian"])

    def test_sources_list_skips_options_in_brackets(self) -> None:
        self.assertEqual(sources_list_mirrors(SOURCES_LIST), [
            "http://plain.example/debian",
            "http://options.example/debian",
            "http://one-option.example/debian",
        ])


if __name__ == "__main__":
    unittest.main()
