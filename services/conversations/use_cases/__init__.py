"""What the conversations service does, one module per use case: transport-free (no gRPC)
and SQL-free. Each talks to storage and to the sender through the small interfaces of
`ports.py`, which the adapters implement and the unit tests fake."""

from dataclasses import dataclass

from services.conversations.use_cases.admin import Administration
from services.conversations.use_cases.directory import Directory
from services.conversations.use_cases.events import EventHub
from services.conversations.use_cases.inbox import Inbox
from services.conversations.use_cases.media_files import MediaFiles
from services.conversations.use_cases.outbound import OutboundMessages
from services.conversations.use_cases.outcomes import Outcomes
from services.conversations.use_cases.read_receipts import ReadReceipts
from services.conversations.use_cases.reading import Reading
from services.conversations.use_cases.send_now import SendNow
from services.conversations.use_cases.templates import Templates
from services.conversations.use_cases.webhooks import Webhooks


@dataclass(frozen=True)
class UseCases:
    """The use cases the gRPC servicer serves, built once by `wiring.py`."""

    directory: Directory
    outbound: OutboundMessages
    send_now: SendNow
    outcomes: Outcomes
    reading: Reading
    events: EventHub
    webhooks: Webhooks
    media: MediaFiles
    read_receipts: ReadReceipts
    templates: Templates
    admin: Administration
    inbox: Inbox
