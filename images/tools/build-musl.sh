#!/bin/sh
# build-musl.sh <arch> <gnu-triple> <musl-tarball>
# One step of the tools compile: osforge runs it once per arch in a fresh
# container of the buildenv image (gcc and cross gcc, versions locked in
# images/lock.json) with the sha256-verified musl source, and stores
# /opt/osforge/<arch> as a resumable step output, then in tools-cache/.
# Installs a static musl sysroot plus a musl-gcc wrapper into
# /opt/osforge/<arch>, and copies the distro's kernel UAPI headers in so
# packages like busybox compile against it.
set -eu
arch=$1 triple=$2 tarball=$3
prefix=/opt/osforge/$arch
work=/tmp/musl-$arch
rm -rf "$work" && mkdir -p "$work"
tar -xf "$tarball" -C "$work" --strip-components=1
cd "$work"
# No build paths in the objects; the wrapper points at the fixed prefix.
CFLAGS="-O2 -ffile-prefix-map=$work=. -fdebug-prefix-map=$work=." \
  ./configure --prefix="$prefix" --syslibdir="$prefix/lib" --target="$triple" \
  CROSS_COMPILE="$triple-" CC="$triple-gcc" --disable-shared >/dev/null
make -j"$(nproc)" >/dev/null
make install >/dev/null
# Kernel UAPI headers from the distro packages (linux-libc-dev*).
if [ "$arch" = amd64 ]; then
  cp -a /usr/include/linux /usr/include/asm-generic /usr/include/mtd "$prefix/include/"
  cp -a /usr/include/x86_64-linux-gnu/asm "$prefix/include/"
else
  cp -a /usr/$triple/include/linux /usr/$triple/include/asm-generic /usr/$triple/include/asm /usr/$triple/include/mtd "$prefix/include/"
fi
# A stable name the recipes use: <musl-triple>-gcc.
musl_triple=$(echo "$triple" | sed 's/-gnu$/-musl/')
ln -sf musl-gcc "$prefix/bin/$musl_triple-gcc"
printf '%s\n' "$musl_triple" > "$prefix/TRIPLE"
rm -rf "$work"
