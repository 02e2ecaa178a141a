"""The conversations service's pure part: its records and errors, and the decisions it makes
(how statuses move, how sends are paced and retried), as functions of their inputs: no SQL,
no gRPC, no clock of their own."""
