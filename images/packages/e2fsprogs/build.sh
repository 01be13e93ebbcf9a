#!/bin/sh
# e2fsprogs, static against musl: mke2fs (mkfs.ext2/3/4), e2fsck (fsck.ext*),
# tune2fs (e2label, findfs-free) and resize2fs, linked against util-linux's
# libuuid and libblkid from /deps rather than e2fsprogs' private copies.
set -eu
mkdir -p /build && cd /build
tar -xf /src/e2fsprogs/* --strip-components=1

# configure asks pkg-config for the external uuid/blkid; the builder image has
# none, so a few lines answer from the .pc files util-linux installed in /deps.
mkdir -p /build/.tools
cat > /build/.tools/pkg-config <<'PC'
#!/bin/sh
mods= want= static=
for a; do
  case $a in
    --version|--atleast-pkgconfig-version*) echo 0.29.2; exit 0 ;;
    --static) static=1 ;;
    --libs) want="$want libs" ;;
    --cflags) want="$want cflags" ;;
    -*|[0-9]*) ;;
    *) mods="$mods $a" ;;
  esac
done
out=
for m in $mods; do
  pc=/deps/usr/lib/pkgconfig/$m.pc
  [ -f "$pc" ] || { echo "Package $m was not found in /deps" >&2; exit 1; }
  field() { sed -n "s/^$1: *//p" "$pc" | sed -e 's|\${libdir}|/deps/usr/lib|g' -e 's|\${includedir}|/deps/usr/include|g'; }
  case $want in *libs*) out="$out $(field Libs)"; [ -z "$static" ] || out="$out $(field Libs.private)" ;; esac
  case $want in *cflags*) out="$out $(field Cflags)" ;; esac
done
echo $out
PC
chmod +x /build/.tools/pkg-config

./configure --host="$GNU_TRIPLE" --build=x86_64-linux-gnu \
  --prefix=/usr --with-root-prefix="" \
  --disable-libuuid --disable-libblkid --enable-symlink-install --enable-relative-symlinks \
  --disable-nls --disable-fuse2fs --without-libarchive --disable-uuidd --disable-fsck \
  --disable-debugfs --disable-imager --disable-defrag --disable-e2initrd-helper --disable-elf-shlibs \
  --with-udev-rules-dir=no --with-crond-dir=no --with-systemd-unit-dir=no \
  PKG_CONFIG=/build/.tools/pkg-config BUILD_CC=gcc CC="$CC" \
  CPPFLAGS="-I/deps/usr/include" CFLAGS="-O2 -ffile-prefix-map=/build=." LDFLAGS="-static -L/deps/usr/lib" >/dev/null
# Only the libraries and the three program directories: no tests, e2scrub
# (which needs LVM) or texinfo manual.
make -s -j"$JOBS" libs
for d in misc e2fsck resize; do make -s -j"$JOBS" -C "$d"; done
for d in misc e2fsck resize; do make -s -C "$d" install DESTDIR="$OUT" >/dev/null; done
rm -rf "$OUT/usr/share" "$OUT/usr/lib"
for p in sbin/mke2fs sbin/e2fsck sbin/tune2fs; do file "$OUT/$p"; done
