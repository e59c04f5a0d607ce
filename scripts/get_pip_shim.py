"""Stand-in for get-pip.py, seeded into ansible-test's cache.

ansible-test runs it inside a new virtual environment as
``python get_pip.py [pip options] pip==X [--no-setuptools] [--no-wheel]``
to put pip into it. We install the pip wheel bundled with CPython instead
(ensurepip: no network). ansible-test works with that pip; the version it
names is only what its own download would have brought.
"""

import ensurepip


def main():
    ensurepip.bootstrap(upgrade=True)


if __name__ == '__main__':
    main()
