"""Every operation's `operationId` and tag in the OpenAPI document, in one table.

The ids name the functions of the generated clients (`make client`: clients/python/), so they
are part of the API: renaming one breaks its callers. The tags group the operations in the
reference at /docs and into the client's modules. An operation missing here fails the
document's build (and with it the gateway's start and tests/unit/test_openapi_operations.py).
"""

from typing import Any

MESSAGES = "Messages"
CONVERSATIONS = "Conversations"
INBOX = "Inbox"
MEDIA = "Media"
TEMPLATES = "Templates"
EVENTS = "Events"
WEBHOOK_ENDPOINTS = "Webhook endpoints"
META_WEBHOOKS = "Meta webhooks"
OPERABILITY = "Operability"
ADMINISTRATION = "Administration"

TAGS: list[dict[str, str]] = [
    {"name": MESSAGES, "description": "Send messages (now or in the background), read and search them"},
    {"name": CONVERSATIONS, "description": "Conversations with contacts, their messages and read receipts"},
    {"name": INBOX, "description": "The team inbox: status, snooze, assignee, labels and internal notes"},
    {"name": MEDIA, "description": "Files to send, and the files customers sent"},
    {"name": TEMPLATES, "description": "The account's WhatsApp message templates"},
    {"name": EVENTS, "description": "Live events over a WebSocket (not describable here: see GET /ws)"},
    {"name": WEBHOOK_ENDPOINTS, "description": "The account's own endpoints that receive its events"},
    {
        "name": META_WEBHOOKS,
        "description": "WhatsApp's calls to pigeon, from Meta and signed by it (no API key)",
    },
    {"name": OPERABILITY, "description": "Health, readiness, metrics and this API's description"},
    {"name": ADMINISTRATION, "description": "Accounts and API keys, with the admin token (ADMIN_TOKEN)"},
]

# (method, path) -> (operationId, tag)
OPERATIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("post", "/messages/send"): ("sendMessage", MESSAGES),
    ("post", "/messages/send-async"): ("sendMessageAsync", MESSAGES),
    ("get", "/messages/{message_id}"): ("getMessage", MESSAGES),
    ("get", "/messages/search"): ("searchMessages", MESSAGES),
    ("get", "/conversations"): ("listConversations", CONVERSATIONS),
    ("get", "/conversations/{conversation_id}"): ("getConversation", CONVERSATIONS),
    ("get", "/conversations/{conversation_id}/messages"): ("listConversationMessages", CONVERSATIONS),
    ("post", "/conversations/{conversation_id}/read"): ("markConversationRead", CONVERSATIONS),
    ("patch", "/conversations/{conversation_id}"): ("updateConversation", INBOX),
    ("put", "/conversations/{conversation_id}/labels/{label}"): ("addConversationLabel", INBOX),
    ("delete", "/conversations/{conversation_id}/labels/{label}"): ("removeConversationLabel", INBOX),
    ("get", "/conversations/{conversation_id}/notes"): ("listConversationNotes", INBOX),
    ("post", "/conversations/{conversation_id}/notes"): ("addConversationNote", INBOX),
    ("post", "/media"): ("uploadMedia", MEDIA),
    ("get", "/media/{media_id}"): ("downloadMedia", MEDIA),
    ("get", "/templates"): ("listTemplates", TEMPLATES),
    ("post", "/templates/sync"): ("syncTemplates", TEMPLATES),
    ("get", "/ws"): ("streamEvents", EVENTS),
    ("get", "/webhook-endpoints"): ("listWebhookEndpoints", WEBHOOK_ENDPOINTS),
    ("post", "/webhook-endpoints"): ("createWebhookEndpoint", WEBHOOK_ENDPOINTS),
    ("get", "/webhook-endpoints/{endpoint_id}"): ("getWebhookEndpoint", WEBHOOK_ENDPOINTS),
    ("patch", "/webhook-endpoints/{endpoint_id}"): ("updateWebhookEndpoint", WEBHOOK_ENDPOINTS),
    ("delete", "/webhook-endpoints/{endpoint_id}"): ("deleteWebhookEndpoint", WEBHOOK_ENDPOINTS),
    ("get", "/webhook-endpoints/{endpoint_id}/deliveries"): ("listWebhookDeliveries", WEBHOOK_ENDPOINTS),
    ("post", "/webhook-endpoints/{endpoint_id}/replay"): ("replayWebhookEvents", WEBHOOK_ENDPOINTS),
    ("post", "/webhook-endpoints/{endpoint_id}/rotate-secret"): (
        "rotateWebhookEndpointSecret",
        WEBHOOK_ENDPOINTS,
    ),
    ("post", "/webhook-endpoints/{endpoint_id}/test"): ("testWebhookEndpoint", WEBHOOK_ENDPOINTS),
    ("get", "/webhooks/whatsapp"): ("verifyWhatsappWebhook", META_WEBHOOKS),
    ("post", "/webhooks/whatsapp"): ("receiveWhatsappNotification", META_WEBHOOKS),
    ("get", "/healthz"): ("getHealth", OPERABILITY),
    ("get", "/readyz"): ("getReadiness", OPERABILITY),
    ("get", "/metrics"): ("getMetrics", OPERABILITY),
    ("get", "/openapi.json"): ("getOpenApiDocument", OPERABILITY),
    ("get", "/docs"): ("getApiReference", OPERABILITY),
    ("get", "/admin/accounts"): ("listAccounts", ADMINISTRATION),
    ("post", "/admin/accounts"): ("createAccount", ADMINISTRATION),
    ("get", "/admin/accounts/{account_id}"): ("getAccount", ADMINISTRATION),
    ("patch", "/admin/accounts/{account_id}"): ("updateAccount", ADMINISTRATION),
    ("post", "/admin/accounts/{account_id}/api-keys"): ("createApiKey", ADMINISTRATION),
    ("get", "/admin/api-keys"): ("listApiKeys", ADMINISTRATION),
    ("post", "/admin/api-keys/{key_id}/revoke"): ("revokeApiKey", ADMINISTRATION),
}


def with_operation_ids(paths: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`paths` with each operation's operationId and tag from OPERATIONS."""
    named: dict[str, dict[str, Any]] = {}
    for path, operations in paths.items():
        named[path] = {}
        for method, operation in operations.items():
            if (method, path) not in OPERATIONS:
                raise KeyError(f"{method.upper()} {path} has no operationId in openapi_operations.py")
            operation_id, tag = OPERATIONS[(method, path)]
            named[path][method] = {"operationId": operation_id, "tags": [tag], **operation}
    return named


def tags_used(paths: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    """The TAGS of the operations in `paths` (named by with_operation_ids), in TAGS' order."""
    used = {
        tag for operations in paths.values() for operation in operations.values() for tag in operation["tags"]
    }
    return [tag for tag in TAGS if tag["name"] in used]
