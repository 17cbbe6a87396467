# syntax=docker/dockerfile:1
# lastpass-operator container image: the release binary on an empty (`scratch`) root with only
# what it needs, non-root.
#
#   docker build --build-arg REVISION=$(git rev-parse HEAD) --build-arg VERSION=0.1.0 \
#     -t lastpass-operator:dev .
#   docker run --rm lastpass-operator:dev crds          # any subcommand; default: run
#
# Two stages: a Rust builder (dependencies compiled in their own cached layer, so a source change
# rebuilds only the crate) that also lays out the runtime root with image/rootfs.sh, and a
# `FROM scratch` runtime holding that root: the binary, the shared libraries ldd lists (glibc,
# libm, libgcc_s, the loader; TLS is rustls: no OpenSSL), the CA bundle and an /etc/passwd entry
# for uid 65532 (image/runtime.list). No shell, no package manager.
#
# scripts/image.sh builds the same runtime stage (this file's, from `FROM scratch` on) with buildah
# from a locally built release binary, where no registry is reachable; tests/image_recipe.rs and
# the script's own checks keep the two from drifting.

ARG RUST_IMAGE=rust:1.95-bookworm

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

# 3. The runtime root, from image/runtime.list (the same script scripts/image.sh runs).
COPY image ./image
RUN image/rootfs.sh /out/lastpass-operator /rootfs

FROM scratch AS runtime
# The source revision (git rev-parse HEAD) and version the image is built from.
ARG REVISION=unknown
ARG VERSION=unknown
COPY --from=builder /rootfs/ /
LABEL org.opencontainers.image.title="lastpass-operator" \
      org.opencontainers.image.description="Kubernetes operator that manages LastPass Business users and groups" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# The passwd entry's "nonroot" user; the Helm chart runs the same uid with a read-only root.
USER 65532:65532
# 8080: /metrics, /healthz, /readyz; 8443: SCIM 2.0.
EXPOSE 8080 8443
ENTRYPOINT ["/lastpass-operator"]
CMD ["run"]
