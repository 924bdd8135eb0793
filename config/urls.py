from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from conversations.views import operations

urlpatterns = [
    # The server's own address is for agents; customers meet Parley inside the company's website.
    path("", RedirectView.as_view(pattern_name="workspace", permanent=False)),
    path("healthz", operations.healthz),  # liveness, readiness and Prometheus (docs/operations.md)
    path("readyz", operations.readyz),
    path("metrics", operations.metrics_view),
    path("admin/", admin.site.urls),
    path("api/v1/", include("conversations.api.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("conversations.urls")),
]
