"""What the widget loader on a customer's page needs from Parley: ``/widget/<public_id>/loader.json``.

The loader calls the website's token function for the frame. It calls only the
function the widget's authentication setting names, learned from the embed
snippet (``data-parley-token-function``) or, without that attribute, from this
answer; never a name the frame asks for (docs/widget.md "Sign-in").

Only the widget's allowed origins and Parley's own origin may read the answer
(CORS); it holds nothing secret, only the function's name.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, JsonResponse
from django.urls import path
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from admin_center.models import ChatWidget

from ..origins import normalise_origin
from .widget import allowed_parent_origins


@require_GET
def loader_config(request: HttpRequest, public_id: str) -> JsonResponse:
    widget = ChatWidget.objects.select_related("authentication").filter(public_id=public_id, enabled=True).first()
    if widget is None:
        raise Http404("No such chat widget.")
    setting = widget.authentication
    response = JsonResponse({"token_function": setting.javascript_function if setting else None})
    claimed = request.headers.get("Origin", "")
    origin = normalise_origin(claimed) if claimed else ""
    own = normalise_origin(f"{request.scheme}://{request.get_host()}")
    if origin and (origin == own or origin in allowed_parent_origins(widget)):
        response["Access-Control-Allow-Origin"] = origin
    patch_vary_headers(response, ["Origin"])
    response["Cache-Control"] = "no-cache"
    return response


urlpatterns = [
    path("widget/<slug:public_id>/loader.json", loader_config, name="widget-loader-config"),
]
