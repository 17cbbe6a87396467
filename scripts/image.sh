#!/usr/bin/env bash
# image.sh — builds the Helm chart's default image (values.yaml image.repository, tag = the chart's
# appVersion) with buildah from the locally built release binary: no Docker engine and no
# registry needed. It is the Dockerfile's own runtime stage (`FROM scratch AS runtime` to the
# end), built over the root that image/rootfs.sh lays out from image/runtime.list, the same
# script the Dockerfile's builder stage runs; the only change is where that root is copied from.
#
#   scripts/image.sh      cargo build --release --locked, then build, check and print the image name
#
# LASTPASS_OPERATOR_IMAGE_BIN: use this release binary instead of building one.
# Then it checks the image: its files are exactly the root's manifest, its user, entrypoint, cmd,
# ports and OCI labels (revision = git HEAD) are the Dockerfile's, and it runs `--version`
# read-only, as uid 65532, with no capabilities (podman + runc). Installs buildah, podman and runc
# with apt-get when missing. Needs root (buildah/podman storage), jq and yq.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[image.sh] %s\n' "$*" >&2; }
fail() { printf '[image.sh] FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (buildah and podman with the system storage)"
missing=()
for t in buildah podman runc; do command -v $t >/dev/null || [ -x /usr/sbin/$t ] || missing+=("$t"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } \
    >/tmp/lpo-image-apt.log 2>&1 || { tail -n 20 /tmp/lpo-image-apt.log >&2; fail "apt-get install ${missing[*]}"; }
fi
for t in jq yq; do command -v $t >/dev/null || fail "'$t' not found"; done

CHART=charts/lastpass-operator
repo=$(yq -r .image.repository "$CHART/values.yaml")
tag=$(yq -r '.image.tag // ""' "$CHART/values.yaml")
[ -n "$tag" ] || tag=$(yq -r .appVersion "$CHART/Chart.yaml")
ref=$repo:$tag

bin=${LASTPASS_OPERATOR_IMAGE_BIN:-}
if [ -z "$bin" ]; then
  log "cargo build --release --locked --bin lastpass-operator"
  cargo build -q --release --locked --bin lastpass-operator
  bin=${CARGO_TARGET_DIR:-target}/release/lastpass-operator
fi
version=$("$bin" --version | awk '{print $2}')
[ "$version" = "$tag" ] || fail "the binary is version $version, the chart's image tag is $tag"
# The source revision: git HEAD, "-dirty" with uncommitted changes, "unknown" outside a checkout.
if revision=$(git rev-parse HEAD 2>/dev/null); then
  [ -z "$(git status --porcelain --untracked-files=no)" ] || revision=$revision-dirty
else
  revision=unknown
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/lpo-image.XXXXXX")
ctr=""
cleanup() {
  [ -z "$ctr" ] || { buildah umount "$ctr" >/dev/null 2>&1; buildah rm "$ctr" >/dev/null 2>&1; } || true
  rm -rf "$work"
}
trap cleanup EXIT

image/rootfs.sh "$bin" "$work/rootfs" >"$work/manifest"
# The Dockerfile's runtime stage, copying the root from the build context instead of the builder.
FROM_BUILDER='COPY --from=builder /rootfs/ /'
awk '/^FROM scratch AS runtime$/ {p = 1} p' Dockerfile >"$work/Containerfile.dockerfile"
[ "$(grep -c '^FROM ' "$work/Containerfile.dockerfile")" = 1 ] || fail "Dockerfile: no last stage 'FROM scratch AS runtime'"
[ "$(grep -cxF "$FROM_BUILDER" "$work/Containerfile.dockerfile")" = 1 ] ||
  fail "Dockerfile: the runtime stage must copy the root with exactly one '$FROM_BUILDER'"
[ "$(grep -c -- '--from=' "$work/Containerfile.dockerfile")" = 1 ] || fail "Dockerfile: the runtime stage copies from elsewhere too"
sed "s|^$FROM_BUILDER\$|COPY rootfs/ /|" "$work/Containerfile.dockerfile" >"$work/Containerfile"

log "buildah bud $ref (revision $revision)"
buildah bud -q --isolation chroot --layers=false -f "$work/Containerfile" \
  --build-arg "REVISION=$revision" --build-arg "VERSION=$version" -t "$ref" "$work" >"$work/bud.log" 2>&1 ||
  { cat "$work/bud.log" >&2; fail "buildah bud"; }

# The built image holds exactly the root's files, with their modes.
ctr=$(buildah from -q "$ref")
mnt=$(buildah mount "$ctr")
(cd "$mnt" && find . \( -type f -o -type l \) -printf '%m /%P\n' | sort -k2) >"$work/image-manifest"
diff -u "$work/manifest" "$work/image-manifest" >&2 || fail "the image's files differ from image/rootfs.sh's root"

# Its configuration is the Dockerfile's runtime stage's.
stage_json() {  # INSTRUCTION: the JSON array of the stage's INSTRUCTION line
  sed -n "s/^$1 //p" "$work/Containerfile.dockerfile"
}
user=$(sed -n 's/^USER //p' "$work/Containerfile.dockerfile")
ports=$(sed -n 's/^EXPOSE //p' "$work/Containerfile.dockerfile" | tr ' ' '\n' | jq -R -s -c 'split("\n") | map(select(. != "") | . + "/tcp") | sort')
buildah inspect --type image "$ref" | jq -e \
  --arg user "$user" --argjson ep "$(stage_json ENTRYPOINT)" --argjson cmd "$(stage_json CMD)" \
  --argjson ports "$ports" --arg rev "$revision" --arg ver "$version" '.OCIv1.config as $c |
  $c.User == $user and $c.Entrypoint == $ep and $c.Cmd == $cmd and ($c.ExposedPorts | keys | sort) == $ports and
  $c.Labels["org.opencontainers.image.revision"] == $rev and $c.Labels["org.opencontainers.image.version"] == $ver and
  ($c.Labels | has("org.opencontainers.image.title") and has("org.opencontainers.image.licenses"))' >/dev/null ||
  { buildah inspect --type image "$ref" | jq .OCIv1.config >&2; fail "the image's config differs from the Dockerfile's runtime stage"; }

# It runs read-only, non-root, without capabilities.
out=$(podman --runtime /usr/sbin/runc --cgroup-manager cgroupfs run --rm --read-only --cap-drop ALL \
  --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network none "$ref" --version 2>&1) ||
  fail "podman run $ref --version: $out"
[ "$out" = "lastpass-operator $version" ] || fail "podman run $ref --version printed '$out'"
size=$(podman image inspect --format '{{.Size}}' "$ref")
log "built $ref: $(wc -l <"$work/manifest") files, $((size / 1024 / 1024)) MiB ($size bytes), user $user, revision $revision"
echo "$ref"
