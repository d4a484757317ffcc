"""cnpg-render: CloudNativePG backup and recovery injection for rendered manifests."""

__version__ = "0.1.0"
