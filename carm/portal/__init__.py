"""The CARM Client Portal: a web application over the ledger (G-R1…G-R5); `carm portal serve`."""

from .app import PortalConfig, create_app

__all__ = ["PortalConfig", "create_app"]
