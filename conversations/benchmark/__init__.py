"""``chat_benchmark``: a load benchmark over real WebSockets with side-by-side anchors (docs/performance.md)."""
