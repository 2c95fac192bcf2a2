"""Providers shared by the OCI rules."""

OciLayerInfo = provider(
    doc = "One layer, already hashed by the action that wrote it.",
    fields = {
        "blob": "File: the layer blob (.tar.gz or .tar)",
        "descriptor": "File: JSON {mediaType, digest, size, diff_id}",
    },
)

OciImageInfo = provider(
    doc = "An OCI image layout directory and its manifest (or index) digest.",
    fields = {
        "layout": "File (directory): oci-layout, index.json, blobs/sha256/...",
        "digest": "File: the manifest (or index) digest, 'sha256:<hex>\\n'",
    },
)
