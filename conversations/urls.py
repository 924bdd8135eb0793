"""HTTP pages of the conversations app: widget frame, workspace, demo website."""

from django.urls import include, path

urlpatterns = [
    path("", include("conversations.views.widget")),
    path("", include("conversations.views.loader_config")),
    path("", include("conversations.views.workspace")),
    path("", include("conversations.views.supervisors")),
    path("", include("conversations.views.demo")),
    path("", include("conversations.views.files")),
]
