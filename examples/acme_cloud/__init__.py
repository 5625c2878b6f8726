"""A simulated third-party device cloud, "Acme": an OAuth 2.0 authorization server and a
device API, for trying and testing cloud-to-cloud connectors against thinghub.

Run it with ``python -m examples.acme_cloud --port 8790``; embed it with `create_app`.
"""

from .app import create_app
from .config import OAuthClient, Settings
from .store import AcmeStore

__all__ = ["AcmeStore", "OAuthClient", "Settings", "create_app"]
