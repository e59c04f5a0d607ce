#!/usr/bin/env bash
# Run ansible-test on this collection without ansible-test's internet fetch.
#
# ansible-test bootstraps pip in the virtual environments it creates by
# downloading get-pip.py from ci-files.testing.ansible.com, which is not
# reachable from closed networks. We seed its cache with a stand-in built on
# ensurepip, and run it from the collection path ansible-test requires
# (ansible_collections/rackops/baremetal). ansible-test resolves symlinks in
# its working directory, so the tree is a fresh copy of the files git would
# commit (tracked and untracked, minus ignored), made for each run.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
python="$here/.venv/bin/python"
# Outside the checkout: inside it, ansible-test would ask the checkout's git
# for the file list, and git ignores the copy.
work=$(mktemp -d "${TMPDIR:-/tmp}/rackops-ansible-test.XXXXXX")
tree="$work/ansible_collections/rackops/baremetal"
keep_output() {
    if [ -d "$tree/tests/output" ]; then
        mkdir -p "$here/tests/output"
        cp -r "$tree/tests/output/." "$here/tests/output/"
    fi
    rm -rf "$work"
}
trap keep_output EXIT
mkdir -p "$tree"
if git -C "$here" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$here" ls-files -z --cached --others --exclude-standard \
        | (cd "$here" && tar --null -T - -cf -) | tar -xf - -C "$tree"
else
    tar -C "$here" --exclude=./.venv --exclude=./.build --exclude=./tests/output -cf - . | tar -xf - -C "$tree"
fi

pip_version=$("$python" - <<'PY'
import sys, types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version="%d.%d" % sys.version_info[:2]))["pip"])
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
cp "$here/scripts/get_pip_shim.py" "$cache"

cd "$tree"
"$here/.venv/bin/ansible-test" "$@"
