#!/bin/bash
# A private dockerd for fault injection: stopping or killing it never
# disturbs the host's shared engine. Usage: engine.sh start|stop|kill <dir>
# Prints nothing on success; DOCKER_HOST=unix://<dir>/docker.sock reaches it.
set -euo pipefail
cmd=$1 dir=$(realpath -m "$2")
sock=$dir/docker.sock pidfile=$dir/dockerd.pid
# Its own bridge and subnet, NATed by hand: the shared engine owns docker0
# and the DOCKER iptables chains.
br=osfchaos0 subnet=172.29.77.0/24 gw=172.29.77.1/24
case $cmd in
start)
  mkdir -p "$dir/data" "$dir/exec"
  if ! ip link show "$br" >/dev/null 2>&1; then
    ip link add "$br" type bridge && ip addr add "$gw" dev "$br" && ip link set "$br" up
  fi
  iptables -t nat -C POSTROUTING -s "$subnet" ! -o "$br" -j MASQUERADE 2>/dev/null \
    || iptables -t nat -A POSTROUTING -s "$subnet" ! -o "$br" -j MASQUERADE
  iptables -C FORWARD -i "$br" -j ACCEPT 2>/dev/null || iptables -I FORWARD -i "$br" -j ACCEPT
  iptables -C FORWARD -o "$br" -j ACCEPT 2>/dev/null || iptables -I FORWARD -o "$br" -j ACCEPT
  sysctl -qw net.ipv4.ip_forward=1
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then exit 0; fi
  setsid dockerd --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$pidfile" \
    -H "unix://$sock" --bridge "$br" --iptables=false --ip-masq=false \
    --containerd-namespace osfchaos --containerd-plugins-namespace osfchaos-plugins \
    >>"$dir/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 120); do
    DOCKER_HOST=unix://$sock docker version >/dev/null 2>&1 && exit 0
    sleep 0.5
  done
  echo "engine.sh: private dockerd did not come up; see $dir/dockerd.log" >&2; exit 1 ;;
stop|kill)
  [ -f "$pidfile" ] || exit 0
  pid=$(cat "$pidfile")
  kill -"$([ "$cmd" = kill ] && echo KILL || echo TERM)" "$pid" 2>/dev/null || true
  for _ in $(seq 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  rm -f "$pidfile" ;;
*) echo "usage: engine.sh start|stop|kill <dir>" >&2; exit 2 ;;
esac
