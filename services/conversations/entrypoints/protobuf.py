"""The domain's records as the contract's protobuf messages (`conversations.proto`)."""

from datetime import UTC, datetime
from uuid import UUID

from pigeon.conversations.v1 import conversations_pb2 as pb
from pigeon.messages.v1 import content_pb2

from services.conversations.domain.errors import InvalidArgument, NotFound
from services.conversations.domain.inbox import ContactQuery, InboxFilter, InboxPatch, Note
from services.conversations.domain.media import Media, MediaStatus
from services.conversations.domain.model import (
    Content,
    Conversation,
    Direction,
    Message,
    MessageStatus,
    ReadReceipt,
)
from services.conversations.domain.search import MessageSearch
from services.conversations.domain.service_window import WindowFilter
from services.shared.api_keys import API_KEY_HASH_BYTES, hash_api_key
from services.shared.timestamps import timestamp

_DIRECTION = {Direction.OUTBOUND: pb.DIRECTION_OUTBOUND, Direction.INBOUND: pb.DIRECTION_INBOUND}
_STATUS = {
    MessageStatus.QUEUED: pb.MESSAGE_STATUS_QUEUED,
    MessageStatus.SENDING: pb.MESSAGE_STATUS_SENDING,
    MessageStatus.SENT: pb.MESSAGE_STATUS_SENT,
    MessageStatus.DELIVERED: pb.MESSAGE_STATUS_DELIVERED,
    MessageStatus.READ: pb.MESSAGE_STATUS_READ,
    MessageStatus.FAILED: pb.MESSAGE_STATUS_FAILED,
    MessageStatus.RECEIVED: pb.MESSAGE_STATUS_RECEIVED,
}


def parse_id(value: str, what: str) -> UUID:
    """An id that is not a UUID cannot exist: it is simply not found."""
    try:
        return UUID(value)
    except ValueError:
        raise NotFound(f"{what} {value!r} not found") from None


def key_hash_from_proto(request: pb.AuthenticateApiKeyRequest) -> bytes:
    """The key's hash; from the deprecated raw `api_key` when a gateway older than `key_hash`
    sends only that (a rolling upgrade)."""
    if request.key_hash:
        if len(request.key_hash) != API_KEY_HASH_BYTES:
            raise InvalidArgument(f"key_hash must be the {API_KEY_HASH_BYTES}-byte SHA-256 of the key")
        return request.key_hash
    return hash_api_key(request.api_key)


def optional_id(value: str, what: str) -> UUID | None:
    return parse_id(value, what) if value else None


def content_from_proto(content: content_pb2.Content) -> Content:
    return Content(content.type, content.body_json, content.reply_to_wa_message_id)


def window_filter_from_proto(request: pb.ListConversationsRequest) -> WindowFilter:
    return WindowFilter(
        can_send_free_form=request.can_send_free_form if request.HasField("can_send_free_form") else None,
        expires_after=_time_argument(request, "window_expires_after"),
        expires_before=_time_argument(request, "window_expires_before"),
    )


def inbox_filter_from_proto(request: pb.ListConversationsRequest) -> InboxFilter:
    return InboxFilter(
        status=request.status or None,
        assignee=request.assignee if request.HasField("assignee") else None,
        label=request.label or None,
        unread=request.unread,
        q=ContactQuery(request.q) if request.q else None,
    )


def search_from_proto(request: pb.SearchMessagesRequest) -> MessageSearch:
    return MessageSearch(
        q=request.q,
        conversation_id=optional_id(request.conversation_id, "conversation"),
        since=_time_argument(request, "since"),
        until=_time_argument(request, "until"),
    )


def patch_from_proto(request: pb.UpdateConversationRequest) -> InboxPatch:
    return InboxPatch(
        status=request.status if request.HasField("status") else None,
        snoozed_until=_time_argument(request, "snoozed_until"),
        assignee=request.assignee if request.HasField("assignee") else None,
    )


def expected_version(request: pb.UpdateConversationRequest | pb.ConversationLabelRequest) -> int | None:
    return request.expected_version if request.HasField("expected_version") else None


def note_to_proto(note: Note) -> pb.ConversationNote:
    return pb.ConversationNote(
        id=str(note.id),
        conversation_id=str(note.conversation_id),
        author=note.author,
        body=note.body,
        created_at=timestamp(note.created_at),
    )


def _time_argument(
    request: pb.ListConversationsRequest | pb.UpdateConversationRequest | pb.SearchMessagesRequest,
    field: str,
) -> datetime | None:
    if not request.HasField(field):
        return None
    try:
        value: datetime = getattr(request, field).ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidArgument(f"{field} is not a valid time") from None
    return value


def message_to_proto(message: Message) -> pb.Message:
    return pb.Message(
        id=str(message.id),
        conversation_id=str(message.conversation_id),
        direction=_DIRECTION[message.direction],
        content=content_pb2.Content(
            type=message.content.type,
            body_json=message.content.body_json,
            reply_to_wa_message_id=message.content.reply_to_wa_message_id,
        ),
        status=_STATUS[message.status],
        wa_message_id=message.wa_message_id or "",
        error_code=message.error_code or "",
        error_message=message.error_message or "",
        created_at=timestamp(message.created_at),
        sent_at=timestamp(message.sent_at),
        delivered_at=timestamp(message.delivered_at),
        read_at=timestamp(message.read_at),
        failed_at=timestamp(message.failed_at),
        contact_wa_id=message.contact_wa_id,
        media=media_to_proto(message.media) if message.media else None,
    )


_MEDIA_STATUS = {
    MediaStatus.PENDING: pb.MEDIA_STATUS_PENDING,
    MediaStatus.STORED: pb.MEDIA_STATUS_STORED,
    MediaStatus.FAILED: pb.MEDIA_STATUS_FAILED,
    MediaStatus.DELETED: pb.MEDIA_STATUS_DELETED,
}


def media_to_proto(media: Media, download_url: str = "") -> pb.Media:
    return pb.Media(
        id=str(media.id),
        status=_MEDIA_STATUS[media.status],
        mime_type=media.mime_type,
        size=media.size or 0,
        sha256=media.sha256 or "",
        filename=media.filename,
        caption=media.caption,
        failure_reason=media.failure_reason or "",
        download_url=download_url,
    )


def conversation_to_proto(conversation: Conversation) -> pb.Conversation:
    return pb.Conversation(
        id=str(conversation.id),
        account_id=str(conversation.account_id),
        contact_wa_id=conversation.contact_wa_id,
        contact_name=conversation.contact_name,
        created_at=timestamp(conversation.created_at),
        last_message_at=timestamp(conversation.last_message_at),
        last_inbound_at=timestamp(conversation.last_inbound_at),
        unread_count=conversation.unread_count,
        window_expires_at=timestamp(conversation.window_expires_at),
        can_send_free_form=conversation.can_send_free_form,
        read_receipt=read_receipt_to_proto(conversation.read_receipt) if conversation.read_receipt else None,
        contact_user_id=conversation.contact_user_id,
        contact_username=conversation.contact_username,
        contact_marketing_opt_out=conversation.contact_marketing_opt_out,
        status=conversation.inbox.status,
        snoozed_until=timestamp(conversation.inbox.snoozed_until),
        assignee=conversation.inbox.assignee,
        labels=conversation.inbox.labels,
        version=conversation.version,
    )


def read_receipt_to_proto(receipt: ReadReceipt) -> pb.ReadReceipt:
    return pb.ReadReceipt(
        message_id=receipt.message_id,
        status=receipt.status,
        error_code=receipt.error_code or "",
        error_message=receipt.error_message or "",
        at=timestamp(receipt.at),
    )
