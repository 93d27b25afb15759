#!/usr/bin/env bash
# `npm run nats:fetch`: puts a nats-server that serializes compare-and-set on replicated streams (2.9.21 or
# newer; nats-server#4320) at .cache/nats-server/nats-server, for the tests and benchmarks that start a
# replicated JetStream cluster (@taskjet/testing startCluster). Debian bookworm ships 2.9.10, on which two
# concurrent KV updates with the same expected revision both succeed on an R3 bucket; taskjet refuses
# replicas > 1 there (docs/operations.md).
#
# Does nothing when that file is already there, or when nats-server on PATH is new enough. Otherwise it
# downloads Debian trixie's nats-server package with apt itself (signature-checked against the machine's
# Debian keyring), using a private sources list and cache: the machine's apt configuration is not touched
# and no package is installed. Needs only apt-get, dpkg-deb and Debian's mirror (DEBIAN_MIRROR).
set -euo pipefail
cd "$(dirname "$0")/../../.."
dest=.cache/nats-server
min=2.9.21

newer_than_min() { # version string -> exit 0 when >= $min
  [[ "$(printf '%s\n%s\n' "$min" "$1" | sort -V | head -1)" == "$min" ]]
}
version_of() { "$1" --version 2>/dev/null | sed -n 's/^nats-server: v//p'; }

if [[ -x $dest/nats-server ]] && newer_than_min "$(version_of "$dest/nats-server")"; then
  exit 0
fi
if command -v nats-server >/dev/null && newer_than_min "$(version_of "$(command -v nats-server)")"; then
  exit 0
fi
for tool in apt-get dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "nats:fetch: $tool is missing; install nats-server >= $min on PATH instead" >&2; exit 1; }
done

work=$(mktemp -d /tmp/taskjet-nats-fetch.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/x"
echo "deb ${DEBIAN_MIRROR:-http://deb.debian.org/debian} trixie main" >"$work/sources.list"
apt=(apt-get -qq
  -o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
  -o "Debug::NoLocking=1" -o "APT::Sandbox::User=$(id -un)")
"${apt[@]}" update
(cd "$work" && "${apt[@]}" download nats-server)
dpkg-deb -x "$work"/nats-server_*.deb "$work/x"
mkdir -p "$dest"
install -m 0755 "$work/x/usr/sbin/nats-server" "$dest/nats-server"
echo "nats:fetch: $dest/nats-server $(version_of "$dest/nats-server") (Debian trixie's package)"
