#!/usr/bin/env bash
# Prepares this host for osforge: Docker engine, arm64 binfmt, mmdebstrap,
# node_modules. Idempotent and quick when everything is already in place.
# On a host where it cannot act (not root, not Debian/Ubuntu) it names the
# missing piece and the command that installs it, then fails.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

need_pkgs=()
command -v docker >/dev/null 2>&1 || need_pkgs+=(docker.io)
command -v mmdebstrap >/dev/null 2>&1 || need_pkgs+=(mmdebstrap)
[ -e /usr/libexec/qemu-binfmt/aarch64-binfmt-P ] || [ -e /usr/bin/qemu-aarch64-static ] || need_pkgs+=(qemu-user-static)
command -v update-binfmts >/dev/null 2>&1 || need_pkgs+=(binfmt-support)
# Packages the boot test and integration tests use.
command -v rsync >/dev/null 2>&1 || need_pkgs+=(rsync)
command -v openssl >/dev/null 2>&1 || need_pkgs+=(openssl)
command -v file >/dev/null 2>&1 || need_pkgs+=(file)
# The boot test (make boot-test): QEMU for both arches and their UEFI firmware.
command -v qemu-system-x86_64 >/dev/null 2>&1 || need_pkgs+=(qemu-system-x86)
command -v qemu-system-aarch64 >/dev/null 2>&1 || need_pkgs+=(qemu-system-arm)
command -v qemu-img >/dev/null 2>&1 || need_pkgs+=(qemu-utils)
[ -e /usr/share/ovmf/OVMF.fd ] || [ -e /usr/share/OVMF/OVMF.fd ] || need_pkgs+=(ovmf)
[ -e /usr/share/qemu-efi-aarch64/QEMU_EFI.fd ] || [ -e /usr/share/AAVMF/QEMU_EFI.fd ] || need_pkgs+=(qemu-efi-aarch64)

if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ ! -r /etc/debian_version ] || ! command -v apt-get >/dev/null 2>&1; then
    die "missing ${need_pkgs[*]} and this is not a Debian/Ubuntu host; install them with your package manager (Debian: apt-get install -y ${need_pkgs[*]})"
  fi
  if [ "$(id -u)" -ne 0 ]; then
    die "missing ${need_pkgs[*]}; run as root: sudo apt-get install -y ${need_pkgs[*]}"
  fi
  say "installing ${need_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# Docker engine: respect DOCKER_HOST; start a local dockerd only when nothing answers.
if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  if [ -n "${DOCKER_HOST:-}" ]; then
    die "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST to use a local dockerd"
  fi
  [ "$(id -u)" -eq 0 ] || die "no Docker engine answers; start one (sudo systemctl start docker) or run make as root"
  say "starting dockerd (log: /var/log/osforge-dockerd.log)"
  nohup dockerd >/var/log/osforge-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker version --format '{{.Server.Version}}' >/dev/null 2>&1 && break
    sleep 1
  done
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || die "dockerd did not come up; see /var/log/osforge-dockerd.log"
fi

# arm64 containers run through QEMU user emulation registered with binfmt_misc.
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  [ "$(id -u)" -eq 0 ] || die "arm64 binfmt is not registered; as root: mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc && update-binfmts --enable qemu-aarch64"
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
    || die "cannot mount binfmt_misc (a container without that privilege?); run: mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc"
  update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || die "qemu-aarch64 binfmt did not register; run: update-binfmts --enable qemu-aarch64 (package qemu-user-static)"
fi

# node_modules: npm ci when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  command -v npm >/dev/null 2>&1 || die "npm is missing; install Node.js 20 (Debian: apt-get install -y nodejs npm)"
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
