#!/usr/bin/env bash
# Run ansible-test on this collection without ansible-test's internet fetch.
#
# ansible-test bootstraps pip in the virtual environments it creates by
# downloading get-pip.py from ci-files.testing.ansible.com, which is not
# reachable from closed networks. We seed its cache with a stand-in built on
# ensurepip, and run it from the collection path ansible-test requires
# (ansible_collections/rackops/baremetal, a symlink made by the Makefile).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
link="$here/.build/collections/ansible_collections/rackops/baremetal"
python="$here/.venv/bin/python"

pip_version=$("$python" - <<'PY'
import sys, types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version="%d.%d" % sys.version_info[:2]))["pip"])
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
cp "$here/scripts/get_pip_shim.py" "$cache"

cd "$link"
exec "$here/.venv/bin/ansible-test" "$@"
