import pytest

from conversations.webhooks import subscriptions


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    """Receivers run on loopback in the test process; retries come quickly."""
    settings.PARLEY_WEBHOOK_ALLOW_PRIVATE = True
    settings.PARLEY_WEBHOOK_RETRY_BASE = 0.05
    subscriptions.clear()
    yield
    subscriptions.clear()


@pytest.fixture
def receiver():
    from tests.webhooks.receiver import Receiver

    with Receiver() as running:
        yield running
