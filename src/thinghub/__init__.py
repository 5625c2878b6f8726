"""thinghub: a self-hosted device hub, wire-compatible with two AWS IoT APIs."""

__version__ = "0.1.0"
