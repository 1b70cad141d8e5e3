"""Upload claims on a real database (issue 22, finding 1): of uploads claiming one job id at the
same moment on their own connections, exactly one wins; a claim outlives no process for
longer than its lease, and a holder whose claim was taken over cannot commit."""

from __future__ import annotations

import threading

import pytest

from server import claims
from server.models import Job
from server.store import Store


@pytest.fixture
def store(store: Store) -> Store:
    """conftest's database of the test's own, migrated: claims need the tables."""
    store.migrate()
    return store


def take(store: Store, job_id: str, instance: str, lease: float = 60) -> claims.Claim:
    with store.session() as session:
        return claims.take(session, job_id, instance, lease)


def claim_at_once(store: Store, job_id: str, instances: list[str]) -> list[str]:
    """Each instance claims on its own thread and connection, released by one barrier."""
    barrier = threading.Barrier(len(instances))
    outcomes: list[str] = []

    def claim(instance: str) -> None:
        barrier.wait(10)
        outcomes.append(take(store, job_id, instance).outcome)

    threads = [threading.Thread(target=claim, args=(name,)) for name in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def test_of_claims_at_the_same_moment_on_two_connections_one_wins(store: Store) -> None:
    for run in range(20):
        outcomes = claim_at_once(store, f"race-{run}", ["a", "b"])
        assert sorted(outcomes) == ["held", "won"], (run, outcomes)


def test_an_expired_claim_is_taken_over_and_its_old_holder_cannot_commit(store: Store) -> None:
    dead = take(store, "job-1", "a", lease=-1)  # as if its process died a lease ago
    assert dead.outcome == "won"
    taken = take(store, "job-1", "b")
    assert taken.outcome == "won" and taken.token != dead.token
    assert take(store, "job-1", "c").outcome == "held"  # the new claim is live: taken once
    with store.session() as session:
        assert not claims.finish(session, "job-1", dead.token)
    with store.session() as session:
        assert claims.finish(session, "job-1", taken.token)
    with store.session() as session:
        assert claims.status(session, "job-1").outcome == "free"  # no claim, no stored job


def test_a_stored_job_is_never_claimed_again(store: Store) -> None:
    with store.session() as session:
        session.add(Job(id="job-2", owner="alice", location="server", state="pending",
                        sha256="ab" * 32))  # fmt: skip
    claim = take(store, "job-2", "a")
    assert (claim.outcome, claim.sha256) == ("stored", "ab" * 32)
    with store.session() as session:
        assert claims.status(session, "job-2").outcome == "stored"
