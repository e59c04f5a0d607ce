"""Stand-in for get-pip.py, seeded into ansible-test's cache.

ansible-test runs it inside a new virtual environment as
``python get_pip.py [pip options] pip==X [--no-setuptools] [--no-wheel]``.
We install the pip wheel bundled with CPython (ensurepip, no network), then
try to move to the requested version from the configured package index; if
that index is unreachable the bundled pip is kept, which ansible-test accepts.
"""

import ensurepip
import subprocess
import sys

GET_PIP_ONLY = ('--no-setuptools', '--no-wheel')


def main():
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    ensurepip.bootstrap(upgrade=True)
    result = subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet'] + args, check=False)
    if result.returncode:
        print('get_pip_shim: keeping the bundled pip (could not install %s)' % ' '.join(args))


if __name__ == '__main__':
    main()
