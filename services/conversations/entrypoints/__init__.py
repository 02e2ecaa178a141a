"""How work comes in: gRPC calls (`grpc_api.py`) and the outbox's own loop (`outbox_worker.py`)."""
