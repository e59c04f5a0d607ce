"""Make ``ansible_collections.rackops.baremetal`` importable for plain pytest.

The Makefile links this checkout to .build/collections/ansible_collections/
rackops/baremetal (ansible-test does the same in its own runs).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
for _path in os.environ.get('ANSIBLE_COLLECTIONS_PATH', str(_REPO / '.build/collections')).split(os.pathsep):
    if _path and _path not in sys.path:
        sys.path.insert(0, _path)
