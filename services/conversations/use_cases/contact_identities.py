"""Who a webhook's user is: contacts moved to a user's new phone number or business-scoped user
id (the system messages `user_changed_number` and `user_changed_user_id`), and marketing
preferences (`user_preferences`) kept on the contact. Run inside a webhook transaction
(`webhook_apply.py`), before the batch's messages are stored."""

from collections.abc import Sequence
from uuid import UUID

from services.conversations.domain.notifications import NewEvent
from services.conversations.domain.webhook_changes import IdentityChange, Inbound, MarketingPreference
from services.conversations.use_cases.ports import WebhookTransactionPort


async def change_identities(
    transaction: WebhookTransactionPort, changes: Sequence[IdentityChange]
) -> list[tuple[UUID, UUID, str]]:
    """Moves contacts to their users' new identifiers; the (account, conversation, old
    wa_id) of each conversation whose contact changed, each with a conversation.updated."""
    if not changes:
        return []
    touched = []
    for changed in await transaction.change_identities(changes):
        if changed.conversation_id is None or changed.resource is None:
            continue
        transaction.events.append(
            NewEvent(
                changed.account_id, "conversation.updated", None, changed.conversation_id, changed.resource
            )
        )
        touched.append((changed.account_id, changed.conversation_id, changed.old_wa_id))
    return touched


def user_of(message: Inbound | MarketingPreference) -> tuple[UUID, str, str]:
    return (message.account_id, message.wa_id, message.user_id)


async def record_preferences(
    transaction: WebhookTransactionPort, preferences: Sequence[MarketingPreference]
) -> None:
    """Keeps each user's latest marketing preference on their contact (made if new); a
    conversation.updated for each conversation whose contact changed."""
    if not preferences:
        return
    latest: dict[tuple[UUID, str, str], MarketingPreference] = {}
    for preference in preferences:
        known = latest.get(user_of(preference))
        if known is None or known.at < preference.at:
            latest[user_of(preference)] = preference
    await transaction.identify_contacts(sorted(latest))
    for conversation in await transaction.record_preferences([latest[user] for user in sorted(latest)]):
        transaction.events.append(
            NewEvent(
                conversation.account_id, "conversation.updated", None, conversation.id, conversation.resource
            )
        )
