// OCI image layouts and their layers (issue 5; docs/container.md).
