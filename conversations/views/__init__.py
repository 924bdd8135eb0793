"""HTTP views: the widget frame and loader (widget.py), the agent workspace
(workspace.py) and the demo customer website (demo.py)."""
