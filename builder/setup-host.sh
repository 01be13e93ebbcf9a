#!/usr/bin/env bash
# Prepares this host for osforge. Every check asks what a piece *does*, not
# whether a name is on PATH: a Docker client without an engine, or an
# mmdebstrap that cannot bootstrap a foreign arch, is not "installed" (a new
# machine of our kind has exactly those traps). Idempotent and quick when all
# is in place. Where it cannot act (not root, not Debian/Ubuntu) it names the
# missing piece and the command that installs it, then fails.
#
#   OSFORGE_SETUP_SKIP_NPM=1   do not run npm ci (the caller manages node_modules)
#   OSFORGE_SETUP_SKIP=<pkgs>  never install these packages (the fresh-host
#                              rehearsal uses it to prove setup fails without one)
#
# Sourced (`. builder/setup-host.sh`), it only defines its functions: the
# interrupted-dpkg test runs apt_install in a Debian container that way.
set -euo pipefail

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# --- apt, surviving an interrupted earlier run ---
# A Ctrl-C during apt-get leaves dpkg mid-operation: journal entries in
# updates/, or packages unpacked or half-configured. apt then refuses every
# install ("dpkg was interrupted, you must manually run 'dpkg --configure -a'"),
# so each later setup would fail. Setup finishes that work itself, once, and says so.
DPKG_ADMINDIR=${DPKG_ADMINDIR:-/var/lib/dpkg}
dpkg_interrupted() {
  [ -n "$(ls -A "$DPKG_ADMINDIR/updates" 2>/dev/null)" ] || [ -n "$(dpkg --audit 2>/dev/null)" ]
}
dpkg_repaired=0
repair_dpkg() {
  [ "$dpkg_repaired" = 0 ] || return 1
  dpkg_repaired=1
  say "dpkg was interrupted (an earlier apt-get or dpkg run was stopped); running dpkg --configure -a once"
  DEBIAN_FRONTEND=noninteractive dpkg --configure -a >/dev/null 2>&1 \
    || die "dpkg --configure -a failed; run it by hand to see why (then apt-get -f install)"
}
# apt_install <pkg>...: apt-get update + install; an interrupted dpkg is repaired first, or on apt's own complaint, and the install retried once.
apt_install() {
  if dpkg_interrupted; then repair_dpkg; fi
  apt-get update -qq || die "apt-get update failed; check the host's apt sources (/etc/apt/sources.list*)"
  local err attempt
  err=$(mktemp)
  for attempt in 1 2; do
    if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>"$err"; then
      rm -f "$err"
      return 0
    fi
    if [ "$attempt" = 1 ] && { grep -q 'dpkg was interrupted' "$err" || dpkg_interrupted; } && repair_dpkg; then
      say "retrying apt-get install $*"
      continue
    fi
    break
  done
  sed 's/^/  /' "$err" >&2
  rm -f "$err"
  die "apt-get install $* failed; run it by hand to see why"
}

[[ "${BASH_SOURCE[0]}" == "$0" ]] || return 0
cd "$(dirname "$0")/.."
is_root() { [ "$(id -u)" -eq 0 ]; }
debian_like() { [ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; }

engine_answers() { command -v docker >/dev/null 2>&1 && timeout 20 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
# arch-test runs a tiny static arm64 program: it proves both that mmdebstrap's
# foreign-arch check will pass and that binfmt really executes arm64.
arm64_runs() { command -v arch-test >/dev/null 2>&1 && arch-test arm64 >/dev/null 2>&1; }
first_file() { for f in "$@"; do [ -e "$f" ] && return 0; done; return 1; }
runs() { "$@" >/dev/null 2>&1; }

# --- what is missing, by capability -> the Debian package that provides it ---
need_pkgs=()
want() { case " ${OSFORGE_SETUP_SKIP:-} " in *" $1 "*) ;; *) need_pkgs+=("$1") ;; esac; }

