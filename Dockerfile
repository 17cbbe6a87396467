# syntax=docker/dockerfile:1
# lastpass-operator container image: a static-ish Rust binary on distroless, non-root.
#
#   docker build -t lastpass-operator:dev .
#   docker run --rm lastpass-operator:dev crds          # any subcommand; default: run
#
# Two stages: a Rust builder (dependencies compiled in their own cached layer, so a source change
# rebuilds only the crate) and a minimal runtime with glibc and libgcc only (TLS is rustls: no
# OpenSSL), no shell, no package manager.

ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${RUST_IMAGE} AS builder
WORKDIR /src

# 1. Dependencies only: the manifests with stub sources. This layer is reused until Cargo.toml
#    or Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && cargo build --locked --release --bin lastpass-operator \
 && rm -rf src

# 2. The operator itself. Touch the sources so cargo does not take the stubs' artifacts as fresh.
#    examples/ is compiled in (`demo` embeds it with include_str!).
COPY src ./src
COPY examples ./examples
RUN find src -name '*.rs' -exec touch {} + \
 && cargo build --locked --release --bin lastpass-operator \
 && install -D -m 0755 target/release/lastpass-operator /out/lastpass-operator \
 && /out/lastpass-operator --version

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="lastpass-operator" \
      org.opencontainers.image.description="Kubernetes operator that manages LastPass Business users and groups" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /out/lastpass-operator /lastpass-operator
# distroless's "nonroot" user; the Helm chart runs the same uid with a read-only root filesystem.
USER 65532:65532
# 8080: /metrics, /healthz, /readyz; 8443: SCIM 2.0.
EXPOSE 8080 8443
ENTRYPOINT ["/lastpass-operator"]
CMD ["run"]
