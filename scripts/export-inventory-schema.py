"""Write docs/inventory.schema.json from the schema the validator uses.

A unit test fails when the published file and module_utils/_inventory.py differ.
"""

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / '.build/collections'))

from ansible_collections.rackops.baremetal.plugins.module_utils._inventory import SCHEMA  # noqa: E402

(REPO / 'docs/inventory.schema.json').write_text(json.dumps(SCHEMA, indent=2, sort_keys=True) + '\n')
