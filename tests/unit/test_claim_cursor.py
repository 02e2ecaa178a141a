"""Where the outbox's next claim starts: after the last account the previous one served."""

from uuid import UUID

from services.conversations.domain.pacing import NO_ACCOUNT, next_claim_cursor

A, B, C, D, E = (UUID(int=n) for n in range(1, 6))


def test_a_claim_that_did_not_wrap_ends_at_its_highest_account() -> None:
    assert next_claim_cursor(NO_ACCOUNT, {A, B}) == B
    assert next_claim_cursor(B, {C, D}) == D


def test_a_claim_that_wrapped_around_ends_at_the_highest_account_it_wrapped_to() -> None:
    # After D: E, then A (wrapped): the next claim starts after A, not after E.
    assert next_claim_cursor(D, {E, A}) == A
    # Five accounts, two at a time, take turns: each is served once per cycle.
    cursor, served = NO_ACCOUNT, []
    accounts = [A, B, C, D, E]
    for _ in range(5):
        later = [a for a in accounts if a > cursor] + [a for a in accounts if a <= cursor]
        claim = set(later[:2])
        served.extend(sorted(claim))
        cursor = next_claim_cursor(cursor, claim)
    assert sorted(served) == sorted(accounts * 2)
