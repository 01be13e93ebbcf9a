#!/usr/bin/env bash
# make fresh-host-check: rehearses a new machine. builder/setup-host.sh runs
# in a privileged container started from a bare Debian (mmdebstrap minbase,
# made by osforge itself) that has what a new machine of our kind has — a
# Docker client without an engine, Node 20, make, git — and nothing else: no
# dockerd, no arch-test, no QEMU, no node_modules. Afterwards, inside it:
# an engine answers (Docker-in-Docker on its own data root), mmdebstrap gets
# past its foreign-arch check for arm64, `npx osforge --help` works and
# `make test-unit` passes. Any install step missing from setup fails here.
#
#   FRESH_HOST_DROP="arch-test ..."  withhold packages from setup (to prove
#                                    that the rehearsal catches a missing one)
#   FRESH_HOST_KEEP=1                keep the container and its files
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$root"

say() { printf 'fresh-host: %s\n' "$*"; }
fail() { printf 'fresh-host: FAIL: %s\n' "$*" >&2; exit 1; }
step() { # step <name> <command...>: runs inside the container, timed
  local name=$1; shift
  local start=$SECONDS
  say "$name"
  if ! docker exec "${env_args[@]}" "$ctr" bash -c "$*"; then
    fail "$name (after $((SECONDS - start)) s)"
  fi
  say "  ok: $name ($((SECONDS - start)) s)"
}

image=$(node_modules/.bin/tsx test/fresh-host/bare-image.ts 2>/dev/null) || fail "cannot make the bare Debian image (run: node_modules/.bin/tsx test/fresh-host/bare-image.ts)"
client=$(command -v docker) || fail "no docker client on this host; run make setup"
node_bin=$(readlink -f "$(command -v node)")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")

work=$(mktemp -d /tmp/osforge-fresh-host.XXXXXX)
ctr="osforge-fresh-host-$$"
cleanup() {
  [ "${FRESH_HOST_KEEP:-}" = 1 ] && { say "kept container $ctr and $work"; return; }
  docker rm -f "$ctr" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The checkout as CI has it: tracked and new files, no node_modules, no state.
mkdir -p "$work/src" "$work/docker"
git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' \
  | tar --null -T - -cf - | tar -xf - -C "$work/src"

say "starting a bare Debian ($image) with a Docker client and no engine"
# --privileged minus CAP_SYS_RESOURCE, which this sandbox does not grant (a
# plain --privileged fails here with "unable to apply caps"): what dockerd
# needs is mounts, cgroups and devices, all given explicitly.
docker run -d --name "$ctr" --label osforge.fresh-host=1 \
  --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
  --security-opt systempaths=unconfined --cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup:rw --device-cgroup-rule 'a *:* rwm' \
  -v "$work/src:/src" -v "$work/docker:/var/lib/docker" \
  -v "$client:/usr/local/bin/docker:ro" -v "$node_bin:/usr/local/bin/node:ro" -v "$npm_dir:/usr/local/lib/node_modules/npm:ro" \
  -w /src "$image" sleep infinity >/dev/null
docker exec "$ctr" sh -c 'ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s /usr/local/lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx'
# The machine kind trusts its network's CAs (system store + NODE_EXTRA_CA_CERTS); so does the rehearsal.
env_args=(-e CI=true -e "OSFORGE_SETUP_SKIP=${FRESH_HOST_DROP:-}" -w /src)
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  docker cp -q /usr/local/share/ca-certificates/. "$ctr:/usr/local/share/ca-certificates/"
  docker exec "$ctr" update-ca-certificates >/dev/null 2>&1 || fail "update-ca-certificates in the container"
fi
[ -n "${NODE_EXTRA_CA_CERTS:-}" ] && env_args+=(-e "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt")
step "it really is a new machine (client, no engine, no arch-test, no QEMU, no node_modules)" \
  'command -v docker >/dev/null && ! command -v dockerd && ! command -v arch-test && ! command -v qemu-system-x86_64 && [ ! -d node_modules ]'
step "builder/setup-host.sh" 'builder/setup-host.sh'
step "an engine answers (Docker-in-Docker, own data root)" \
  'docker version --format "engine {{.Server.Version}}" && [ "$(docker info --format "{{.DockerRootDir}}")" = /var/lib/docker ]'
# A full arm64 bootstrap is minutes under emulation; what setup owes is the
# foreign-arch check, which mmdebstrap runs (arch-test through binfmt) before
# anything else. --variant=custom with one package stops soon after it.
step "mmdebstrap --arch=arm64 gets past its foreign-arch check" \
  '. /etc/os-release; src=$(ls /etc/apt/sources.list /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
   out=$(mmdebstrap --variant=custom --include=busybox-static --arch=arm64 "$VERSION_CODENAME" /tmp/arm64.tar "$src" 2>&1 || true)
   if ! printf "%s\n" "$out" | grep -q "arm64 cannot be executed natively, but transparently using qemu-user"; then
     printf "%s\n" "$out" | grep -E "^(E|W):" | head -n 5; exit 1
   fi'
step "npx osforge --help" 'npx osforge --help | head -n 1 | grep -q "usage: osforge"'
step "make test-unit" 'make test-unit'
say "PASSED: a new machine runs setup, an engine, an arm64 bootstrap, osforge and the unit tests"
