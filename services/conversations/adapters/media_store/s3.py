"""The media store on an S3-compatible bucket (AWS S3, MinIO, Ceph, R2, ...), through one
aiobotocore client per store. An object is written in 8 MiB parts of a multipart upload (one
`put_object` when it fits in one), so at most one part per writer is in memory, and it
appears whole when the upload completes; an upload left unfinished is aborted.

Timeouts are short and retries few: a store that is down fails a call in seconds, and the
caller answers 503 or retries later, rather than holding a request for minutes."""

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from typing import Any

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore import exceptions as boto_errors

from services.conversations.adapters.media_store import (
    DEFAULT_CHUNK_SIZE,
    MediaObjectMissing,
    MediaStoreUnavailable,
    attachment_disposition,
    check_key,
    check_range,
)

log = logging.getLogger(__name__)

# S3 wants parts of at least 5 MiB but the last; more bytes a part means fewer requests.
PART_SIZE = 8 * 1024 * 1024
MAX_CONNECTIONS = 128

_UNREACHABLE = (
    boto_errors.ConnectionError,  # refused, DNS, connect timeout, TLS
    boto_errors.HTTPClientError,  # read timeout, connection closed, a body cut short
    boto_errors.IncompleteReadError,
    # Credentials missing or unreadable: an operator's to mend, as for a store that is down.
    boto_errors.NoCredentialsError,
    boto_errors.PartialCredentialsError,
    aiohttp.ClientError,
    TimeoutError,
)
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


