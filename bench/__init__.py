"""The benchmarks (docs/performance.md): ``manage.py chat_benchmark`` and ``manage.py routing_benchmark``,
the benchmark-only WebSocket routes, and the server launcher and sign-in helper the test suite shares.

Installed (``config/settings.py``) only when ``PARLEY_BENCHMARK_ROUTES`` is on, and for the process of
its own two commands, which start their servers with the routes on. Never in production.
"""
