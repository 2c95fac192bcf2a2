#!/bin/sh
# Coverage is not supported offline: Bazel 4.2.3 would download the real tools.
echo "bazel coverage is not supported in this workspace (offline stub of @remote_coverage_tools)" >&2
exit 0
