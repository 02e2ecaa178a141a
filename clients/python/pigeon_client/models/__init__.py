"""Contains all the data models used in inputs/outputs"""

from .account_change import AccountChange
from .admin_account import AdminAccount
from .admin_api_key import AdminApiKey
from .admin_api_key_scopes_item import AdminApiKeyScopesItem
from .api_error import ApiError
from .api_error_body import ApiErrorBody
from .audio_content import AudioContent
from .button_reply import ButtonReply
from .buttons_action import ButtonsAction
from .call_to_action_action import CallToActionAction
from .call_to_action_action_name import CallToActionActionName
from .call_to_action_parameters import CallToActionParameters
from .contact_address import ContactAddress
from .contact_card import ContactCard
from .contact_email import ContactEmail
from .contact_name import ContactName
from .contact_org import ContactOrg
from .contact_phone import ContactPhone
from .contact_url import ContactUrl
from .conversation import Conversation
from .conversation_contact import ConversationContact
from .conversation_note import ConversationNote
from .conversation_read_receipt_type_0 import ConversationReadReceiptType0
from .conversation_read_receipt_type_0_error_type_0 import ConversationReadReceiptType0ErrorType0
from .conversation_read_receipt_type_0_status import ConversationReadReceiptType0Status
from .conversation_status import ConversationStatus
from .document_content import DocumentContent
from .document_header import DocumentHeader
from .document_header_type import DocumentHeaderType
from .event import Event
from .event_type import EventType
from .get_health_response_200 import GetHealthResponse200
from .get_health_response_200_status import GetHealthResponse200Status
from .get_open_api_document_response_200 import GetOpenApiDocumentResponse200
from .header_document_file import HeaderDocumentFile
from .header_media import HeaderMedia
from .image_content import ImageContent
from .image_header import ImageHeader
from .image_header_type import ImageHeaderType
from .inbox_fields import InboxFields
from .inbox_fields_status import InboxFieldsStatus
from .interactive_body import InteractiveBody
from .interactive_buttons import InteractiveButtons
from .interactive_buttons_type import InteractiveButtonsType
from .interactive_call_to_action import InteractiveCallToAction
from .interactive_call_to_action_type import InteractiveCallToActionType
from .interactive_footer import InteractiveFooter
from .interactive_list import InteractiveList
from .interactive_list_action_type_0 import InteractiveListActionType0
from .interactive_list_action_type_1 import InteractiveListActionType1
from .interactive_list_type import InteractiveListType
from .interactive_location_request import InteractiveLocationRequest
from .interactive_location_request_type import InteractiveLocationRequestType
from .list_accounts_response_200 import ListAccountsResponse200
from .list_action import ListAction
from .list_api_keys_response_200 import ListApiKeysResponse200
from .list_conversation_messages_response_200 import ListConversationMessagesResponse200
from .list_conversation_notes_response_200 import ListConversationNotesResponse200
from .list_conversations_can_send_free_form import ListConversationsCanSendFreeForm
from .list_conversations_response_200 import ListConversationsResponse200
from .list_conversations_status import ListConversationsStatus
from .list_row import ListRow
from .list_section import ListSection
from .list_templates_category import ListTemplatesCategory
from .list_templates_response_200 import ListTemplatesResponse200
from .list_templates_status import ListTemplatesStatus
from .list_webhook_deliveries_response_200 import ListWebhookDeliveriesResponse200
from .list_webhook_deliveries_status import ListWebhookDeliveriesStatus
from .list_webhook_endpoints_response_200 import ListWebhookEndpointsResponse200
from .location_content import LocationContent
from .location_request_action import LocationRequestAction
from .location_request_action_name import LocationRequestActionName
from .media import Media
from .media_status import MediaStatus
from .message import Message
from .message_audio import MessageAudio
from .message_contacts_item import MessageContactsItem
from .message_context import MessageContext
from .message_direction import MessageDirection
from .message_document import MessageDocument
from .message_error_type_0 import MessageErrorType0
from .message_image import MessageImage
from .message_interactive import MessageInteractive
from .message_location import MessageLocation
from .message_reaction import MessageReaction
from .message_status import MessageStatus
from .message_sticker import MessageSticker
from .message_template import MessageTemplate
from .message_text import MessageText
from .message_video import MessageVideo
from .new_account import NewAccount
from .new_api_key import NewApiKey
from .new_api_key_scopes_item import NewApiKeyScopesItem
from .new_note import NewNote
from .new_webhook_endpoint import NewWebhookEndpoint
from .reaction_content import ReactionContent
from .read_receipt import ReadReceipt
from .readiness import Readiness
from .readiness_dependencies import ReadinessDependencies
from .readiness_status import ReadinessStatus
from .receive_whatsapp_notification_body import ReceiveWhatsappNotificationBody
from .receive_whatsapp_notification_response_200 import ReceiveWhatsappNotificationResponse200
from .receive_whatsapp_notification_response_200_status import ReceiveWhatsappNotificationResponse200Status
from .reply_button import ReplyButton
from .reply_button_type import ReplyButtonType
from .reply_context import ReplyContext
from .search_messages_response_200 import SearchMessagesResponse200
from .send_audio import SendAudio
from .send_audio_type import SendAudioType
from .send_contacts import SendContacts
from .send_contacts_type import SendContactsType
from .send_document import SendDocument
from .send_document_type import SendDocumentType
from .send_image import SendImage
from .send_image_type import SendImageType
from .send_interactive import SendInteractive
from .send_interactive_type import SendInteractiveType
from .send_location import SendLocation
from .send_location_type import SendLocationType
from .send_reaction import SendReaction
from .send_reaction_type import SendReactionType
from .send_sticker import SendSticker
from .send_sticker_type import SendStickerType
from .send_template import SendTemplate
from .send_template_type import SendTemplateType
from .send_text import SendText
from .send_text_type import SendTextType
from .send_video import SendVideo
from .send_video_type import SendVideoType
from .sticker_content import StickerContent
from .sync_templates_response_202 import SyncTemplatesResponse202
from .sync_templates_response_202_status import SyncTemplatesResponse202Status
from .template import Template
from .template_category import TemplateCategory
from .template_component import TemplateComponent
from .template_component_parameters_item import TemplateComponentParametersItem
from .template_components_item import TemplateComponentsItem
from .template_content import TemplateContent
from .template_language import TemplateLanguage
from .template_parameter_counts import TemplateParameterCounts
from .template_parameter_format import TemplateParameterFormat
from .template_status import TemplateStatus
from .text_content import TextContent
from .text_header import TextHeader
from .text_header_type import TextHeaderType
from .upload_media_body import UploadMediaBody
from .video_content import VideoContent
from .video_header import VideoHeader
from .video_header_type import VideoHeaderType
from .webhook_delivery import WebhookDelivery
from .webhook_endpoint import WebhookEndpoint
from .webhook_endpoint_change import WebhookEndpointChange
from .webhook_endpoint_disabled_reason_type_1 import WebhookEndpointDisabledReasonType1
from .webhook_endpoint_disabled_reason_type_2_type_1 import WebhookEndpointDisabledReasonType2Type1
from .webhook_endpoint_disabled_reason_type_3_type_1 import WebhookEndpointDisabledReasonType3Type1
from .webhook_replay import WebhookReplay

