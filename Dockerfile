# One image for every pigeon process: gateway, conversations, sender, the migration job
# and the WhatsApp simulator. docker-compose.yml picks the process with `command`.
#
# The code runs from its source tree in /app (PYTHONPATH=/app/gen:/app, as `make run` does)
# rather than from an installed wheel: pyproject's setuptools list finds only packages with
# an __init__.py, so a wheel would miss services/conversations/migrations/ (Alembic's env.py,
# script.py.mako and versions/), and the generated gRPC code lives outside any package anyway.
# So pip installs the project's *dependencies* only, from their lock (requirements/runtime.txt).
#
# Two stages: the builder installs the dependencies into a venv and generates the gRPC code;
# the final image copies the venv and /app from it, and nothing else (no pip cache, no build
# tools, no layer that ever held grpcio-tools).
#
# The base image is python:3.11-slim (3.11.16, Debian trixie), pinned by the digest of its
# multi-platform index so that every build starts from the same bytes. To move to a newer one:
#   docker buildx imagetools inspect python:3.11-slim     # the "Digest:" line
# then replace the digest below and rebuild; `make lock` needs no change while it is CPython 3.11.
ARG PYTHON_IMAGE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PATH=/opt/venv/bin:$PATH

# Dependencies first, from the lock alone, so that editing the code reuses this layer. The lock
# (tools/lock.py) has every file's hash, the versions `make test` ran, and:
# - no pgserver (an embedded PostgreSQL for `make run`): in compose the database is the postgres
#   service, and only tools/stack.py imports pgserver, lazily;
# - grpcio-tools, resolved together with the runtime dependencies so that the generated code
#   matches the installed grpcio and protobuf; it is only needed here (see below).
# The venv sits at the same path in both stages: its scripts name their interpreter by path.
COPY requirements/runtime.txt /tmp/runtime.txt
RUN python -m venv /opt/venv \
    && pip install --require-hashes -r /tmp/runtime.txt

WORKDIR /app

# Only what the processes need: no tests, bench, docs (see also .dockerignore).
COPY protos ./protos
COPY services ./services
COPY tools ./tools

# The gRPC code is generated here, in the image (gen/ is git-ignored and never copied in),
# then the generator is removed; the generated modules need only grpcio and protobuf.
# Byte-compiling now saves the non-root user, who cannot write to /app, doing it at each start.
RUN python -m tools.protogen \
    && pip uninstall --yes grpcio-tools \
    && python -m compileall -q gen services tools

FROM ${PYTHON_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app/gen:/app

COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app
WORKDIR /app

# Non-root, with no home and no shell. /app and the venv stay owned by root, read-only for
# the processes.
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin pigeon
USER pigeon

# No secrets and no addresses are baked in: every setting comes from the environment
# (see docker-compose.yml). The default command is the gateway; compose sets each one.
CMD ["python", "-m", "services.gateway"]
