"""Behaviour every DedupeStore must have; run on MemoryDedupe (unit) and RedisDedupe
(integration) by subclassing :class:`DedupeContract` and providing a ``backend``."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Protocol

from newsalert.dedupe import (
    AlertKey,
    ClaimRequest,
    DedupeConfig,
    DedupeStore,
    FingerprintParams,
    claim_alert_id,
    story_id_for,
)
from newsalert.models import Article, alert_id
from tests.unit.dedupe.texts import (
    BRIEFS,
    DAY,
    HOUR,
    OTHER_STORY,
    OUTLET_WRAP,
    STORY,
    T0,
    article,
    syndicated,
)


class Backend(Protocol):
    """Creates stores that share one backend (one Redis namespace or one memory store)."""

    def new(self, config: DedupeConfig | None = None) -> DedupeStore:
        """A store on a fresh, empty namespace."""
        ...

    def peer(self, store: DedupeStore) -> DedupeStore:
        """A second store (another matcher replica) on ``store``'s namespace."""
        ...


async def publish_and_commit(store: DedupeStore, art: Article, rules: list[str]) -> list[bool]:
    """Run one article through the store as the matcher does; returns the ``send`` flags."""
    verdict = await store.check_article(art, art.published_at or T0)
    if verdict.duplicate:
        return []
    claims = await store.claim_alerts(
        verdict.story_id, rules, verdict.event_time, DAY, owner=verdict.token
    )
    await store.commit(verdict, claims)
    return [claim.send for claim in claims]


