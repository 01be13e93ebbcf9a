#!/bin/bash
# Run by setup-host-dpkg.test.ts in a Debian container: interrupts dpkg for
# real, shows apt refusing, then runs builder/setup-host.sh's apt_install.
set -eu
# No network here: apt's only source is a local file: repo holding osforge-probe.
rm -f /etc/apt/sources.list; rm -rf /etc/apt/sources.list.d; mkdir -p /etc/apt/sources.list.d /repo
deb() { # deb <name> [postinst]
  mkdir -p /tmp/$1/DEBIAN
  printf 'Package: %s\nVersion: 1.0\nArchitecture: all\nMaintainer: osforge test <test@example.invalid>\nDescription: osforge test package\n' "$1" > /tmp/$1/DEBIAN/control
  if [ -n "${2:-}" ]; then printf '%s\n' "$2" > /tmp/$1/DEBIAN/postinst; chmod 755 /tmp/$1/DEBIAN/postinst; fi
  dpkg-deb --build /tmp/$1 /repo/$1.deb >/dev/null
}
# Its postinst kills dpkg (its parent) the first time it runs: dpkg stops mid-configure, as on a Ctrl-C.
deb osforge-crash '#!/bin/sh
if [ ! -e /tmp/killed-once ]; then touch /tmp/killed-once; kill -9 $PPID; sleep 30; fi
exit 0'
deb osforge-probe
f=/repo/osforge-probe.deb
printf 'Package: osforge-probe\nVersion: 1.0\nArchitecture: all\nMaintainer: osforge test <test@example.invalid>\nFilename: ./osforge-probe.deb\nSize: %s\nSHA256: %s\nDescription: osforge test package\n\n' \
  "$(stat -c %s $f)" "$(sha256sum $f | cut -d' ' -f1)" > /repo/Packages
echo 'deb [trusted=yes] file:/repo ./' > /etc/apt/sources.list.d/local.list
dpkg -i /repo/osforge-crash.deb >/dev/null 2>&1 && { echo "dpkg was not interrupted"; exit 1; }
echo "STATE: $(dpkg-query -W -f='${Status}' osforge-crash)"
echo "UPDATES: $(ls /var/lib/dpkg/updates | wc -l)"
apt-get update -qq
if apt-get install -y -qq osforge-probe >/tmp/apt.out 2>&1; then echo "APT: worked"; else echo "APT: refused: $(grep -o 'dpkg was interrupted' /tmp/apt.out | head -1)"; fi
echo "--- setup"
bash -c '. /osforge/builder/setup-host.sh && apt_install osforge-probe && echo SETUP-RC=0'
echo "--- after"
echo "PROBE: $(dpkg-query -W -f='${Status}' osforge-probe)"
echo "CRASH: $(dpkg-query -W -f='${Status}' osforge-crash)"
echo "AUDIT: [$(dpkg --audit)]"
apt-get install -y -qq --reinstall osforge-probe >/dev/null 2>&1 && echo "APT-AFTER: works"
echo "--- setup again"
bash -c '. /osforge/builder/setup-host.sh && apt_install osforge-probe && echo SETUP2-RC=0'
