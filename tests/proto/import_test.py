"""Stubs of a proto that imports another package's proto: protoc found the import in the
sandbox (py_grpc_library's deps), and the generated modules import each other."""

import unittest

from proto.cecaiserve.v1 import inference_pb2
from tests.proto import echo_pb2, echo_pb2_grpc


class ImportTest(unittest.TestCase):
    def test_imported_messages(self) -> None:
        wrapped = echo_pb2.Wrapped(usage=inference_pb2.Usage(prompt_tokens=3))
        again = echo_pb2.Wrapped.FromString(wrapped.SerializeToString())
        self.assertEqual(again.usage.prompt_tokens, 3)
        method = echo_pb2.DESCRIPTOR.services_by_name["Echo"].methods_by_name["Info"]
        self.assertEqual(method.output_type.full_name, "cecaiserve.v1.ModelInfo")
        self.assertTrue(hasattr(echo_pb2_grpc, "EchoStub"))


if __name__ == "__main__":
    unittest.main()
