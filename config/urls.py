from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import include, path
from django.views.generic import RedirectView


def healthz(request):
    """Liveness for proxies and the test harness."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    # The server's own address is for agents; customers meet Parley inside the company's website.
    path("", RedirectView.as_view(pattern_name="workspace", permanent=False)),
    path("healthz", healthz),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("conversations.urls")),
]
