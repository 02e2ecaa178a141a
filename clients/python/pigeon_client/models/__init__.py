"""Contains all the data models used in inputs/outputs"""

from .add_conversation_note_body import AddConversationNoteBody
from .admin_account import AdminAccount
from .admin_api_key import AdminApiKey
from .admin_api_key_scopes_item import AdminApiKeyScopesItem
from .conversation import Conversation
from .conversation_contact import ConversationContact
from .conversation_note import ConversationNote
from .conversation_read_receipt_type_0 import ConversationReadReceiptType0
from .conversation_read_receipt_type_0_error_type_0 import ConversationReadReceiptType0ErrorType0
from .conversation_read_receipt_type_0_status import ConversationReadReceiptType0Status
from .conversation_status import ConversationStatus
from .create_account_body import CreateAccountBody
from .create_api_key_body import CreateApiKeyBody
from .create_api_key_body_scopes_item import CreateApiKeyBodyScopesItem
from .create_webhook_endpoint_body import CreateWebhookEndpointBody
from .error import Error
from .error_error import ErrorError
from .event import Event
from .event_type import EventType
from .get_health_response_200 import GetHealthResponse200
from .get_health_response_200_status import GetHealthResponse200Status
from .get_open_api_document_response_200 import GetOpenApiDocumentResponse200
from .list_accounts_response_200 import ListAccountsResponse200
from .list_api_keys_response_200 import ListApiKeysResponse200
from .list_conversation_messages_response_200 import ListConversationMessagesResponse200
from .list_conversation_notes_response_200 import ListConversationNotesResponse200
from .list_conversations_can_send_free_form import ListConversationsCanSendFreeForm
from .list_conversations_response_200 import ListConversationsResponse200
from .list_conversations_status import ListConversationsStatus
from .list_templates_category import ListTemplatesCategory
from .list_templates_response_200 import ListTemplatesResponse200
from .list_templates_status import ListTemplatesStatus
from .list_webhook_deliveries_response_200 import ListWebhookDeliveriesResponse200
from .list_webhook_deliveries_status import ListWebhookDeliveriesStatus
from .list_webhook_endpoints_response_200 import ListWebhookEndpointsResponse200
from .mark_conversation_read_body import MarkConversationReadBody
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
from .readiness import Readiness
from .readiness_dependencies import ReadinessDependencies
from .readiness_status import ReadinessStatus
from .receive_whatsapp_notification_body import ReceiveWhatsappNotificationBody
from .receive_whatsapp_notification_response_200 import ReceiveWhatsappNotificationResponse200
from .receive_whatsapp_notification_response_200_status import ReceiveWhatsappNotificationResponse200Status
from .replay_webhook_events_body import ReplayWebhookEventsBody
from .search_messages_response_200 import SearchMessagesResponse200
from .send_request import SendRequest
from .send_request_contacts_item import SendRequestContactsItem
from .send_request_contacts_item_addresses_item import SendRequestContactsItemAddressesItem
from .send_request_contacts_item_emails_item import SendRequestContactsItemEmailsItem
from .send_request_contacts_item_name import SendRequestContactsItemName
from .send_request_contacts_item_org import SendRequestContactsItemOrg
from .send_request_contacts_item_phones_item import SendRequestContactsItemPhonesItem
from .send_request_contacts_item_urls_item import SendRequestContactsItemUrlsItem
from .send_request_context import SendRequestContext
from .send_request_interactive import SendRequestInteractive
from .send_request_interactive_action import SendRequestInteractiveAction
from .send_request_interactive_action_buttons_item import SendRequestInteractiveActionButtonsItem
from .send_request_interactive_action_buttons_item_reply import SendRequestInteractiveActionButtonsItemReply
from .send_request_interactive_action_buttons_item_type import SendRequestInteractiveActionButtonsItemType
from .send_request_interactive_action_name import SendRequestInteractiveActionName
from .send_request_interactive_action_parameters import SendRequestInteractiveActionParameters
from .send_request_interactive_action_sections_item import SendRequestInteractiveActionSectionsItem
from .send_request_interactive_action_sections_item_rows_item import (
    SendRequestInteractiveActionSectionsItemRowsItem,
)
from .send_request_interactive_body import SendRequestInteractiveBody
from .send_request_interactive_footer import SendRequestInteractiveFooter
from .send_request_interactive_header import SendRequestInteractiveHeader
from .send_request_interactive_header_document import SendRequestInteractiveHeaderDocument
from .send_request_interactive_header_image import SendRequestInteractiveHeaderImage
from .send_request_interactive_header_type import SendRequestInteractiveHeaderType
from .send_request_interactive_header_video import SendRequestInteractiveHeaderVideo
from .send_request_interactive_type import SendRequestInteractiveType
from .send_request_location import SendRequestLocation
from .send_request_reaction import SendRequestReaction
from .send_request_template import SendRequestTemplate
from .send_request_template_components_item import SendRequestTemplateComponentsItem
from .send_request_template_components_item_parameters_item import (
    SendRequestTemplateComponentsItemParametersItem,
)
from .send_request_template_language import SendRequestTemplateLanguage
from .send_request_text import SendRequestText
from .send_request_type import SendRequestType
from .sync_templates_response_202 import SyncTemplatesResponse202
from .sync_templates_response_202_status import SyncTemplatesResponse202Status
from .template import Template
from .template_category import TemplateCategory
from .template_components_item import TemplateComponentsItem
from .template_parameter_counts import TemplateParameterCounts
from .template_parameter_format import TemplateParameterFormat
from .template_status import TemplateStatus
from .update_account_body import UpdateAccountBody
from .update_conversation_body import UpdateConversationBody
from .update_conversation_body_status import UpdateConversationBodyStatus
from .update_webhook_endpoint_body import UpdateWebhookEndpointBody
from .upload_media_body import UploadMediaBody
from .webhook_delivery import WebhookDelivery
from .webhook_endpoint import WebhookEndpoint
from .webhook_endpoint_disabled_reason_type_1 import WebhookEndpointDisabledReasonType1
from .webhook_endpoint_disabled_reason_type_2_type_1 import WebhookEndpointDisabledReasonType2Type1
from .webhook_endpoint_disabled_reason_type_3_type_1 import WebhookEndpointDisabledReasonType3Type1

