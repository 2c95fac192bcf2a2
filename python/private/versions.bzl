"""Tools the Python repository rules themselves need, pinned (fetched before any lock is read)."""

# https://pypi.org/project/installer/ : installs a wheel the way pip does, with no pip.
INSTALLER_WHEEL = struct(
    filename = "installer-0.7.0-py3-none-any.whl",
    urls = ["https://files.pythonhosted.org/packages/e5/ca/1172b6638d52f2d6caa2dd262ec4c811ba59eee96d54a7701930726bce18/installer-0.7.0-py3-none-any.whl"],
    sha256 = "05d1933f0a5ba7d8d6296bb6d5018e7c94fa473ceb10cf198a92ccea19c27b53",
)

# The interpreter every repository rule, action and test uses (see //python:BUILD.bazel).
SYSTEM_PYTHON = "/usr/bin/python3"

# How the main repository is named from inside the generated repositories.
RULES_REPO = "cecaiserve"