__all__ = (
    "AccountChange",
    "AdminAccount",
    "AdminApiKey",
    "AdminApiKeyScopesItem",
    "ApiError",
    "ApiErrorBody",
    "AudioContent",
    "ButtonReply",
    "ButtonsAction",
    "CallToActionAction",
    "CallToActionActionName",
    "CallToActionParameters",
    "ContactAddress",
    "ContactCard",
    "ContactEmail",
    "ContactName",
    "ContactOrg",
    "ContactPhone",
    "ContactUrl",
    "Conversation",
    "ConversationContact",
    "ConversationNote",
    "ConversationReadReceiptType0",
    "ConversationReadReceiptType0ErrorType0",
    "ConversationReadReceiptType0Status",
    "ConversationStatus",
    "DocumentContent",
    "DocumentHeader",
    "DocumentHeaderType",
    "Event",
    "EventType",
    "GetHealthResponse200",
    "GetHealthResponse200Status",
    "GetOpenApiDocumentResponse200",
    "HeaderDocumentFile",
    "HeaderMedia",
    "ImageContent",
    "ImageHeader",
    "ImageHeaderType",
    "InboxFields",
    "InboxFieldsStatus",
    "InteractiveBody",
    "InteractiveButtons",
    "InteractiveButtonsType",
    "InteractiveCallToAction",
    "InteractiveCallToActionType",
    "InteractiveFooter",
    "InteractiveList",
    "InteractiveListActionType0",
    "InteractiveListActionType1",
    "InteractiveListType",
    "InteractiveLocationRequest",
    "InteractiveLocationRequestType",
    "ListAccountsResponse200",
    "ListAction",
    "ListApiKeysResponse200",
    "ListConversationMessagesResponse200",
    "ListConversationNotesResponse200",
    "ListConversationsCanSendFreeForm",
    "ListConversationsResponse200",
    "ListConversationsStatus",
    "ListRow",
    "ListSection",
    "ListTemplatesCategory",
    "ListTemplatesResponse200",
    "ListTemplatesStatus",
    "ListWebhookDeliveriesResponse200",
    "ListWebhookDeliveriesStatus",
    "ListWebhookEndpointsResponse200",
    "LocationContent",
    "LocationRequestAction",
    "LocationRequestActionName",
    "Media",
    "MediaStatus",
    "Message",
    "MessageAudio",
    "MessageContactsItem",
    "MessageContext",
    "MessageDirection",
    "MessageDocument",
    "MessageErrorType0",
    "MessageImage",
    "MessageInteractive",
    "MessageLocation",
    "MessageReaction",
    "MessageStatus",
    "MessageSticker",
    "MessageTemplate",
    "MessageText",
    "MessageVideo",
    "NewAccount",
    "NewApiKey",
    "NewApiKeyScopesItem",
    "NewNote",
    "NewWebhookEndpoint",
    "ReactionContent",
    "Readiness",
    "ReadinessDependencies",
    "ReadinessStatus",
    "ReadReceipt",
    "ReceiveWhatsappNotificationBody",
    "ReceiveWhatsappNotificationResponse200",
    "ReceiveWhatsappNotificationResponse200Status",
    "ReplyButton",
    "ReplyButtonType",
    "ReplyContext",
    "SearchMessagesResponse200",
    "SendAudio",
    "SendAudioType",
    "SendContacts",
    "SendContactsType",
    "SendDocument",
    "SendDocumentType",
    "SendImage",
    "SendImageType",
    "SendInteractive",
    "SendInteractiveType",
    "SendLocation",
    "SendLocationType",
    "SendReaction",
    "SendReactionType",
    "SendSticker",
    "SendStickerType",
    "SendTemplate",
    "SendTemplateType",
    "SendText",
    "SendTextType",
    "SendVideo",
    "SendVideoType",
    "StickerContent",
    "SyncTemplatesResponse202",
    "SyncTemplatesResponse202Status",
    "Template",
    "TemplateCategory",
    "TemplateComponent",
    "TemplateComponentParametersItem",
    "TemplateComponentsItem",
    "TemplateContent",
    "TemplateLanguage",
    "TemplateParameterCounts",
    "TemplateParameterFormat",
    "TemplateStatus",
    "TextContent",
    "TextHeader",
    "TextHeaderType",
    "UploadMediaBody",
    "VideoContent",
    "VideoHeader",
    "VideoHeaderType",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEndpointChange",
    "WebhookEndpointDisabledReasonType1",
    "WebhookEndpointDisabledReasonType2Type1",
    "WebhookEndpointDisabledReasonType3Type1",
    "WebhookReplay",
)