class DedupeContract:
    """The guarantees of the dedupe port. Subclasses provide the ``backend`` fixture."""

    async def test_new_article_starts_its_own_story(self, backend: Backend) -> None:
        store = backend.new()
        art = article("a1", STORY)
        verdict = await store.check_article(art, T0)
        assert not verdict.duplicate
        assert verdict.reason is None
        assert verdict.story_id == story_id_for(art)
        claims = await store.claim_alerts(verdict.story_id, ["r1", "r2", "r1"], T0, DAY)
        assert [(c.rule_id, c.send, c.duplicates_folded) for c in claims] == [
            ("r1", True, 0),
            ("r2", True, 0),
        ]
        assert claims[0].alert_id == alert_id("r1", verdict.story_id)

    async def test_exact_repeat_is_a_duplicate_only_once_committed(self, backend: Backend) -> None:
        store = backend.new()
        art = article("a1", STORY, url="https://news.example/a1")
        first = await store.check_article(art, T0)
        in_flight = await store.check_article(art, T0)
        assert not in_flight.duplicate, "a pending mark must never make a copy a duplicate"
        assert in_flight.story_id == first.story_id
        assert in_flight.reason == "copy-in-flight"
        await store.commit(first, [])
        again = await store.check_article(art, T0 + HOUR)
        assert again.duplicate
        assert again.reason == "same-id"
        assert again.story_id == first.story_id

    async def test_url_variants_are_exact_copies(self, backend: Backend) -> None:
        store = backend.new()
        first = article("a1", STORY, url="https://www.news.example/world/pier/")
        verdict = await store.check_article(first, T0)
        await store.commit(verdict, [])
        variant = article(
            "other-id",
            OTHER_STORY,
            url="http://NEWS.example/world/pier?utm_source=x&utm_medium=y&fbclid=z#top",
        )
        again = await store.check_article(variant, T0 + HOUR)
        # Another record: matched (not skipped), in the first one's story.
        assert (again.duplicate, again.reason) == (False, "same-url")
        assert again.story_id == verdict.story_id
        different = article("a3", BRIEFS[0], url="https://news.example/world/pier-2")
        assert (await store.check_article(different, T0 + HOUR)).reason is None

    async def test_same_body_with_other_punctuation_is_exact_copy(self, backend: Backend) -> None:
        store = backend.new()
        verdict = await store.check_article(article("a1", STORY, source="AFP"), T0)
        await store.commit(verdict, [])
        reprint = article("b7", [s.upper().replace(",", " ;") for s in STORY], source="Times")
        again = await store.check_article(reprint, T0 + HOUR)
        assert (again.duplicate, again.reason) == (False, "same-body")
        assert again.story_id == verdict.story_id

    async def test_exact_copy_from_another_outlet_fires_its_own_rules_and_folds(
        self, backend: Backend
    ) -> None:
        store = backend.new()
        wire = article("r-1", STORY, source="Reuters")
        assert await publish_and_commit(store, wire, ["any-source"]) == [True]
        copy = article("d-1", STORY, source="dpa", title="Risse im Pier", at=T0 + HOUR)
        verdict = await store.check_article(copy, T0 + HOUR)
        assert (verdict.duplicate, verdict.reason) == (False, "same-body")
        claims = await store.claim_alerts(
            verdict.story_id, ["any-source", "dpa-only"], T0 + HOUR, DAY, owner=verdict.token
        )
        assert [(c.rule_id, c.send, c.sequence) for c in claims] == [
            ("any-source", False, 1),
            ("dpa-only", True, 0),
        ]
        assert claims[1].alert_id == alert_id("dpa-only", story_id_for(wire))
        await store.commit(verdict, claims)
        # Only a redelivery of the same record is skipped (and not counted as a copy).
        redelivered = await store.check_article(copy, T0 + HOUR)
        assert (redelivered.duplicate, redelivered.reason) == (True, "same-id")
        # The fold shows in the next alert after the repeat interval.
        late = article("x-1", STORY, source="x", at=T0 + DAY + HOUR)
        verdict = await store.check_article(late, T0 + DAY + HOUR)
        claims = await store.claim_alerts(
            verdict.story_id, ["any-source", "dpa-only"], T0 + DAY + HOUR, DAY
        )
        assert [(c.send, c.duplicates_folded, c.sequence) for c in claims] == [
            (True, 1, 1),
            (True, 0, 1),
        ]

    async def test_articles_too_short_for_bands_still_get_stories(self, backend: Backend) -> None:
        store = backend.new()
        for n, text in enumerate(["zebracrossing", ""]):
            art = Article(id=f"tiny-{n}", title=text, body=text, source="s", published_at=T0)
            assert await publish_and_commit(store, art, ["r1"]) == [True]
            assert (await store.check_article(art, T0)).duplicate
            copy = Article(id=f"copy-{n}", title=text, body=text, source="t", published_at=T0)
            verdict = await store.check_article(copy, T0)
            assert not verdict.duplicate
            assert verdict.reason == ("same-body" if text else None)

    async def test_exact_copy_whose_publish_failed_is_matched_again(self, backend: Backend) -> None:
        store = backend.new()
        await publish_and_commit(store, article("r-1", STORY, source="Reuters"), ["r1"])
        copy = article("d-1", STORY, source="dpa", at=T0 + HOUR)
        verdict = await store.check_article(copy, T0 + HOUR)
        claims = await store.claim_alerts(verdict.story_id, ["dpa-only"], T0 + HOUR, DAY)
        await store.abandon(verdict, claims)
        retry = await store.check_article(copy, T0 + HOUR)
        assert (retry.duplicate, retry.reason) == (False, "same-body")
        again = await store.claim_alerts(retry.story_id, ["dpa-only"], T0 + HOUR, DAY)
        assert again[0].send
        assert again[0].alert_id == claims[0].alert_id

    async def test_repeat_lanes_keep_their_own_windows_and_folds(self, backend: Backend) -> None:
        store = backend.new()
        six = timedelta(hours=6)
        keys = [AlertKey("r1", six), AlertKey("r1"), "r1"]  # a plain id is the default lane

        async def claim(art: Article) -> list[tuple[timedelta | None, bool, int, int, str]]:
            at = art.published_at or T0
            verdict = await store.check_article(art, at)
            claims = await store.claim_alerts(verdict.story_id, keys, at, DAY)
            await store.commit(verdict, claims)
            return [(c.lane, c.send, c.duplicates_folded, c.sequence, c.alert_id) for c in claims]

        first = await claim(article("a1", STORY))
        story = story_id_for(article("a1", STORY))
        first_id = alert_id("r1", story)
        assert first == [(six, True, 0, 0, first_id), (None, True, 0, 0, first_id)]
        assert await claim(article("c1", syndicated(STORY), source="c", at=T0 + HOUR)) == [
            (six, False, 0, 1, claim_alert_id("r1", story, 1, six)),
            (None, False, 0, 1, claim_alert_id("r1", story, 1)),
        ]
        seventh = await claim(article("c2", syndicated(STORY), source="d", at=T0 + 7 * HOUR))
        assert [(lane, send, folded, seq) for lane, send, folded, seq, _ in seventh] == [
            (six, True, 1, 1),
            (None, False, 1, 1),
        ]
        assert (
            seventh[0][4] == claim_alert_id("r1", story, 1, six) != claim_alert_id("r1", story, 1)
        )
        late = await claim(article("c3", STORY, source="e", at=T0 + 25 * HOUR))
        assert [(lane, send, folded, seq) for lane, send, folded, seq, _ in late] == [
            (six, True, 0, 2),
            (None, True, 2, 1),
        ]

    async def test_syndicated_copy_folds_into_one_alert(self, backend: Backend) -> None:
        store = backend.new()
        assert await publish_and_commit(store, article("wire-1", STORY), ["r1"]) == [True]
        copy = article(
            "outlet-9",
            syndicated(STORY),
            title="Cracks force Eastport pier shutdown",
            source="outlet",
            at=T0 + 2 * HOUR,
        )
        verdict = await store.check_article(copy, T0 + 2 * HOUR)
        assert not verdict.duplicate
        assert verdict.reason == "near-duplicate"
        assert verdict.story_id == story_id_for(article("wire-1", STORY))
        claims = await store.claim_alerts(verdict.story_id, ["r1"], T0 + 2 * HOUR, DAY)
        assert not claims[0].send
        await store.commit(verdict, claims)
        # After the repeat interval (article time) the next copy alerts again and shows the fold.
        late = article("outlet-10", syndicated(STORY), source="other", at=T0 + DAY + HOUR)
        verdict = await store.check_article(late, T0 + DAY + HOUR)
        claims = await store.claim_alerts(verdict.story_id, ["r1"], T0 + DAY + HOUR, DAY)
        assert (claims[0].send, claims[0].duplicates_folded, claims[0].sequence) == (True, 1, 1)
        assert claims[0].alert_id == claim_alert_id("r1", verdict.story_id, 1)
        assert claims[0].alert_id != alert_id("r1", verdict.story_id)
        await store.commit(verdict, claims)
        third = article("outlet-11", syndicated(STORY), source="x", at=T0 + DAY + 2 * HOUR)
        verdict = await store.check_article(third, T0 + DAY + 2 * HOUR)
        claims = await store.claim_alerts(verdict.story_id, ["r1"], T0 + DAY + 2 * HOUR, DAY)
        assert (claims[0].send, claims[0].duplicates_folded) == (False, 0)

    async def test_two_stories_on_one_topic_give_two_alerts(self, backend: Backend) -> None:
        store = backend.new()
        assert await publish_and_commit(store, article("a1", STORY), ["harbour"]) == [True]
        other = article("a2", OTHER_STORY, title="Eastport pier reopens", at=T0 + HOUR)
        verdict = await store.check_article(other, T0 + HOUR)
        assert verdict.story_id == story_id_for(other)
        assert await publish_and_commit(store, other, ["harbour"]) == [True]

    async def test_story_window_is_article_time(self, backend: Backend) -> None:
        store = backend.new(DedupeConfig(story_window=timedelta(hours=72)))
        await publish_and_commit(store, article("a1", STORY), ["r1"])
        inside = article("c1", syndicated(STORY), source="c", at=T0 + timedelta(hours=71))
        assert (await store.check_article(inside, inside.published_at or T0)).reason == (
            "near-duplicate"
        )
        far = article("c2", syndicated(STORY), source="d", at=T0 + timedelta(hours=150))
        verdict = await store.check_article(far, T0 + timedelta(hours=150))
        assert verdict.story_id == story_id_for(far)
        again = await store.check_article(article("a1", STORY), T0 + timedelta(hours=160))
        assert not again.duplicate, "an exact mark outside the window no longer counts"

    async def test_out_of_order_copy_within_interval_folds(self, backend: Backend) -> None:
        store = backend.new()
        await publish_and_commit(store, article("a1", STORY, at=T0 + 5 * HOUR), ["r1"])
        early = article("e1", syndicated(STORY), source="e", at=T0)
        assert await publish_and_commit(store, early, ["r1"]) == [False]

    async def test_per_rule_repeat_interval(self, backend: Backend) -> None:
        store = backend.new()
        verdict = await store.check_article(article("a1", STORY), T0)
        intervals = {"short": HOUR, "long": DAY}
        claims = await store.claim_alerts(verdict.story_id, ["short", "long"], T0, intervals)
        await store.commit(verdict, claims)
        later = T0 + 2 * HOUR
        copy = article("c1", syndicated(STORY), source="c", at=later)
        verdict = await store.check_article(copy, later)
        claims = await store.claim_alerts(verdict.story_id, ["short", "long"], later, intervals)
        assert {c.rule_id: c.send for c in claims} == {"short": True, "long": False}

    async def test_abandon_releases_every_mark(self, backend: Backend) -> None:
        store = backend.new()
        art = article("a1", STORY, url="https://news.example/a1")
        verdict = await store.check_article(art, T0)
        claims = await store.claim_alerts(verdict.story_id, ["r1"], T0, DAY)
        assert claims[0].send
        await store.abandon(verdict, claims)  # publish failed
        retry = await store.check_article(art, T0)
        assert not retry.duplicate
        assert retry.story_id == verdict.story_id
        again = await store.claim_alerts(retry.story_id, ["r1"], T0, DAY)
        assert again[0].send
        assert again[0].alert_id == claims[0].alert_id

    async def test_owner_crash_before_commit_frees_the_lease(self, backend: Backend) -> None:
        store = backend.new(DedupeConfig(pending_ttl=timedelta(milliseconds=300)))
        art = article("a1", STORY)
        verdict = await store.check_article(art, T0)
        claims = await store.claim_alerts(verdict.story_id, ["r1"], T0, DAY)
        assert claims[0].send
        # The owner dies here: no commit, no abandon. Kafka redelivers the article.
        replica = backend.peer(store)
        retry = await replica.check_article(art, T0)
        assert not retry.duplicate
        again = await asyncio.wait_for(
            replica.claim_alerts(retry.story_id, ["r1"], T0, DAY), timeout=10
        )
        assert again[0].send, "the dead owner's pending mark must expire, not swallow the alert"
        assert again[0].alert_id == claims[0].alert_id
        await replica.commit(retry, again)
        assert (await replica.check_article(art, T0)).duplicate

    async def test_redelivered_article_takes_over_its_own_lease(self, backend: Backend) -> None:
        store = backend.new(DedupeConfig(pending_ttl=timedelta(minutes=5)))
        art = article("a1", STORY)
        verdict = await store.check_article(art, T0)
        claims = await store.claim_alerts(verdict.story_id, ["r1"], T0, DAY, owner=verdict.token)
        # Crash (or a failed commit): the batch is redelivered to another replica.
        replica = backend.peer(store)
        retry = await replica.check_article(art, T0)
        assert retry.token == verdict.token
        again = await asyncio.wait_for(
            replica.claim_alerts(retry.story_id, ["r1"], T0, DAY, owner=retry.token), timeout=5
        )
        assert again[0].send
        assert again[0].alert_id == claims[0].alert_id
        # A different article of the story still waits for the live lease.
        copy = await replica.check_article(article("c1", syndicated(STORY), source="c"), T0)
        assert copy.token != verdict.token
        waiting = asyncio.create_task(
            replica.claim_alerts(copy.story_id, ["r1"], T0, DAY, owner=copy.token)
        )
        await asyncio.sleep(0.1)
        assert not waiting.done()
        await replica.commit(retry, again)
        folded = await asyncio.wait_for(waiting, timeout=5)
        assert not folded[0].send

    async def test_crash_after_publish_resends_the_same_alert_id(self, backend: Backend) -> None:
        store = backend.new(DedupeConfig(pending_ttl=timedelta(milliseconds=200)))
        art = article("a1", STORY)
        verdict = await store.check_article(art, T0)
        claims = await store.claim_alerts(verdict.story_id, ["r1"], T0, DAY)
        # published, then crashed before commit; a late commit from the dead owner must
        # not break the state either.
        await asyncio.sleep(0.3)
        retry = await store.check_article(art, T0)
        again = await store.claim_alerts(retry.story_id, ["r1"], T0, DAY)
        assert again[0].send
        assert again[0].alert_id == claims[0].alert_id
        await store.commit(verdict, claims)
        await store.commit(retry, again)
        copy = article("c1", syndicated(STORY), source="c", at=T0 + HOUR)
        assert await publish_and_commit(store, copy, ["r1"]) == [False]

    async def test_concurrent_matchers_send_one_alert(self, backend: Backend) -> None:
        first = backend.new()
        second = backend.peer(first)
        copies = [
            article("wire-1", STORY, source="wire"),
            article("outlet-1", syndicated(STORY), title="Pier shut", source="outlet"),
        ]

        async def matcher(store: DedupeStore, art: Article) -> tuple[str, bool]:
            verdict = await store.check_article(art, T0)
            claims = await store.claim_alerts(verdict.story_id, ["r1"], T0, DAY)
            if claims[0].send:
                await asyncio.sleep(0.05)  # the publish takes a while
            await store.commit(verdict, claims)
            return verdict.story_id, claims[0].send

        results = await asyncio.gather(matcher(first, copies[0]), matcher(second, copies[1]))
        assert results[0][0] == results[1][0], "both copies must land in one story"
        assert sorted(send for _, send in results) == [False, True]

    async def test_loser_sends_when_winner_abandons(self, backend: Backend) -> None:
        first = backend.new()
        second = backend.peer(first)
        art = article("wire-1", STORY)
        verdict = await first.check_article(art, T0)
        claims = await first.claim_alerts(verdict.story_id, ["r1"], T0, DAY)
        copy_verdict = await second.check_article(art, T0)
        waiting = asyncio.create_task(second.claim_alerts(copy_verdict.story_id, ["r1"], T0, DAY))
        await asyncio.sleep(0.1)
        assert not waiting.done(), "the loser waits while the winner's lease is live"
        await first.abandon(verdict, claims)
        loser = await asyncio.wait_for(waiting, timeout=10)
        assert loser[0].send

    async def test_story_ids_are_stable_across_replays(self, backend: Backend) -> None:
        stream = [
            article("wire-1", STORY, at=T0),
            article("x-2", syndicated(STORY), source="x", at=T0 + HOUR),
            article("y-3", OTHER_STORY, source="y", at=T0 + 2 * HOUR),
            article("x-4", syndicated(OTHER_STORY + STORY[:1]), source="x", at=T0 + 3 * HOUR),
        ]

        async def replay(store: DedupeStore) -> list[tuple[str, list[str]]]:
            out = []
            for art in stream:
                verdict = await store.check_article(art, art.published_at or T0)
                claims = await store.claim_alerts(verdict.story_id, ["r"], verdict.event_time, DAY)
                await store.commit(verdict, claims)
                out.append((verdict.story_id, [c.alert_id for c in claims if c.send]))
            return out

        first, second = await replay(backend.new()), await replay(backend.new())
        assert first == second
        assert len({story for story, _ in first}) == 2

    async def test_learned_boilerplate_keeps_short_briefs_apart(self, backend: Backend) -> None:
        async def fourth_copy_story(config: DedupeConfig) -> tuple[str, str]:
            store = backend.new(config)
            for i, brief in enumerate(BRIEFS):
                at = T0 + i * HOUR
                original = article(f"brief-{i}", brief, source="wire", at=at)
                verdict = await store.check_article(original, at)
                wrapped = [*OUTLET_WRAP[0], *brief, *OUTLET_WRAP[1]]
                copy = article(f"outlet-{i}", wrapped, source="outlet", at=at + HOUR / 2)
                copy_verdict = await store.check_article(copy, at + HOUR / 2)
            return verdict.story_id, copy_verdict.story_id

        learned = DedupeConfig()
        assert learned.fingerprint.boilerplate_articles == 3
        original, copy = await fourth_copy_story(learned)
        assert copy == original, "after 3 outlet articles its footer no longer counts"
        blind = DedupeConfig(fingerprint=FingerprintParams(boilerplate_articles=0))
        original, copy = await fourth_copy_story(blind)
        assert copy != original, "without learning the footer outweighs the brief"

    async def test_ping(self, backend: Backend) -> None:
        await backend.new().ping()

    async def test_batch_sees_its_earlier_articles_as_committed(self, backend: Backend) -> None:
        store = backend.new()
        wire = article("r-1", STORY, source="Reuters", url="https://n.example/pier")
        items = [
            (wire, T0),
            (wire, T0),  # a redelivery inside the batch: a duplicate, as one by one
            (article("d-1", STORY, source="dpa", at=T0 + HOUR), T0 + HOUR),  # same body
            (article("o-1", syndicated(STORY), source="outlet", at=T0 + HOUR), T0 + HOUR),
        ]
        verdicts = await store.check_articles(items)
        story = story_id_for(wire)
        assert [(v.duplicate, v.story_id, v.reason) for v in verdicts] == [
            (False, story, None),
            (True, story, "same-id"),
            (False, story, "same-body"),
            (False, story, "near-duplicate"),
        ]
        fresh = [v for v in verdicts if not v.duplicate]
        requests = [ClaimRequest(v.story_id, ["r1"], v.event_time, DAY, v.token) for v in fresh]
        claims = await store.claim_batch(requests)
        assert [[(c.send, c.duplicates_folded, c.sequence) for c in cs] for cs in claims] == [
            [(True, 0, 0)],
            [(False, 0, 1)],  # folds into the first article's alert, no waiting on its lease
            [(False, 1, 1)],
        ]
        # Until the batch is committed its marks are pending: a peer matcher's copy is no
        # duplicate, and would wait for the batch's lease.
        peer = backend.peer(store)
        assert not (await peer.check_article(wire, T0)).duplicate
        await store.commit_batch(list(zip(fresh, claims, strict=True)))
        assert (await peer.check_article(wire, T0)).duplicate
        late = article("x-1", STORY, source="x", at=T0 + DAY + HOUR)
        assert await publish_and_commit(peer, late, ["r1"]) == [True]
        again = await peer.check_article(late, T0 + DAY + HOUR)
        assert again.duplicate

    async def test_abandoned_batch_is_decided_again_in_full(self, backend: Backend) -> None:
        store = backend.new()
        wire = article("r-1", STORY, source="Reuters")
        copy = article("d-1", STORY, source="dpa")
        verdicts = await store.check_articles([(wire, T0), (copy, T0)])
        requests = [ClaimRequest(v.story_id, ["r1"], T0, DAY, v.token) for v in verdicts]
        claims = await store.claim_batch(requests)
        assert [cs[0].send for cs in claims] == [True, False]
        await store.abandon_batch(list(zip(verdicts, claims, strict=True)))  # publish failed
        retry = await store.check_articles([(wire, T0), (copy, T0)])
        assert [(v.duplicate, v.story_id) for v in retry] == [(False, v.story_id) for v in verdicts]
        again = await store.claim_batch(
            [ClaimRequest(v.story_id, ["r1"], T0, DAY, v.token) for v in retry]
        )
        assert [(cs[0].send, cs[0].alert_id) for cs in again] == [
            (cs[0].send, cs[0].alert_id) for cs in claims
        ]

    async def test_batch_waits_only_for_another_owners_lease(self, backend: Backend) -> None:
        store = backend.new()
        other = backend.peer(store)
        held = await other.check_article(article("w-1", STORY), T0)
        lease = await other.claim_alerts(held.story_id, ["r1"], T0, DAY, owner=held.token)
        verdicts = await store.check_articles(
            [(article("o-1", syndicated(STORY), source="o"), T0), (article("b-1", BRIEFS[0]), T0)]
        )
        waiting = asyncio.create_task(
            store.claim_batch(
                [ClaimRequest(v.story_id, ["r1", "r2"], T0, DAY, v.token) for v in verdicts]
            )
        )
        await asyncio.sleep(0.1)
        assert not waiting.done(), "r1 of the story waits for the other matcher's lease"
        await other.commit(held, lease)
        claims = await asyncio.wait_for(waiting, timeout=10)
        assert [[(c.rule_id, c.send) for c in cs] for cs in claims] == [
            [("r1", False), ("r2", True)],
            [("r1", True), ("r2", True)],
        ]
