"""The media calls of the conversations servicer (grpc_api.py, which maps their errors to
statuses): a file's metadata, its bytes in chunks, an upload in chunks."""

from collections.abc import AsyncIterator

from pigeon.conversations.v1 import conversations_pb2 as pb

from services.conversations.domain.errors import InvalidArgument
from services.conversations.entrypoints.protobuf import media_to_proto, parse_id
from services.conversations.use_cases import UseCases


async def get_media(use: UseCases, request: pb.GetMediaRequest) -> pb.Media:
    account_id = parse_id(request.account_id, "account")
    media_id = parse_id(request.media_id, "media")
    media, url = await use.media.get(account_id, media_id, request.presign)
    return media_to_proto(media, url)


async def read_media(use: UseCases, request: pb.ReadMediaRequest) -> AsyncIterator[pb.MediaChunk]:
    account_id = parse_id(request.account_id, "account")
    media_id = parse_id(request.media_id, "media")
    async for chunk in use.media.read(account_id, media_id, request.offset, request.length):
        yield pb.MediaChunk(data=chunk)


async def upload_media(use: UseCases, requests: AsyncIterator[pb.UploadMediaRequest]) -> pb.Media:
    first = await anext(requests, None)
    if first is None or first.WhichOneof("part") != "header":
        raise InvalidArgument("the first message of an upload is its header")
    account_id = parse_id(first.header.account_id, "account")

    async def data() -> AsyncIterator[bytes]:
        async for request in requests:
            if request.WhichOneof("part") != "data":
                raise InvalidArgument("only the first message of an upload is a header")
            yield request.data

    media = await use.media.upload(account_id, first.header.mime_type, first.header.filename, data())
    return media_to_proto(media)