engine_answers || runs dockerd --version || want docker.io
runs mmdebstrap --version || want mmdebstrap
command -v arch-test >/dev/null 2>&1 || want arch-test
# binfmt: an interpreter registered with the F flag (by any earlier setup)
# already works without the package; otherwise the static QEMU must be here.
arm64_runs || first_file /usr/libexec/qemu-binfmt/aarch64-binfmt-P /usr/bin/qemu-aarch64-static || want qemu-user-static
arm64_runs || runs update-binfmts --version || want binfmt-support
runs openssl version || want openssl
runs file --version || want file
runs rsync --version || want rsync
runs git --version || want git
runs zstd --version || want zstd
runs xz --version || want xz-utils
# Upstream signatures of pinned sources: gpgv checks them, gpg turns the repo's armoured keys into a keyring.
runs gpgv --version || want gpgv
runs gpg --version || want gpg
# The signature unit tests sign with throwaway keys: gpg needs its agent for secret keys.
runs gpg-agent --version || want gpg-agent
# Recipes' patches are applied in the builder image; the unit tests run the same script here.
runs patch --version || want patch
# oss_source.tgz reads the licence texts of .tar.bz2 sources (busybox) with bzip2.
runs bzip2 --help || want bzip2
# The boot test (make boot-test): QEMU for both arches and their UEFI firmware.
runs qemu-system-x86_64 --version || want qemu-system-x86
runs qemu-system-aarch64 --version || want qemu-system-arm
runs qemu-img --version || want qemu-utils
first_file /usr/share/ovmf/OVMF.fd /usr/share/OVMF/OVMF.fd || want ovmf
first_file /usr/share/qemu-efi-aarch64/QEMU_EFI.fd /usr/share/AAVMF/QEMU_EFI.fd || want qemu-efi-aarch64
# SeaBIOS is what qemu-system-x86 boots the ISO with; recommends are skipped.
first_file /usr/share/seabios/bios-256k.bin /usr/share/qemu/bios-256k.bin || want seabios
# The builders (ssh://) and upload (scp, rsync) tests start an sshd of their own on 127.0.0.1.
[ -x /usr/sbin/sshd ] || want openssh-server
runs ssh -V || want openssh-client
# Workflow validation and test helpers run through node/npm (checked below).

if [ ${#need_pkgs[@]} -gt 0 ]; then
  debian_like || die "missing ${need_pkgs[*]} and this is not a Debian/Ubuntu host; install them with your package manager (Debian: apt-get install -y ${need_pkgs[*]})"
  is_root || die "missing ${need_pkgs[*]}; run as root: sudo apt-get install -y ${need_pkgs[*]}"
  say "installing ${need_pkgs[*]}"
  apt_install "${need_pkgs[@]}"
fi

# --- Docker engine: respect DOCKER_HOST; start a local dockerd only when nothing answers ---
if ! engine_answers; then
  command -v docker >/dev/null 2>&1 || die "no docker client on PATH; install docker.io (apt-get install -y docker.io)"
  if [ -n "${DOCKER_HOST:-}" ]; then
    die "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST to use a local dockerd"
  fi
  is_root || die "no Docker engine answers; start one (sudo systemctl start docker) or run make as root"
  runs dockerd --version || die "no Docker engine answers and dockerd is missing; install it: apt-get install -y docker.io"
  log=/var/log/osforge-dockerd.log
  say "starting dockerd (log: $log)"
  # containerd is started by dockerd itself when none runs.
  nohup dockerd >"$log" 2>&1 &
  for _ in $(seq 1 60); do engine_answers && break; sleep 1; done
  engine_answers || die "dockerd did not come up; last lines of $log: $(tail -n 3 "$log" 2>/dev/null | tr '\n' ' ')"
fi

# --- arm64 through QEMU user emulation registered with binfmt_misc ---
if ! arm64_runs; then
  is_root || die "arm64 programs do not run; as root: mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc && update-binfmts --enable qemu-aarch64"
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
    || die "cannot mount binfmt_misc (a container without that privilege?); run: mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc"
  update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  if ! arm64_runs; then
    command -v arch-test >/dev/null 2>&1 || die "arch-test is missing, so mmdebstrap cannot bootstrap arm64; install it: apt-get install -y arch-test"
    die "arm64 programs do not run through binfmt (arch-test arm64 fails); install qemu-user-static and run: update-binfmts --enable qemu-aarch64"
  fi
fi

# --- node >= 20 and npm ---
command -v node >/dev/null 2>&1 || die "node is missing; install Node.js 20 or newer (https://nodejs.org, or your distribution's nodejs package if it is >= 20)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "node $(node --version) is too old; osforge needs Node.js 20 or newer"
runs npm --version || die "npm is missing; install npm for Node.js $(node --version)"

# node_modules: npm ci when the lock file changed since the last install.
if [ "${OSFORGE_SETUP_SKIP_NPM:-}" != 1 ] && { [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed; check that the npm registry is reachable"
fi
