"""The reports page /workspace/reports/ and its CSV export, and who may open the supervisor pages."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model

from tests import factories
from tests.supervisors.support import make_supervisor
from tests.supervisors.test_reports import history  # noqa: F401 - the hand-made history fixture

pytestmark = pytest.mark.django_db

RANGE = {"start": "2026-03-02", "end": "2026-03-03"}


@pytest.mark.parametrize("url", ["/workspace/reports/", "/workspace/supervisor/"])
def test_plain_agents_get_a_page_that_says_why_and_anonymous_users_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(factories.make_agent("alice").user)
    response = client.get(url)
    assert response.status_code == 403
    assert "supervisor permission" in response.content.decode()


@pytest.mark.parametrize("url", ["/workspace/reports/", "/workspace/supervisor/"])
def test_supervisors_and_administrators_open_the_supervisor_pages(client, url):
    client.force_login(make_supervisor("sam"))
    assert client.get(url).status_code == 200
    client.force_login(get_user_model().objects.create_superuser("ada", password="pw-ada"))
    assert client.get(url).status_code == 200


def test_the_page_shows_each_table_beside_its_chart(client, history):  # noqa: F811
    client.force_login(make_supervisor("sam"))
    page = client.get("/workspace/reports/", RANGE).content.decode()
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg"') == 6
    assert page.count('class="rp-table"') == 6
    assert "<td>Billing</td><td>3</td><td>2</td><td>1</td><td>3</td>" in page
    assert "<td>Alice</td><td>2</td><td>3</td><td>16 min 50 s</td>" in page  # (540 + 1480) / 2 = 1010 s


def test_queue_filter_narrows_the_report(client, history):  # noqa: F811
    client.force_login(make_supervisor("sam"))
    page = client.get("/workspace/reports/", {**RANGE, "queue": [history.delivery.pk]}).content.decode()
    assert "<td>Delivery</td>" in page and "<td>Billing</td>" not in page


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-03-03", "end": "2026-03-02"}, "The start date is after the end date."),
        ({"start": "2025-01-01", "end": "2026-01-02"}, "A report covers at most one year"),
        ({"start": "03/02/2026", "end": "2026-03-03"}, "Dates are written YYYY-MM-DD"),
        ({**RANGE, "queue": "billing"}, "Choose queues from the list."),
    ],
)
def test_bad_filters_are_refused_with_a_clear_message(client, params, message):
    client.force_login(make_supervisor("sam"))
    response = client.get("/workspace/reports/", params)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "<svg" not in response.content.decode()


def test_csv_export_of_a_table(client, history):  # noqa: F811
    client.force_login(make_supervisor("sam"))
    response = client.get("/workspace/reports/", {**RANGE, "format": "csv", "table": "times"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="parley-times-2026-03-02-2026-03-03.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["queue", "first_response_count", "first_response_median_seconds"]
    assert rows[1] == ["Billing", "2", "50.0", "120.0", "2", "600.0", "1200.0"]
    assert rows[-1] == ["All queues", "3", "120.0", "600.0", "3", "1200.0", "5400.0"]
    unknown = client.get("/workspace/reports/", {**RANGE, "format": "csv", "table": "secrets"})
    assert unknown.status_code == 400


def test_csv_cells_cannot_start_a_spreadsheet_formula(client, history):  # noqa: F811
    history.billing.name = "=HYPERLINK(1)"
    history.billing.save()
    client.force_login(make_supervisor("sam"))
    response = client.get("/workspace/reports/", {**RANGE, "format": "csv", "table": "by_queue"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert ["'=HYPERLINK(1)", "3", "2", "1", "3"] in rows


def test_the_workspace_links_to_the_dashboard_for_agents_who_supervise(client):
    client.force_login(factories.make_agent("alice").user)
    assert 'href="/workspace/supervisor/"' not in client.get("/workspace/").content.decode()
    client.force_login(make_supervisor("sam", agent=True))
    assert 'href="/workspace/supervisor/"' in client.get("/workspace/").content.decode()
