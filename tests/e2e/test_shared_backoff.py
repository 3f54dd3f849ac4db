"""Slack down: one back-off for every send of the process (a circuit breaker), not each send
retrying on its own (issue 13's row "Slack down for 150 s: 3,881 posts in 150 s"). The real
server runs against a fake Slack that fails every chat.postMessage for a while."""

from __future__ import annotations

import time

from tests.e2e.test_faults import (
    TOKEN,
    USERS,
    ShakySlack,
    burst,
    serve,
    signal_event,
    thread_of,
    wait_for_offers,
)

OFFERS = 20
OUTAGE = 5.0  # seconds of 500/503 from chat.postMessage


async def test_slack_down_gets_one_paced_probe_not_every_senders_retries(tmp_path):
    async with (
        ShakySlack(bot_token=TOKEN, users=USERS) as fake,
        serve(fake, f"sqlite:///{tmp_path / 'liaison.db'}", tmp_path) as server,
    ):
        fake.storm(OUTAGE, methods=("chat.postMessage",), statuses=(500, 503))
        began = time.monotonic()
        events = [signal_event(n) for n in range(OFFERS)]
        assert await burst(server, events, retried=[]) == [200] * OFFERS
        wanted = {thread_of(e) for e in events}
        per_thread = await wait_for_offers(fake, wanted, timeout=OUTAGE + 25)
        posts = [a for a in fake.arrivals if a.method == "chat.postMessage"]
        during = [a for a in posts if a.at < began + OUTAGE]
        # Every sender's first try reaches Slack before the first failure is known; after
        # that, one probe per pause (1, 2, 4 s): without the shared breaker each of the 20
        # retried on its own, twice in the client and then 1, 2, 4 s later in the background.
        print(f"\n{len(during)} posts in {OUTAGE:g} s of Slack down, {len(posts)} in all")
        assert len(during) <= OFFERS + 8, f"{len(during)} posts while Slack was down"
        assert set(per_thread) == wanted, f"lost {len(wanted - set(per_thread))}"
        assert max(per_thread.values()) == 1, "doubled"
        async with server.http.get(f"{server.base}/metrics") as response:
            metrics = await response.text()
        assert 'liaison_breaker_opened_total{platform="slack"}' in metrics
        opened = next(
            float(line.split()[-1])
            for line in metrics.splitlines()
            if line.startswith('liaison_breaker_opened_total{platform="slack"}')
        )
        assert opened >= 1
        assert 'liaison_breaker_open{platform="slack"} 0.0' in metrics  # closed again
    log = server.tail()
    assert "circuit breaker open" in log and "circuit breaker closed" in log, log
