"""The gRPC face of message templates: protobuf in, use case call, protobuf out (errors become
statuses in grpc_errors.py's `maps_errors`)."""

import grpc
import orjson
from pigeon.conversations.v1 import templates_pb2 as pb
from pigeon.conversations.v1 import templates_pb2_grpc as pb_grpc

from services.conversations.domain.templates import ListedTemplate
from services.conversations.entrypoints.grpc_errors import maps_errors
from services.conversations.entrypoints.protobuf import parse_id, timestamp
from services.conversations.use_cases.templates import Templates


def template_to_proto(listed: ListedTemplate) -> pb.Template:
    template = listed.template
    return pb.Template(
        name=template.name,
        language=template.language,
        whatsapp_id=template.whatsapp_id,
        category=template.category,
        status=template.status,
        parameter_format=template.parameter_format,
        components_json=orjson.dumps(template.components),
        parameter_counts=template.parameter_counts,
        updated_at=timestamp(listed.updated_at),
    )


class TemplatesServicer(pb_grpc.TemplatesServicer):
    def __init__(self, templates: Templates) -> None:
        self.templates = templates

    @maps_errors
    async def ListTemplates(
        self, request: pb.ListTemplatesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListTemplatesResponse:
        page = await self.templates.list(
            parse_id(request.account_id, "account"),
            request.page_size,
            request.page_token,
            request.status,
            request.category,
            request.name,
        )
        return pb.ListTemplatesResponse(
            templates=[template_to_proto(t) for t in page.templates],
            next_page_token=page.next_page_token,
            synced_at=timestamp(page.synced_at),
            sync_failure=page.sync_failure,
        )

    @maps_errors
    async def SyncTemplates(
        self, request: pb.SyncTemplatesRequest, context: grpc.aio.ServicerContext
    ) -> pb.SyncTemplatesResponse:
        await self.templates.sync_now(parse_id(request.account_id, "account"))
        return pb.SyncTemplatesResponse()
