"""Pages for supervisors and administrators (``routing.supervise``, docs/security.md): the live dashboard
at /workspace/supervisor/ (its data comes over ``/ws/supervisor/``) and the reports at /workspace/reports/
with their CSV export. The figures come from ``conversations.reports``; these views parse the filters,
check the permission and render.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from routing.models import Queue

from .. import charts, reports
from ..actions import supervision
from ..errors import ServiceError

CSV_TABLES = ("by_day", "daily", "by_queue", "times", "waits", "ratings", "agents")


def supervisor_required(view):
    """Supervisors and administrators only: anonymous users go to the sign-in page, everyone else gets
    a 403 page that says why."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not supervision.is_supervisor(request.user):
            return render(request, "supervisors/not_supervisor.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _parse_date(value: str | None, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise reports.ReportError(_("Dates are written YYYY-MM-DD, for example 2026-03-31.")) from None


def _filters(request: HttpRequest) -> reports.Filters:
    today = timezone.localdate()
    start = _parse_date(request.GET.get("start"), today - timedelta(days=6))
    end = _parse_date(request.GET.get("end"), today)
    try:
        queue_ids = tuple(sorted({int(value) for value in request.GET.getlist("queue") if value}))
    except ValueError:
        raise reports.ReportError(_("Choose queues from the list.")) from None
    return reports.Filters(start, end, queue_ids)


@require_GET
@never_cache
@supervisor_required
def reports_page(request: HttpRequest) -> HttpResponse:
    queues = list(Queue.objects.order_by("name").values_list("pk", "name"))
    context = {
        "queues": queues,
        "start": request.GET.get("start", ""),
        "end": request.GET.get("end", ""),
        "chosen": request.GET.getlist("queue"),
    }
    try:
        filters = _filters(request)
    except reports.ReportError as error:
        return render(request, "supervisors/reports.html", {**context, "error": str(error)}, status=400)
    data = reports.report(filters)
    if request.GET.get("format") == "csv":
        return _csv(data, request.GET.get("table", ""), filters)
    context.update(
        start=filters.start.isoformat(),
        end=filters.end.isoformat(),
        chosen=[str(q) for q in filters.queue_ids],
        data=data,
        charts=_charts(data),
        query=request.GET.urlencode(),
    )
    return render(request, "supervisors/reports.html", context)


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _charts(data: dict) -> dict:
    days = [row["day"].isoformat() for row in data["by_day"]]
    empty = _("No data in this range.")
    times = data["times"]["queues"]
    return {
        "by_day": charts.line_chart(
            _("Conversations by day"),
            days,
            [
                (_("Created"), [row["created"] for row in data["by_day"]]),
                (_("Answered"), [row["answered"] for row in data["by_day"]]),
                (_("Abandoned"), [row["abandoned"] for row in data["by_day"]]),
                (_("Closed"), [row["closed"] for row in data["by_day"]]),
            ],
            empty=empty,
        ),
        "by_queue": charts.bar_chart(
            _("Conversations by queue"),
            [row["queue"] for row in data["by_queue"]],
            [
                (_("Created"), [row["created"] for row in data["by_queue"]]),
                (_("Answered"), [row["answered"] for row in data["by_queue"]]),
                (_("Abandoned"), [row["abandoned"] for row in data["by_queue"]]),
            ],
            empty=empty,
        ),
        "times": charts.bar_chart(
            _("Response and resolution times (minutes)"),
            [row["queue"] for row in times],
            [
                (_("First response, median"), [_minutes(row["first_response"]["median"]) for row in times]),
                (_("First response, 90%"), [_minutes(row["first_response"]["p90"]) for row in times]),
                (_("Resolution, median"), [_minutes(row["resolution"]["median"]) for row in times]),
                (_("Resolution, 90%"), [_minutes(row["resolution"]["p90"]) for row in times]),
            ],
            empty=empty,
        ),
        "waits": charts.bar_chart(
            _("Waiting time before an agent joined"),
            [row["bucket"] for row in data["waits"]],
            [(_("Conversations"), [row["count"] for row in data["waits"]])],
            empty=empty,
        ),
        "ratings": charts.bar_chart(
            _("Ratings"),
            [f"{row['score']} ★" for row in data["ratings"]["scores"]],
            [(_("Ratings"), [row["count"] for row in data["ratings"]["scores"]])],
            empty=empty,
        ),
        "agents": charts.bar_chart(
            _("Conversations handled by agent"),
            [row["agent"] for row in data["agents"]],
            [(_("Handled"), [row["handled"] for row in data["agents"]])],
            empty=empty,
        ),
    }


def _cell(value) -> str:
    """A CSV cell; text that a spreadsheet would take for a formula is quoted with an apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


COUNTS = ["created", "answered", "abandoned", "closed"]


def _times_row(name: str, times: dict) -> list:
    first, resolution = times["first_response"], times["resolution"]
    return [name, first["count"], first["median"], first["p90"], resolution["count"], resolution["median"],
            resolution["p90"]]  # fmt: skip


def _rows(data: dict, table: str) -> tuple[list[str], list[list]]:
    """The header and rows of one of ``CSV_TABLES``."""
    if table == "by_day":
        return ["day", *COUNTS], [[r["day"], *(r[c] for c in COUNTS)] for r in data["by_day"]]
    if table == "daily":
        return ["day", "queue", *COUNTS], [[r["day"], r["queue"], *(r[c] for c in COUNTS)] for r in data["daily"]]
    if table == "by_queue":
        return ["queue", *COUNTS], [[r["queue"], *(r[c] for c in COUNTS)] for r in data["by_queue"]]
    if table == "times":
        header = ["queue", "first_response_count", "first_response_median_seconds", "first_response_p90_seconds",
                  "resolution_count", "resolution_median_seconds", "resolution_p90_seconds"]  # fmt: skip
        rows = [_times_row(r["queue"], r) for r in data["times"]["queues"]]
        return header, [*rows, _times_row(_("All queues"), data["times"]["overall"])]
    if table == "waits":
        return ["waiting_time", "conversations"], [[r["bucket"], r["count"]] for r in data["waits"]]
    if table == "ratings":
        rows = [[r["queue"], r["average"], r["count"]] for r in data["ratings"]["queues"]]
        overall = data["ratings"]["overall"]
        return ["queue", "average_score", "ratings"], [*rows, [_("All queues"), overall["average"], overall["count"]]]
    header = ["agent", "handled", "messages", "average_handling_seconds"]
    return header, [[r["agent"], r["handled"], r["messages"], r["average_handling_seconds"]] for r in data["agents"]]


def _csv(data: dict, table: str, filters: reports.Filters) -> HttpResponse:
    if table not in CSV_TABLES:
        return HttpResponse(
            _("Choose a table: %(tables)s.") % {"tables": ", ".join(CSV_TABLES)},
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    header, rows = _rows(data, table)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"parley-{table}-{filters.start.isoformat()}-{filters.end.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return response


def dashboard_strings() -> dict[str, str]:
    """Every string dashboard.js shows, translated into the request's language."""
    return {
        "connected": _("Connected"),
        "connecting": _("Connecting…"),
        "reconnecting": _("Reconnecting…"),
        "available": _("Available"),
        "busy": _("Busy"),
        "away": _("Away"),
        "offline": _("Offline"),
        "open": _("Open"),
        "active": _("Active"),
        "waiting": _("Waiting"),
        "wrap_up": _("Wrap-up"),
        "closed": _("Closed"),
        "no_queues": _("No queues yet."),
        "no_agents": _("No agents yet."),
        "watch": _("Watch"),
        "watching": _("Watching"),
        "stop_watching": _("Stop watching"),
        "transfer": _("Transfer"),
        "transfer_to_agent": _("To agent"),
        "transfer_to_queue": _("To queue"),
        "transfer_done": _("Transferred."),
        "set_presence": _("Set presence"),
        "presence_set": _("Presence changed."),
        "conversation_id": _("Conversation id"),
        "no_messages": _("No messages yet."),
        "read_only": _("Read-only: you watch this conversation; the agent answers."),
        "error": _("Error"),
        "seconds": _("%(n)s s"),
        "minutes": _("%(m)s min %(s)s s"),
        "hours": _("%(h)s h %(m)s min"),
        "capacity": _("%(used)s of %(total)s"),
        "customer_role": _("Customer"),
        "system_role": _("System"),
        "show": _("Conversations"),
        "list_of_queue": _("Conversations in queue %(name)s"),
        "list_of_agent": _("Conversations of %(name)s"),
        "list_empty": _("No open, active or waiting conversations."),
        "list_more": _("Only the first 100 are shown."),
        "customer": _("Customer"),
        "state": _("State"),
        "agent": _("Agent"),
        "since": _("In line since"),
        "nobody": _("nobody yet"),
        "note": _("Note"),
        "choose_target": _("Choose an agent or a queue."),
    }


@require_GET
@never_cache
@supervisor_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "supervisors/dashboard.html",
        {
            "ui_strings": dashboard_strings(),
            "sv_config": {
                "socket_path": "/ws/supervisor/",
                "presences": ["available", "busy", "away", "offline"],
                "list_url": reverse("supervisor-conversations"),
            },
        },
    )


@require_GET
@never_cache
def conversation_list(request: HttpRequest) -> HttpResponse:
    """JSON for the dashboard: the non-closed conversations of ``?queue=<id>`` or ``?agent=<id>``."""
    if not request.user.is_authenticated:
        return JsonResponse({"type": "error", "code": "auth_required", "message": _("Sign in first.")}, status=401)
    try:
        data = supervision.conversation_list(
            request.user.pk, queue_id=request.GET.get("queue"), agent_id=request.GET.get("agent")
        )
    except ServiceError as error:
        status = 403 if error.code == "not_allowed" else 400
        return JsonResponse({"type": "error", "code": error.code, "message": error.message}, status=status)
    return JsonResponse(data)


urlpatterns = [
    path("workspace/supervisor/", dashboard, name="supervisor-dashboard"),
    path("workspace/supervisor/api/conversations/", conversation_list, name="supervisor-conversations"),
    path("workspace/reports/", reports_page, name="reports"),
]
