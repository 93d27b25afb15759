#!/usr/bin/env bash
# `npm run images`: builds the taskjet image on a machine that reaches no image registry.
#
#   1. taskjet-local/debian:bookworm   debootstrap --variant=minbase bookworm, imported with `docker import`
#                                      (skipped when the image exists; TASKJET_REBUILD_BASE=1 redoes it)
#   2. taskjet-local/node:20-bookworm  that + this machine's node binary, npm and CA bundle (node.Dockerfile)
#   3. taskjet-local/nats:bookworm     that + Debian trixie's nats-server package, 2.10 (nats.Dockerfile)
#   4. taskjet:latest                  the top-level Dockerfile with NODE_IMAGE=taskjet-local/node:20-bookworm
#
# Needs root (debootstrap), a running Docker engine, Debian's mirror and the npm registry. Builds run with
# host networking (the engine here runs with --bridge=none) and the classic builder (DOCKER_BUILDKIT=0:
# Debian's docker.io 20.10 has no buildx). Where a registry is reachable, `docker build .` with the public
# node image does step 4 alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOCKER_BUILDKIT=0

BASE_IMAGE=${TASKJET_BASE_IMAGE:-taskjet-local/debian:bookworm}
NODE_IMAGE=${TASKJET_NODE_IMAGE:-taskjet-local/node:20-bookworm}
NATS_IMAGE=${TASKJET_NATS_IMAGE:-taskjet-local/nats:bookworm}
IMAGE=${TASKJET_IMAGE:-taskjet:latest}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if ! docker info >/dev/null 2>&1; then
  echo "images: no Docker engine answers (start dockerd; see docs/operations.md)" >&2
  exit 1
fi
started=$SECONDS
step() { echo "images: [$((SECONDS - started))s] $*"; }

work=$(mktemp -d /tmp/taskjet-images.XXXXXX)
trap 'rm -rf "$work"' EXIT

if [[ "${TASKJET_REBUILD_BASE:-0}" == 1 ]] || ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { echo "images: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
  step "debootstrap bookworm (minbase) from $MIRROR"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  # no apt caches or package lists in the image
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  step "docker import -> $BASE_IMAGE"
  tar -C "$work/rootfs" -c . | docker import -c 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$work/rootfs"
else
  step "$BASE_IMAGE exists (TASKJET_REBUILD_BASE=1 rebuilds it)"
fi

node_bin=$(command -v node)
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
step "$NODE_IMAGE from $node_bin ($(node --version)) and $npm_dir"
mkdir -p "$work/node"
cp "$(readlink -f "$node_bin")" "$work/node/node"
cp -a "$npm_dir" "$work/node/npm"
cp deploy/images/node.Dockerfile "$work/node/Dockerfile"
# the machine's trust store: npm in the build stage must trust what this machine's npm trusts
cp "${TASKJET_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}" "$work/node/ca-certificates.crt"
docker build -q --network host --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$NODE_IMAGE" "$work/node" >/dev/null

step "$NATS_IMAGE (Debian trixie's nats-server)"
docker build -q --network host --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "DEBIAN_MIRROR=$MIRROR" -t "$NATS_IMAGE" \
  -f deploy/images/nats.Dockerfile deploy/images >/dev/null

step "$IMAGE (Dockerfile, NODE_IMAGE=$NODE_IMAGE)"
docker build --network host --build-arg "NODE_IMAGE=$NODE_IMAGE" -t "$IMAGE" . >"$work/taskjet.log" 2>&1 \
  || { tail -40 "$work/taskjet.log" >&2; exit 1; }
step "done: $IMAGE $NATS_IMAGE $NODE_IMAGE $BASE_IMAGE"
