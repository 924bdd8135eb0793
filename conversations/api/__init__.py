"""The REST API at ``/api/v1/`` (Django REST framework; docs/api.md).

A thin adapter like the sockets: it authenticates the key, parses the request, asks
``conversations.actions.visibility`` what the key's user may see and calls the same actions as the
sockets for changes.
"""