__all__ = (
    "AddConversationNoteBody",
    "AdminAccount",
    "AdminApiKey",
    "AdminApiKeyScopesItem",
    "Conversation",
    "ConversationContact",
    "ConversationNote",
    "ConversationReadReceiptType0",
    "ConversationReadReceiptType0ErrorType0",
    "ConversationReadReceiptType0Status",
    "ConversationStatus",
    "CreateAccountBody",
    "CreateApiKeyBody",
    "CreateApiKeyBodyScopesItem",
    "CreateWebhookEndpointBody",
    "Error",
    "ErrorError",
    "Event",
    "EventType",
    "GetHealthResponse200",
    "GetHealthResponse200Status",
    "GetOpenApiDocumentResponse200",
    "ListAccountsResponse200",
    "ListApiKeysResponse200",
    "ListConversationMessagesResponse200",
    "ListConversationNotesResponse200",
    "ListConversationsCanSendFreeForm",
    "ListConversationsResponse200",
    "ListConversationsStatus",
    "ListTemplatesCategory",
    "ListTemplatesResponse200",
    "ListTemplatesStatus",
    "ListWebhookDeliveriesResponse200",
    "ListWebhookDeliveriesStatus",
    "ListWebhookEndpointsResponse200",
    "MarkConversationReadBody",
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
    "Readiness",
    "ReadinessDependencies",
    "ReadinessStatus",
    "ReceiveWhatsappNotificationBody",
    "ReceiveWhatsappNotificationResponse200",
    "ReceiveWhatsappNotificationResponse200Status",
    "ReplayWebhookEventsBody",
    "SearchMessagesResponse200",
    "SendRequest",
    "SendRequestContactsItem",
    "SendRequestContactsItemAddressesItem",
    "SendRequestContactsItemEmailsItem",
    "SendRequestContactsItemName",
    "SendRequestContactsItemOrg",
    "SendRequestContactsItemPhonesItem",
    "SendRequestContactsItemUrlsItem",
    "SendRequestContext",
    "SendRequestInteractive",
    "SendRequestInteractiveAction",
    "SendRequestInteractiveActionButtonsItem",
    "SendRequestInteractiveActionButtonsItemReply",
    "SendRequestInteractiveActionButtonsItemType",
    "SendRequestInteractiveActionName",
    "SendRequestInteractiveActionParameters",
    "SendRequestInteractiveActionSectionsItem",
    "SendRequestInteractiveActionSectionsItemRowsItem",
    "SendRequestInteractiveBody",
    "SendRequestInteractiveFooter",
    "SendRequestInteractiveHeader",
    "SendRequestInteractiveHeaderDocument",
    "SendRequestInteractiveHeaderImage",
    "SendRequestInteractiveHeaderType",
    "SendRequestInteractiveHeaderVideo",
    "SendRequestInteractiveType",
    "SendRequestLocation",
    "SendRequestReaction",
    "SendRequestTemplate",
    "SendRequestTemplateComponentsItem",
    "SendRequestTemplateComponentsItemParametersItem",
    "SendRequestTemplateLanguage",
    "SendRequestText",
    "SendRequestType",
    "SyncTemplatesResponse202",
    "SyncTemplatesResponse202Status",
    "Template",
    "TemplateCategory",
    "TemplateComponentsItem",
    "TemplateParameterCounts",
    "TemplateParameterFormat",
    "TemplateStatus",
    "UpdateAccountBody",
    "UpdateConversationBody",
    "UpdateConversationBodyStatus",
    "UpdateWebhookEndpointBody",
    "UploadMediaBody",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEndpointDisabledReasonType1",
    "WebhookEndpointDisabledReasonType2Type1",
    "WebhookEndpointDisabledReasonType3Type1",
)
