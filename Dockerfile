# syntax=docker/dockerfile:1
#
# Multi-stage build: compile with the locked dependencies, run as a non-root user on a slim
# base. TLS uses rustls with the system's CA roots (ca-certificates).
#
#   docker build -t ado-ingest .
#   docker run --rm -v "$PWD/ado-ingest.toml:/etc/ado-ingest/ado-ingest.toml:ro" -p 8080:8080 \
#     -e ADO_REPOS_PAT ado-ingest
#
# The default command is the long-running service (`run`); `sync` is the one-shot pass for cron.
# The config must set `[server] listen = "0.0.0.0:8080"`: 127.0.0.1 inside a container is not
# reachable through a published port (deploy/ has a complete example).

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Everything the workspace needs to build: both members' manifests and sources, the migrations
# (`sqlx::migrate!` embeds them), config/ (`include_str!("../config/demo.toml")` for `demo`)
# and benches/ (Cargo.toml declares the bench targets, so their files must exist).
COPY Cargo.toml Cargo.lock ./
COPY sim/Cargo.toml sim/Cargo.toml
COPY sim/src sim/src
COPY src src
COPY migrations migrations
COPY config config
COPY benches benches
# The registry and target caches survive between builds (BuildKit); the binary is copied out of
# the cache mount so the next stage can take it.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin ado-ingest \
 && install -D -m 0755 target/release/ado-ingest /out/ado-ingest

FROM debian:bookworm-slim
# ca-certificates is left unpinned on purpose: it must follow the distribution's security
# updates (CA roots are added and revoked), which a pinned version would freeze.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 ado-ingest \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/ado-ingest --create-home \
      --shell /usr/sbin/nologin ado-ingest \
 && mkdir -p /etc/ado-ingest
COPY --from=build /out/ado-ingest /usr/local/bin/ado-ingest
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# The working directory is where a SQLite `database.url` with a relative path lands.
WORKDIR /var/lib/ado-ingest
EXPOSE 8080
# `run` stops its connectors between pages and exits within 10 s of SIGTERM.
STOPSIGNAL SIGTERM
# `healthcheck` asks http://127.0.0.1:8080/healthz, so the image needs no curl. The start period
# covers connecting to the database and applying migrations.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/ado-ingest", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/ado-ingest"]
CMD ["run", "--config", "/etc/ado-ingest/ado-ingest.toml"]
