"""Read receipts: after an agent reads a conversation in pigeon, the customer's last message is
marked read on WhatsApp (blue ticks, for the earlier messages too), with the typing indicator
when asked. pigeon's own read stands whatever WhatsApp answers; what it answered is kept on
the conversation (`read_receipt`) for the inbox to see."""

from uuid import UUID

from services.conversations.use_cases.directory import Directory
from services.conversations.use_cases.ports import ReadReceiptSenderPort, ReadReceiptsPort


class ReadReceipts:
    def __init__(self, directory: Directory, store: ReadReceiptsPort, sender: ReadReceiptSenderPort) -> None:
        self.directory = directory
        self.store = store
        self.sender = sender

    async def send(self, account_id: UUID, conversation_id: UUID, typing: bool) -> None:
        """Marks the conversation's last inbound message read on WhatsApp, and records how it went;
        nothing to do in a conversation the customer never wrote in."""
        message_id = await self.store.last_inbound(account_id, conversation_id)
        if message_id is None:
            return
        account = await self.directory.account(account_id)
        failure = await self.sender.mark_read(
            account.phone_number_id, account.access_token, message_id, typing
        )
        await self.store.record_read_receipt(
            account_id,
            conversation_id,
            message_id,
            failure.code if failure else None,
            failure.message if failure else None,
        )
