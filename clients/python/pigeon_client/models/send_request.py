from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.send_request_type import SendRequestType, check_send_request_type
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.send_request_contacts_item import SendRequestContactsItem
    from ..models.send_request_context import SendRequestContext
    from ..models.send_request_interactive import SendRequestInteractive
    from ..models.send_request_location import SendRequestLocation
    from ..models.send_request_reaction import SendRequestReaction
    from ..models.send_request_template import SendRequestTemplate
    from ..models.send_request_text import SendRequestText


T = TypeVar("T", bound="SendRequest")


@_attrs_define
class SendRequest:
    """A message in the WhatsApp Cloud API's shape: `type` and the object of that name. Give exactly one of
    conversation_id, or to (with an optional account_id, which must be the API key's) to open a conversation with a new
    contact. Unknown fields are ignored (but `template.components` is stored and sent to WhatsApp as given); JSON nested
    deeper than 32 levels and strings holding U+0000 are refused.

        Example:
            {'conversation_id': '3f0c9a52-...', 'type': 'text', 'text': {'body': 'Hello!'}}

        Attributes:
            type_ (SendRequestType):
            conversation_id (UUID | Unset):
            account_id (UUID | Unset):
            to (str | Unset): A phone number (E.164 digits), or a business-scoped user id (BSUID) for a user known only by
                it: the conversation with that contact, opened if new
            text (SendRequestText | Unset):
            template (SendRequestTemplate | Unset):
            image (Any | Unset): Exactly one of link, id (WhatsApp's media id) or media_id (pigeon's).
            document (Any | Unset): Exactly one of link, id (WhatsApp's media id) or media_id (pigeon's).
            audio (Any | Unset): Exactly one of link, id (WhatsApp's media id) or media_id (pigeon's).
            video (Any | Unset): Exactly one of link, id (WhatsApp's media id) or media_id (pigeon's).
            sticker (Any | Unset): Exactly one of link, id (WhatsApp's media id) or media_id (pigeon's).
            reaction (SendRequestReaction | Unset):
            contacts (list[SendRequestContactsItem] | Unset): Contact cards, as Meta's contacts messages take them; unknown
                fields are dropped.
            location (SendRequestLocation | Unset):
            interactive (SendRequestInteractive | Unset): Meta's interactive messages: `button` (1 to 3 reply buttons, ids
                and titles unique), `list` (1 to 10 sections, at most 10 rows in all, row ids unique; a section title is
                required when there are several; a text header only), `cta_url`, `location_request_message` (a body only).
                Unknown fields are dropped.
            context (SendRequestContext | Unset):
    """

    type_: SendRequestType
    conversation_id: UUID | Unset = UNSET
    account_id: UUID | Unset = UNSET
    to: str | Unset = UNSET
    text: SendRequestText | Unset = UNSET
    template: SendRequestTemplate | Unset = UNSET
    image: Any | Unset = UNSET
    document: Any | Unset = UNSET
    audio: Any | Unset = UNSET
    video: Any | Unset = UNSET
    sticker: Any | Unset = UNSET
    reaction: SendRequestReaction | Unset = UNSET
    contacts: list[SendRequestContactsItem] | Unset = UNSET
    location: SendRequestLocation | Unset = UNSET
    interactive: SendRequestInteractive | Unset = UNSET
    context: SendRequestContext | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_: str = self.type_

        conversation_id: str | Unset = UNSET
        if not isinstance(self.conversation_id, Unset):
            conversation_id = str(self.conversation_id)

        account_id: str | Unset = UNSET
        if not isinstance(self.account_id, Unset):
            account_id = str(self.account_id)

        to = self.to

        text: dict[str, Any] | Unset = UNSET
        if not isinstance(self.text, Unset):
            text = self.text.to_dict()

        template: dict[str, Any] | Unset = UNSET
        if not isinstance(self.template, Unset):
            template = self.template.to_dict()

        image: Any | Unset
        if isinstance(self.image, Unset):
            image = UNSET
        else:
            image = self.image

        document: Any | Unset
        if isinstance(self.document, Unset):
            document = UNSET
        else:
            document = self.document

        audio: Any | Unset
        if isinstance(self.audio, Unset):
            audio = UNSET
        else:
            audio = self.audio

        video: Any | Unset
        if isinstance(self.video, Unset):
            video = UNSET
        else:
            video = self.video

        sticker: Any | Unset
        if isinstance(self.sticker, Unset):
            sticker = UNSET
        else:
            sticker = self.sticker

        reaction: dict[str, Any] | Unset = UNSET
        if not isinstance(self.reaction, Unset):
            reaction = self.reaction.to_dict()

        contacts: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.contacts, Unset):
            contacts = []
            for contacts_item_data in self.contacts:
                contacts_item = contacts_item_data.to_dict()
                contacts.append(contacts_item)

        location: dict[str, Any] | Unset = UNSET
        if not isinstance(self.location, Unset):
            location = self.location.to_dict()

        interactive: dict[str, Any] | Unset = UNSET
        if not isinstance(self.interactive, Unset):
            interactive = self.interactive.to_dict()

        context: dict[str, Any] | Unset = UNSET
        if not isinstance(self.context, Unset):
            context = self.context.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
            }
        )
        if conversation_id is not UNSET:
            field_dict["conversation_id"] = conversation_id
        if account_id is not UNSET:
            field_dict["account_id"] = account_id
        if to is not UNSET:
            field_dict["to"] = to
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
        if contacts is not UNSET:
            field_dict["contacts"] = contacts
        if location is not UNSET:
            field_dict["location"] = location
        if interactive is not UNSET:
            field_dict["interactive"] = interactive
        if context is not UNSET:
            field_dict["context"] = context

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.send_request_contacts_item import SendRequestContactsItem  # noqa: PLC0415
        from ..models.send_request_context import SendRequestContext  # noqa: PLC0415
        from ..models.send_request_interactive import SendRequestInteractive  # noqa: PLC0415
        from ..models.send_request_location import SendRequestLocation  # noqa: PLC0415
        from ..models.send_request_reaction import SendRequestReaction  # noqa: PLC0415
        from ..models.send_request_template import SendRequestTemplate  # noqa: PLC0415
        from ..models.send_request_text import SendRequestText  # noqa: PLC0415

        d = dict(src_dict)
        type_ = check_send_request_type(d.pop("type"))

        _conversation_id = d.pop("conversation_id", UNSET)
        conversation_id: UUID | Unset
        if isinstance(_conversation_id, Unset):
            conversation_id = UNSET
        else:
            conversation_id = UUID(_conversation_id)

        _account_id = d.pop("account_id", UNSET)
        account_id: UUID | Unset
        if isinstance(_account_id, Unset):
            account_id = UNSET
        else:
            account_id = UUID(_account_id)

        to = d.pop("to", UNSET)

        _text = d.pop("text", UNSET)
        text: SendRequestText | Unset
        if isinstance(_text, Unset):
            text = UNSET
        else:
            text = SendRequestText.from_dict(_text)

        _template = d.pop("template", UNSET)
        template: SendRequestTemplate | Unset
        if isinstance(_template, Unset):
            template = UNSET
        else:
            template = SendRequestTemplate.from_dict(_template)

        def _parse_image(data: object) -> Any | Unset:
            if isinstance(data, Unset):
                return data
            return cast(Any | Unset, data)

        image = _parse_image(d.pop("image", UNSET))

        def _parse_document(data: object) -> Any | Unset:
            if isinstance(data, Unset):
                return data
            return cast(Any | Unset, data)

        document = _parse_document(d.pop("document", UNSET))

        def _parse_audio(data: object) -> Any | Unset:
            if isinstance(data, Unset):
                return data
            return cast(Any | Unset, data)

        audio = _parse_audio(d.pop("audio", UNSET))

        def _parse_video(data: object) -> Any | Unset:
            if isinstance(data, Unset):
                return data
            return cast(Any | Unset, data)

        video = _parse_video(d.pop("video", UNSET))

        def _parse_sticker(data: object) -> Any | Unset:
            if isinstance(data, Unset):
                return data
            return cast(Any | Unset, data)

        sticker = _parse_sticker(d.pop("sticker", UNSET))

        _reaction = d.pop("reaction", UNSET)
        reaction: SendRequestReaction | Unset
        if isinstance(_reaction, Unset):
            reaction = UNSET
        else:
            reaction = SendRequestReaction.from_dict(_reaction)

        _contacts = d.pop("contacts", UNSET)
        contacts: list[SendRequestContactsItem] | Unset = UNSET
        if _contacts is not UNSET:
            contacts = []
            for contacts_item_data in _contacts:
                contacts_item = SendRequestContactsItem.from_dict(contacts_item_data)

                contacts.append(contacts_item)

        _location = d.pop("location", UNSET)
        location: SendRequestLocation | Unset
        if isinstance(_location, Unset):
            location = UNSET
        else:
            location = SendRequestLocation.from_dict(_location)

        _interactive = d.pop("interactive", UNSET)
        interactive: SendRequestInteractive | Unset
        if isinstance(_interactive, Unset):
            interactive = UNSET
        else:
            interactive = SendRequestInteractive.from_dict(_interactive)

        _context = d.pop("context", UNSET)
        context: SendRequestContext | Unset
        if isinstance(_context, Unset):
            context = UNSET
        else:
            context = SendRequestContext.from_dict(_context)

        send_request = cls(
            type_=type_,
            conversation_id=conversation_id,
            account_id=account_id,
            to=to,
            text=text,
            template=template,
            image=image,
            document=document,
            audio=audio,
            video=video,
            sticker=sticker,
            reaction=reaction,
            contacts=contacts,
            location=location,
            interactive=interactive,
            context=context,
        )

        send_request.additional_properties = d
        return send_request

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
