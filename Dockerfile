# Multi-stage build: compile with the locked dependencies, run as a non-root user on a slim
# base. TLS uses rustls with the system's CA roots (ca-certificates).
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY sim/Cargo.toml sim/Cargo.toml
COPY src src
COPY sim/src sim/src
COPY migrations migrations
COPY config config
COPY benches benches
RUN cargo build --release --locked --bin ado-ingest

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/ado-ingest --create-home ado-ingest
COPY --from=build /src/target/release/ado-ingest /usr/local/bin/ado-ingest
USER ado-ingest
WORKDIR /var/lib/ado-ingest
ENTRYPOINT ["/usr/local/bin/ado-ingest"]
CMD ["sync", "--config", "/etc/ado-ingest/ado-ingest.toml"]
