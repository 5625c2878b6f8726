"""Examples for thinghub: a simulated vendor cloud ("Acme") and a reference C2C connector for it.

See examples/README.md.
"""
