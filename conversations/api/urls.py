"""``/api/v1/`` (mounted by config/urls.py)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from . import views

urlpatterns = [
    path("", views.Root.as_view(), name="api-root"),
    path("conversations/", views.ConversationList.as_view(), name="api-conversations"),
    path("conversations/<str:conversation_id>/", views.ConversationDetail.as_view(), name="api-conversation"),
    path(
        "conversations/<str:conversation_id>/messages/",
        views.ConversationMessages.as_view(),
        name="api-conversation-messages",
    ),
    path("customers/<str:customer_id>/", views.CustomerDetail.as_view(), name="api-customer"),
    path("reports/", views.Reports.as_view(), name="api-reports"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
]
