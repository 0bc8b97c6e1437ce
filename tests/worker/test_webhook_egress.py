"""Every webhook delivery re-checks where it connects (``webapp.webhooks.egress``)."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import select

from tests.support.receiver import WebhookReceiver
from webapp.extensions import db
from webapp.webhooks import delivery, events, service
from webapp.webhooks.models import WebhookAttempt


@pytest.fixture
def receiver():
    with WebhookReceiver() as server:
        yield server


def deliver_once(app, api_client, url: str) -> tuple[str, WebhookAttempt]:
    """Register ``url`` as it was at registration time (no check), then deliver one event."""
    with app.app_context():
        service.create_endpoint(api_client.id, url, ["video.completed"])
        [pending] = events.add_event(
            api_client.id, "video.completed", {"id": "video_1", "object": "video"}
        )
        db.session.commit()
        outcome = delivery.attempt_delivery(pending.id)
        attempt = db.session.scalars(select(WebhookAttempt)).one()
        db.session.expunge(attempt)
    return outcome, attempt


def rebinding_resolver(real, name: str, first: str, then: str):
    """A stand-in for a hostile DNS server (we cannot run one here): ``name`` resolves to
    ``first`` once, then to ``then``; every other name resolves normally."""
    answers = [first]

    def getaddrinfo(host, port, *args, **kwargs):
        if host != name:
            return real(host, port, *args, **kwargs)
        address = answers.pop() if answers else then
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    return getaddrinfo


class TestProductionEgress:
    @pytest.fixture
    def app_overrides(self):
        return {"WEBHOOK_ALLOW_PRIVATE": False, "WEBHOOK_TIMEOUT": 1.0}

    def test_dns_rebinding_cannot_redirect_a_delivery_to_loopback(
        self, app, api_client, receiver, monkeypatch
    ):
        """The name is public when checked and loopback a moment later: the delivery goes to
        the address that was checked (unreachable from here), never to the receiver."""
        port = receiver.url.split(":")[2].split("/")[0]
        fake = rebinding_resolver(socket.getaddrinfo, "rebind.test", "1.1.1.1", "127.0.0.1")
        monkeypatch.setattr(socket, "getaddrinfo", fake)
        outcome, attempt = deliver_once(app, api_client, f"http://rebind.test:{port}/hook")
        assert outcome == "retry"
        assert receiver.requests == []
        assert attempt.status_code is None
        assert "Connect" in attempt.error or "Timeout" in attempt.error, attempt.error

    def test_an_endpoint_now_resolving_to_loopback_is_refused_without_a_connection(
        self, app, api_client, receiver
    ):
        """As after DNS rebinding: the URL passed at registration, it is private now."""
        outcome, attempt = deliver_once(
            app, api_client, receiver.url.replace("127.0.0.1", "localhost")
        )
        assert outcome == "retry"
        assert receiver.requests == [], "no request reached the private address"
        assert attempt.status_code is None
        assert "private or loopback" in attempt.error


def test_a_delivery_connects_to_the_checked_address_and_keeps_the_name(app, api_client, receiver):
    url = receiver.url.replace("127.0.0.1", "localhost")
    outcome, attempt = deliver_once(app, api_client, url)
    assert outcome == "succeeded"
    assert attempt.status_code == 200
    [(headers, _, _)] = receiver.requests
    assert headers["Host"] == url.split("/")[2], "the name, not the address, in Host"
    assert headers["Webhook-Id"].startswith("msg_")


def test_an_unresolvable_host_is_an_attempt_that_failed(app, api_client):
    outcome, attempt = deliver_once(app, api_client, "http://no-such-host.invalid/hook")
    assert outcome == "retry"
    assert "does not resolve" in attempt.error
