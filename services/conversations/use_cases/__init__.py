"""What the conversations service does, one module per use case: transport-free (no gRPC)
and SQL-free. Each talks to storage and to the sender through the small interfaces of
`ports.py`, which the adapters implement and the unit tests fake."""
