"""Installs wheels for the image's platform into one deterministic layer, running no code
of the target: a wheel is a zip, and the `installer` library (what pip uses) unpacks it
into an install scheme, writes console-script launchers for the image's interpreter and
a RECORD. Nothing is imported or executed from the wheels.

Byte-code (optional, on by default) is compiled by this tool's own interpreter, which
must be the image's Python version (3.11): .pyc files do not depend on the CPU, only on
the version. They are unchecked-hash .pyc (no timestamps) and record the in-image path
(`ddir`), so tracebacks show /usr/local/lib/python3.11/dist-packages/...

The staging tree becomes a layer through the layer tool's own code (sorted, mtime 0,
identical files as hard links), so the output is byte-identical on every machine.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import py_compile
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layer_tool  # noqa: E402


class WheelLayerError(Exception):
    """A problem with the wheels, reported without a traceback."""


def install(wheels: list[str], root: Path, site: str, scripts: str, interpreter: str) -> None:
    from installer import install as installer_install
    from installer.destinations import SchemeDictionaryDestination
    from installer.sources import WheelFile

    prefix = str(Path(site).parent.parent.parent)  # /usr/local/lib/python3.11/dist-packages -> /usr/local
    schemes = {
        "purelib": str(root / site.lstrip("/")),
        "platlib": str(root / site.lstrip("/")),
        "headers": str(root / prefix.lstrip("/") / "include"),
        "scripts": str(root / scripts.lstrip("/")),
        "data": str(root / prefix.lstrip("/")),
    }
    for wheel in sorted(wheels, key=os.path.basename):
        destination = SchemeDictionaryDestination(
            schemes, interpreter=interpreter, script_kind="posix", bytecode_optimization_levels=(),
        )
        try:
            with WheelFile.open(wheel) as source:
                installer_install(source, destination, additional_metadata={"INSTALLER": b"cecaiserve-bazel\n"})
        except FileExistsError as e:
            raise WheelLayerError(f"{os.path.basename(wheel)}: {e.filename or e} is already installed by another wheel of "
                                  "this layer") from None
        except Exception as e:  # installer's errors: a broken or mislabeled wheel
            raise WheelLayerError(f"{os.path.basename(wheel)}: cannot install: {e}") from None


def compile_tree(root: Path, site: str, python_version: str) -> None:
    have = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if have != python_version:
        raise WheelLayerError(f"byte-code needs Python {python_version} (the image's), this tool runs {have}; "
                              "set compile_pyc = False or run the build with a matching interpreter")
    compileall.compile_dir(
        str(root / site.lstrip("/")), ddir=site, quiet=2, workers=1,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheel", action="append", default=[])
    parser.add_argument("--site-packages", required=True)
    parser.add_argument("--scripts", required=True)
    parser.add_argument("--interpreter", required=True)
    parser.add_argument("--python-version", required=True)
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--compress", default="gzip")
    parser.add_argument("--level", type=int, default=6)
    parser.add_argument("--out", required=True)
    parser.add_argument("--descriptor", required=True)
    parser.add_argument("--label", default="py_wheel_layer")
    args = parser.parse_args(argv)
    staging = Path(tempfile.mkdtemp(prefix="wheels_", dir=os.environ.get("TMPDIR")))
    try:
        install(args.wheel, staging, args.site_packages, args.scripts, args.interpreter)
        if args.compile:
            compile_tree(staging, args.site_packages, args.python_version)
        layout = layer_tool.Layout()
        for top in sorted(os.listdir(staging)):
            layout.add_path(top, str(staging / top), args.label)
        layout.add_parents()
        desc = layer_tool.write_layer(layout, args.out, args.compress, args.level, 0, 0, dedupe=True)
    except (WheelLayerError, layer_tool.LayerError) as e:
        print(f"{args.label}: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    with open(args.descriptor, "w") as f:
        json.dump(desc, f, sort_keys=True, separators=(",", ":"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
