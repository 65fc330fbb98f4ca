"""FastAPI helpers every app's interface layer shares.

``schemas.py`` (shared request/response pieces), ``injection.py`` (the
awaitable ``Provided`` marker), ``operations.py`` (``/health``, ``/metrics``).
"""
