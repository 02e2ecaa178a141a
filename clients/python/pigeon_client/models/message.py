from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.message_direction import MessageDirection, check_message_direction
from ..models.message_status import MessageStatus, check_message_status
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.media import Media
    from ..models.message_audio import MessageAudio
    from ..models.message_contacts_item import MessageContactsItem
    from ..models.message_context import MessageContext
    from ..models.message_document import MessageDocument
    from ..models.message_error_type_0 import MessageErrorType0
    from ..models.message_image import MessageImage
    from ..models.message_interactive import MessageInteractive
    from ..models.message_location import MessageLocation
    from ..models.message_reaction import MessageReaction
    from ..models.message_sticker import MessageSticker
    from ..models.message_template import MessageTemplate
    from ..models.message_text import MessageText
    from ..models.message_video import MessageVideo


T = TypeVar("T", bound="Message")


@_attrs_define
class Message:
    """Also carries the content object under the key named by `type` (e.g. `text`).

    Attributes:
        id (UUID):
        conversation_id (UUID):
        direction (MessageDirection):
        contact_wa_id (None | str):
        type_ (str):
        status (MessageStatus):
        wa_message_id (None | str):
        error (MessageErrorType0 | None):
        created_at (datetime.datetime):  Example: 2026-11-25T14:03:07.012000Z.
        sent_at (datetime.datetime | None):  Example: 2026-11-25T14:03:07.012000Z.
        delivered_at (datetime.datetime | None):  Example: 2026-11-25T14:03:07.012000Z.
        read_at (datetime.datetime | None):  Example: 2026-11-25T14:03:07.012000Z.
        failed_at (datetime.datetime | None):  Example: 2026-11-25T14:03:07.012000Z.
        text (MessageText | Unset):
        template (MessageTemplate | Unset):
        image (MessageImage | Unset):
        document (MessageDocument | Unset):
        audio (MessageAudio | Unset):
        video (MessageVideo | Unset):
        sticker (MessageSticker | Unset):
        reaction (MessageReaction | Unset):
        location (MessageLocation | Unset):
        contacts (list[MessageContactsItem] | Unset):
        interactive (MessageInteractive | Unset):
        context (MessageContext | Unset):
        media (Media | Unset): A media file: one a customer sent (copied from WhatsApp, `pending` until then) or one
            uploaded with POST /media. `size` and `sha256` are null until it is stored.
    """

    id: UUID
    conversation_id: UUID
    direction: MessageDirection
    contact_wa_id: None | str
    type_: str
    status: MessageStatus
    wa_message_id: None | str
    error: MessageErrorType0 | None
    created_at: datetime.datetime
    sent_at: datetime.datetime | None
    delivered_at: datetime.datetime | None
    read_at: datetime.datetime | None
    failed_at: datetime.datetime | None
    text: MessageText | Unset = UNSET
    template: MessageTemplate | Unset = UNSET
    image: MessageImage | Unset = UNSET
    document: MessageDocument | Unset = UNSET
    audio: MessageAudio | Unset = UNSET
    video: MessageVideo | Unset = UNSET
    sticker: MessageSticker | Unset = UNSET
    reaction: MessageReaction | Unset = UNSET
    location: MessageLocation | Unset = UNSET
    contacts: list[MessageContactsItem] | Unset = UNSET
    interactive: MessageInteractive | Unset = UNSET
    context: MessageContext | Unset = UNSET
    media: Media | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.message_error_type_0 import MessageErrorType0  # noqa: PLC0415

        id = str(self.id)

        conversation_id = str(self.conversation_id)

        direction: str = self.direction

        contact_wa_id: None | str
        contact_wa_id = self.contact_wa_id

        type_ = self.type_

        status: str = self.status

        wa_message_id: None | str
        wa_message_id = self.wa_message_id

        error: dict[str, Any] | None
        if isinstance(self.error, MessageErrorType0):
            error = self.error.to_dict()
        else:
            error = self.error

        created_at = self.created_at.isoformat()

        sent_at: None | str
        if isinstance(self.sent_at, datetime.datetime):
            sent_at = self.sent_at.isoformat()
        else:
            sent_at = self.sent_at

        delivered_at: None | str
        if isinstance(self.delivered_at, datetime.datetime):
            delivered_at = self.delivered_at.isoformat()
        else:
            delivered_at = self.delivered_at

        read_at: None | str
        if isinstance(self.read_at, datetime.datetime):
            read_at = self.read_at.isoformat()
        else:
            read_at = self.read_at

        failed_at: None | str
        if isinstance(self.failed_at, datetime.datetime):
            failed_at = self.failed_at.isoformat()
        else:
            failed_at = self.failed_at

        text: dict[str, Any] | Unset = UNSET
        if not isinstance(self.text, Unset):
            text = self.text.to_dict()

        template: dict[str, Any] | Unset = UNSET
        if not isinstance(self.template, Unset):
            template = self.template.to_dict()

        image: dict[str, Any] | Unset = UNSET
        if not isinstance(self.image, Unset):
            image = self.image.to_dict()

        document: dict[str, Any] | Unset = UNSET
        if not isinstance(self.document, Unset):
            document = self.document.to_dict()

        audio: dict[str, Any] | Unset = UNSET
        if not isinstance(self.audio, Unset):
            audio = self.audio.to_dict()

        video: dict[str, Any] | Unset = UNSET
        if not isinstance(self.video, Unset):
            video = self.video.to_dict()

        sticker: dict[str, Any] | Unset = UNSET
        if not isinstance(self.sticker, Unset):
            sticker = self.sticker.to_dict()

        reaction: dict[str, Any] | Unset = UNSET
        if not isinstance(self.reaction, Unset):
            reaction = self.reaction.to_dict()

        location: dict[str, Any] | Unset = UNSET
        if not isinstance(self.location, Unset):
            location = self.location.to_dict()

        contacts: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.contacts, Unset):
            contacts = []
            for contacts_item_data in self.contacts:
                contacts_item = contacts_item_data.to_dict()
                contacts.append(contacts_item)

        interactive: dict[str, Any] | Unset = UNSET
        if not isinstance(self.interactive, Unset):
            interactive = self.interactive.to_dict()

        context: dict[str, Any] | Unset = UNSET
        if not isinstance(self.context, Unset):
            context = self.context.to_dict()

        media: dict[str, Any] | Unset = UNSET
        if not isinstance(self.media, Unset):
            media = self.media.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "conversation_id": conversation_id,
                "direction": direction,
                "contact_wa_id": contact_wa_id,
                "type": type_,
                "status": status,
                "wa_message_id": wa_message_id,
                "error": error,
                "created_at": created_at,
                "sent_at": sent_at,
                "delivered_at": delivered_at,
                "read_at": read_at,
                "failed_at": failed_at,
            }
        )
        if text is not UNSET:
            field_dict["text"] = text
        if template is not UNSET:
            field_dict["template"] = template
        if image is not UNSET:
            field_dict["image"] = image
        if document is not UNSET:
            field_dict["document"] = document
        if audio is not UNSET:
            field_dict["audio"] = audio
        if video is not UNSET:
            field_dict["video"] = video
        if sticker is not UNSET:
            field_dict["sticker"] = sticker
        if reaction is not UNSET:
            field_dict["reaction"] = reaction
        if location is not UNSET:
            field_dict["location"] = location
        if contacts is not UNSET:
            field_dict["contacts"] = contacts
        if interactive is not UNSET:
            field_dict["interactive"] = interactive
        if context is not UNSET:
            field_dict["context"] = context
        if media is not UNSET:
            field_dict["media"] = media

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.media import Media  # noqa: PLC0415
        from ..models.message_audio import MessageAudio  # noqa: PLC0415
        from ..models.message_contacts_item import MessageContactsItem  # noqa: PLC0415
        from ..models.message_context import MessageContext  # noqa: PLC0415
        from ..models.message_document import MessageDocument  # noqa: PLC0415
        from ..models.message_error_type_0 import MessageErrorType0  # noqa: PLC0415
        from ..models.message_image import MessageImage  # noqa: PLC0415
        from ..models.message_interactive import MessageInteractive  # noqa: PLC0415
        from ..models.message_location import MessageLocation  # noqa: PLC0415
        from ..models.message_reaction import MessageReaction  # noqa: PLC0415
        from ..models.message_sticker import MessageSticker  # noqa: PLC0415
        from ..models.message_template import MessageTemplate  # noqa: PLC0415
        from ..models.message_text import MessageText  # noqa: PLC0415
        from ..models.message_video import MessageVideo  # noqa: PLC0415

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        conversation_id = UUID(d.pop("conversation_id"))

        direction = check_message_direction(d.pop("direction"))

        def _parse_contact_wa_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        contact_wa_id = _parse_contact_wa_id(d.pop("contact_wa_id"))

        type_ = d.pop("type")

        status = check_message_status(d.pop("status"))

        def _parse_wa_message_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        wa_message_id = _parse_wa_message_id(d.pop("wa_message_id"))

        def _parse_error(data: object) -> MessageErrorType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = MessageErrorType0.from_dict(data)

                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(MessageErrorType0 | None, data)

        error = _parse_error(d.pop("error"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_sent_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                sent_at_type_0 = datetime.datetime.fromisoformat(data)

                return sent_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        sent_at = _parse_sent_at(d.pop("sent_at"))

        def _parse_delivered_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                delivered_at_type_0 = datetime.datetime.fromisoformat(data)

                return delivered_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        delivered_at = _parse_delivered_at(d.pop("delivered_at"))

        def _parse_read_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                read_at_type_0 = datetime.datetime.fromisoformat(data)

                return read_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        read_at = _parse_read_at(d.pop("read_at"))

        def _parse_failed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                failed_at_type_0 = datetime.datetime.fromisoformat(data)

                return failed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        failed_at = _parse_failed_at(d.pop("failed_at"))

        _text = d.pop("text", UNSET)
        text: MessageText | Unset
        if isinstance(_text, Unset):
            text = UNSET
        else:
            text = MessageText.from_dict(_text)

        _template = d.pop("template", UNSET)
        template: MessageTemplate | Unset
        if isinstance(_template, Unset):
            template = UNSET
        else:
            template = MessageTemplate.from_dict(_template)

        _image = d.pop("image", UNSET)
        image: MessageImage | Unset
        if isinstance(_image, Unset):
            image = UNSET
        else:
            image = MessageImage.from_dict(_image)

        _document = d.pop("document", UNSET)
        document: MessageDocument | Unset
        if isinstance(_document, Unset):
            document = UNSET
        else:
            document = MessageDocument.from_dict(_document)

        _audio = d.pop("audio", UNSET)
        audio: MessageAudio | Unset
        if isinstance(_audio, Unset):
            audio = UNSET
        else:
            audio = MessageAudio.from_dict(_audio)

        _video = d.pop("video", UNSET)
        video: MessageVideo | Unset
        if isinstance(_video, Unset):
            video = UNSET
        else:
            video = MessageVideo.from_dict(_video)

        _sticker = d.pop("sticker", UNSET)
        sticker: MessageSticker | Unset
        if isinstance(_sticker, Unset):
            sticker = UNSET
        else:
            sticker = MessageSticker.from_dict(_sticker)

        _reaction = d.pop("reaction", UNSET)
        reaction: MessageReaction | Unset
        if isinstance(_reaction, Unset):
            reaction = UNSET
        else:
            reaction = MessageReaction.from_dict(_reaction)

        _location = d.pop("location", UNSET)
        location: MessageLocation | Unset
        if isinstance(_location, Unset):
            location = UNSET
        else:
            location = MessageLocation.from_dict(_location)

        _contacts = d.pop("contacts", UNSET)
        contacts: list[MessageContactsItem] | Unset = UNSET
        if _contacts is not UNSET:
            contacts = []
            for contacts_item_data in _contacts:
                contacts_item = MessageContactsItem.from_dict(contacts_item_data)

                contacts.append(contacts_item)

        _interactive = d.pop("interactive", UNSET)
        interactive: MessageInteractive | Unset
        if isinstance(_interactive, Unset):
            interactive = UNSET
        else:
            interactive = MessageInteractive.from_dict(_interactive)

        _context = d.pop("context", UNSET)
        context: MessageContext | Unset
        if isinstance(_context, Unset):
            context = UNSET
        else:
            context = MessageContext.from_dict(_context)

        _media = d.pop("media", UNSET)
        media: Media | Unset
        if isinstance(_media, Unset):
            media = UNSET
        else:
            media = Media.from_dict(_media)

        message = cls(
            id=id,
            conversation_id=conversation_id,
            direction=direction,
            contact_wa_id=contact_wa_id,
            type_=type_,
            status=status,
            wa_message_id=wa_message_id,
            error=error,
            created_at=created_at,
            sent_at=sent_at,
            delivered_at=delivered_at,
            read_at=read_at,
            failed_at=failed_at,
            text=text,
            template=template,
            image=image,
            document=document,
            audio=audio,
            video=video,
            sticker=sticker,
            reaction=reaction,
            location=location,
            contacts=contacts,
            interactive=interactive,
            context=context,
            media=media,
        )

        message.additional_properties = d
        return message

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
