#!/bin/sh
# The virtual rack's private network, idempotent. Prints "changed" when it changed something.
#   vr-net.sh up NAMESPACE HOST_IF ADDRESS/PREFIX IPV6/64 TAP...
#   vr-net.sh down NAMESPACE HOST_IF
# Inside NAMESPACE: bridge br0 with the taps and the veth's far end. On the
# host: HOST_IF, the veth's near end, with ADDRESS. No routes, no uplink.
set -eu
action=$1 ns=$2 host_if=$3
shift 3
changed=false
in_ns() { ip netns exec "$ns" "$@"; }

case $action in
up)
    address=$1 address6=$2
    shift 2
    if ! ip netns list | grep -qw "^$ns"; then ip netns add "$ns"; changed=true; fi
    in_ns ip link set lo up
    if ! in_ns ip link show br0 >/dev/null 2>&1; then
        in_ns ip link add br0 type bridge
        changed=true
    fi
    in_ns ip link set br0 up
    if ! ip link show "$host_if" >/dev/null 2>&1; then
        ip link add "$host_if" type veth peer name vr-uplink netns "$ns"
        changed=true
    fi
    in_ns ip link set vr-uplink master br0 up
    if ! ip -4 addr show dev "$host_if" | grep -q " ${address}"; then
        ip addr add "$address" dev "$host_if"
        changed=true
    fi
    if [ -n "$address6" ] && ! ip -6 addr show dev "$host_if" | grep -q " ${address6}"; then
        ip -6 addr add "$address6" dev "$host_if" nodad
        changed=true
    fi
    ip link set "$host_if" up
    for tap in "$@"; do
        if ! in_ns ip link show "$tap" >/dev/null 2>&1; then
            in_ns ip tuntap add dev "$tap" mode tap
            changed=true
        fi
        in_ns ip link set "$tap" master br0 up
    done
    ;;
down)
    if ip link show "$host_if" >/dev/null 2>&1; then ip link del "$host_if"; changed=true; fi
    if ip netns list | grep -qw "^$ns"; then ip netns del "$ns"; changed=true; fi
    ;;
*) echo "usage: $0 up|down NAMESPACE HOST_IF ..." >&2; exit 2 ;;
esac
$changed && echo changed
exit 0
