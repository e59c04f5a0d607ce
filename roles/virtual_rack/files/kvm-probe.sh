#!/bin/sh
# Prints "kvm" when an x86 guest really runs on /dev/kvm here, else "tcg".
# /dev/kvm can exist and still refuse x86 guests (nested or paravirtual KVM), two ways seen here:
#  - QEMU aborts while loading the vCPU's registers, in the first second;
#  - QEMU starts and runs the guest's early code, then stops it at its first x87/SSE instruction in
#    64-bit mode ("KVM internal error. Suberror: 1 ... emulation failure") and stays alive with the
#    guest paused for ever: the machines never print a line, and every boot times out.
# So the probe runs 64-bit firmware (OVMF, the role's own package) until its boot manager writes its
# first line to the serial port: about a second on working KVM.
firmware=${1:-/usr/share/ovmf/OVMF.fd}
if [ ! -w /dev/kvm ] || [ ! -r "$firmware" ]; then
    echo tcg
    exit 0
fi
scratch=$(mktemp -d)
qemu-system-x86_64 -accel kvm -cpu host -machine q35 -m 128 -nodefaults -display none -no-reboot \
    -bios "$firmware" -serial "file:$scratch/serial" >"$scratch/qemu.out" 2>&1 &
pid=$!
answer=tcg
tries=0
while [ "$tries" -lt 30 ] && kill -0 "$pid" 2>/dev/null; do
    if grep -q BdsDxe "$scratch/serial" 2>/dev/null; then
        answer=kvm
        break
    fi
    grep -q 'internal error' "$scratch/qemu.out" && break
    sleep 0.5
    tries=$((tries + 1))
done
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
rm -rf "$scratch"
echo "$answer"
