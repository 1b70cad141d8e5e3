"""The fault tests reuse the end-to-end peers: the reference server with trustme TLS and a
client connected to it."""

from tests.e2e.conftest import certificates, cloud, online_client  # noqa: F401
