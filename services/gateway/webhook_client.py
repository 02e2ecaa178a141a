"""Webhook notifications to conversations: concurrent ones share a ReceiveWebhooks call
(see `batched_calls.py`), as queued sends share theirs."""

import grpc
from pigeon.conversations.v1 import conversations_pb2 as pb
from pigeon.conversations.v1 import conversations_pb2_grpc

from services.gateway.batched_calls import BatchedCalls, item_status

# A call goes as soon as this many notifications wait for it, however short their linger.
LINGER_UNTIL = 8


def failed(code: grpc.StatusCode, message: str) -> pb.ReceiveWebhookResult:
    return pb.ReceiveWebhookResult(error=item_status(code, message))


class WebhookClient:
    def __init__(
        self, stub: conversations_pb2_grpc.ConversationsStub, rpc_timeout: float, linger_seconds: float
    ) -> None:
        self.stub = stub
        self._calls: BatchedCalls[pb.ReceiveWebhookRequest, pb.ReceiveWebhookResult] = BatchedCalls(
            "webhooks",
            batch=self._batch,
            alone=self._alone,
            failed=failed,
            size=lambda request: request.ByteSize(),
            rpc_timeout=rpc_timeout,
            linger_seconds=linger_seconds,
            # Under load enough share a call without waiting: the linger is for a trickle.
            linger_until=LINGER_UNTIL,
        )

    async def receive(self, body: bytes, signature: str) -> pb.ReceiveWebhookResult:
        return await self._calls.call(pb.ReceiveWebhookRequest(body=body, signature=signature))

    async def _batch(
        self, requests: list[pb.ReceiveWebhookRequest], seconds_left: float
    ) -> list[pb.ReceiveWebhookResult]:
        response = await self.stub.ReceiveWebhooks(
            pb.ReceiveWebhooksRequest(requests=requests), timeout=seconds_left
        )
        return list(response.results)

    async def _alone(self, request: pb.ReceiveWebhookRequest, seconds_left: float) -> pb.ReceiveWebhookResult:
        return pb.ReceiveWebhookResult(received=await self.stub.ReceiveWebhook(request, timeout=seconds_left))

    async def close(self) -> None:
        await self._calls.close()
