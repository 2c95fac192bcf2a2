"""protoc from the locked grpcio-tools wheel: the same compiler version for every user.

grpc_tools bundles protoc and the gRPC Python plugin, and its well-known .proto files
(google/protobuf/*.proto) live in the package, so the include path is added here.
"""

import os
import sys

from grpc_tools import protoc


def main() -> int:
    well_known = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    return protoc.main(["protoc", f"-I{well_known}"] + sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
