# syntax=docker/dockerfile:1
#
# latchkey's image: a release build, then a final image of the binary on
# Debian 12's distroless base (libc, libgcc, CA certificates, tzdata; no
# shell, no package manager, no curl) running as the non-root user 65532.
#
#   docker build -t latchkey .
#   docker run --read-only -p 8080:8080 -v latchkey-data:/var/lib/latchkey latchkey
#
# The root file system can be read-only: latchkey writes only to its data
# directory, /var/lib/latchkey (a volume). The health check is
# `latchkey health` (GET /health/ready on the listen address).
# scripts/image-rootfs-check.sh builds the same root file system with
# mmdebstrap and signs a user in on it, where no container engine runs.

ARG RUST_VERSION=1.90
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
WORKDIR /src
# The manifests and sources only (.dockerignore leaves out target/, bench/, docs/).
COPY Cargo.toml Cargo.lock ./
COPY crates crates
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p latchkey-server --bin latchkey \
    && install -D -m 0755 target/release/latchkey /out/usr/local/bin/latchkey \
    && install -d -m 0700 /out/var/lib/latchkey

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/usr/local/bin/latchkey /usr/local/bin/latchkey
COPY --from=build --chown=65532:65532 /out/var/lib/latchkey /var/lib/latchkey
ENV LATCHKEY_LISTEN=0.0.0.0:8080 \
    LATCHKEY_DATA_DIR=/var/lib/latchkey \
    LATCHKEY_LOG_FORMAT=json
WORKDIR /var/lib/latchkey
VOLUME ["/var/lib/latchkey"]
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/usr/local/bin/latchkey", "health", "--timeout", "4"]
ENTRYPOINT ["/usr/local/bin/latchkey"]
CMD ["serve"]
