# One image for every pigeon process: gateway, conversations, sender, the migration job
# and the WhatsApp simulator. docker-compose.yml picks the process with `command`.
#
# The code runs from its source tree in /app (PYTHONPATH=/app/gen:/app, as `make run` does)
# rather than from an installed wheel: pyproject's setuptools list finds only packages with
# an __init__.py, so a wheel would miss services/conversations/migrations/ (Alembic's env.py,
# script.py.mako and versions/), and the generated gRPC code lives outside any package anyway.
# So pip installs the project's *dependencies* only, read from pyproject.toml.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONPATH=/app/gen:/app

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so that editing the code reuses this layer.
# - pgserver (an embedded PostgreSQL for `make run`) is left out: in compose the database is
#   the postgres service, and only tools/stack.py imports pgserver, lazily.
# - grpcio-tools is resolved together with the runtime dependencies so that the generated code
#   matches the installed grpcio and protobuf; it is only needed at build time (see below).
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; print('\n'.join(d for d in deps if not d.startswith('pgserver')))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt grpcio-tools \
    && rm /tmp/requirements.txt

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

# Non-root, with no home and no shell. /app stays owned by root, read-only for the processes.
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin pigeon
USER pigeon

# No secrets and no addresses are baked in: every setting comes from the environment
# (see docker-compose.yml). The default command is the gateway; compose sets each one.
CMD ["python", "-m", "services.gateway"]
