#!/bin/sh
# Prints "kvm" when an x86 guest really runs on /dev/kvm here, else "tcg".
# /dev/kvm can exist and still refuse x86 guests (nested or paravirtual KVM):
# QEMU then aborts while loading the vCPU's registers, in the first second.
[ -w /dev/kvm ] || { echo tcg; exit 0; }
qemu-system-x86_64 -accel kvm -cpu host -machine pc -m 64 -nodefaults -display none -no-reboot \
    -kernel /usr/lib/ipxe/ipxe.lkrn >/dev/null 2>&1 &
pid=$!
sleep 3
if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    echo kvm
else
    echo tcg
fi