def _status(exc: boto_errors.ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


@contextmanager
def _s3_errors(key: str) -> Iterator[None]:
    """botocore's errors as the store's. Whatever S3 refuses but an absent key (5xx,
    throttling, and also a missing bucket or denied access, which an operator fixes) is
    Unavailable: the caller can only retry later. The messages carry no credentials."""
    try:
        yield
    except boto_errors.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _MISSING_CODES:
            raise MediaObjectMissing(key) from exc
        raise MediaStoreUnavailable(f"media store: {key}: S3 answered {_status(exc)} {code}") from exc
    except _UNREACHABLE as exc:
        raise MediaStoreUnavailable(f"media store: {key}: S3 unreachable ({type(exc).__name__})") from exc


class S3MediaStore:
    def __init__(self, client: Any, bucket: str, resources: AsyncExitStack) -> None:
        self._client = client
        self.bucket = bucket
        self._resources = resources

    @classmethod
    async def open(
        cls,
        *,
        endpoint_url: str,
        bucket: str,
        region: str,
        access_key_id: str,
        secret_access_key: str,
        connect_timeout_seconds: float = 2.0,
        read_timeout_seconds: float = 10.0,
        max_attempts: int = 2,
    ) -> "S3MediaStore":
        """The store on `bucket`; "" for `endpoint_url`, `region` or the keys means botocore's
        defaults (AWS; the environment's or the instance's credentials). Nothing is sent yet."""
        config = AioConfig(
            connect_timeout=connect_timeout_seconds,
            read_timeout=read_timeout_seconds,
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            # A download served to a slow client holds its connection while it reads: room for
            # many, so that they cannot starve the copies (botocore's default is 10).
            max_pool_connections=MAX_CONNECTIONS,
            # S3-compatible servers on a host name of their own (http://minio:9000) have no
            # <bucket>.<host> names: path-style addresses reach them all.
            s3={"addressing_style": "path"} if endpoint_url else None,
            # Presigned URLs signed with SigV4 (X-Amz-Signature): SigV2's are refused by AWS in
            # most regions and by newer S3-compatible servers.
            signature_version="s3v4",
            # botocore adds CRC checksums to every upload by default since 1.36, which several
            # S3-compatible servers refuse: only where the API requires them.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        resources = AsyncExitStack()
        client = await resources.enter_async_context(
            get_session().create_client(
                "s3",
                endpoint_url=endpoint_url or None,
                region_name=region or None,
                aws_access_key_id=access_key_id or None,
                aws_secret_access_key=secret_access_key or None,
                config=config,
            )
        )
        return cls(client, bucket, resources)

    @asynccontextmanager
    async def writer(self, key: str, content_type: str) -> AsyncIterator["S3Writer"]:
        check_key(key)
        writer = S3Writer(self._client, self.bucket, key, content_type)
        try:
            yield writer
        finally:
            if not writer.committed:
                await asyncio.shield(writer.abort())

    async def read(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> AsyncIterator[bytes]:
        check_key(key)
        check_range(start, end, chunk_size)
        if end == start:  # no bytes to ask for, but an absent object still says so
            with _s3_errors(key):
                await self._client.head_object(Bucket=self.bucket, Key=key)
            return
        params = {"Bucket": self.bucket, "Key": key}
        if start or end is not None:
            params["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        with _s3_errors(key):
            try:
                answer = await self._client.get_object(**params)
            except boto_errors.ClientError as exc:
                if _status(exc) == 416:  # the range starts at or past the end: no bytes
                    return
                raise
        async with answer["Body"] as body:
            while True:
                with _s3_errors(key):
                    chunk = await body.read(chunk_size)
                if not chunk:
                    return
                yield chunk

    async def delete(self, key: str) -> None:
        check_key(key)
        with _s3_errors(key):
            await self._client.delete_object(Bucket=self.bucket, Key=key)

    async def presigned_url(self, key: str, *, expires_seconds: int, filename: str, content_type: str) -> str:
        """Signed here, without a request: S3 checks the signature and the expiry when the
        client comes. The URL is a credential for that object: never log it."""
        check_key(key)
        params = {
            "Bucket": self.bucket,
            "Key": key,
            "ResponseContentDisposition": attachment_disposition(filename),
            "ResponseContentType": content_type,
        }
        url: str = await self._client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires_seconds
        )
        return url

    async def close(self) -> None:
        await self._resources.aclose()


class S3Writer:
    """Bytes buffered until a part is full (8 MiB, or a little more: the part ends with the
    chunk that filled it); the first full part starts the multipart upload."""

    def __init__(self, client: Any, bucket: str, key: str, content_type: str) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._content_type = content_type
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self.committed = False

    def _check_open(self) -> None:
        if self.committed:
            raise RuntimeError(f"media object {self._key} is already committed")

    async def write(self, chunk: bytes) -> None:
        self._check_open()
        self._buffer += chunk
        if len(self._buffer) >= PART_SIZE:
            await self._upload_part()

    async def _upload_part(self) -> None:
        # The buffer itself is the part's body: handed over, not copied.
        body, self._buffer = self._buffer, bytearray()
        with _s3_errors(self._key):
            if self._upload_id is None:
                created = await self._client.create_multipart_upload(
                    Bucket=self._bucket, Key=self._key, ContentType=self._content_type
                )
                self._upload_id = str(created["UploadId"])
            number = len(self._parts) + 1
            answer = await self._client.upload_part(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=body
            )
        self._parts.append({"ETag": answer["ETag"], "PartNumber": number})

    async def commit(self) -> None:
        self._check_open()
        if self._upload_id is None:
            body, self._buffer = self._buffer, bytearray()
            with _s3_errors(self._key):
                await self._client.put_object(
                    Bucket=self._bucket, Key=self._key, Body=body, ContentType=self._content_type
                )
        else:
            if self._buffer:
                await self._upload_part()
            with _s3_errors(self._key):
                await self._client.complete_multipart_upload(
                    Bucket=self._bucket,
                    Key=self._key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
        self.committed = True

    async def abort(self) -> None:
        """Drops the buffer and the upload's parts. One that cannot be aborted now (the store
        is away) is left to the bucket's lifecycle rule for incomplete multipart uploads."""
        self._buffer = bytearray()
        if self._upload_id is None:
            return
        try:
            with _s3_errors(self._key):
                await self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=self._key, UploadId=self._upload_id
                )
        except (MediaStoreUnavailable, MediaObjectMissing) as exc:
            log.warning("media store: the upload of %s could not be aborted: %s", self._key, exc)
