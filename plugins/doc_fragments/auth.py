# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the connection options.

Paired one-to-one with AUTH_ARGUMENT_SPEC in module_utils/_connection.py:
change both together.
"""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r'''
options:
  cloud:
    description:
      - Name of an entry in C(clouds.yaml) that says where Ironic is and how to log in.
      - The C(rackops.baremetal.ironic) role writes one named C(rackops).
      - Defaults to the E(OS_CLOUD) environment variable.
      - Mutually exclusive with O(auth_type) and O(auth).
    type: str
  auth_type:
    description:
      - How to authenticate when O(cloud) is not used.
      - V(none) and V(http_basic) talk to a standalone Ironic at O(auth.endpoint).
      - V(password) logs in to Keystone at O(auth.auth_url) (an OpenStack cloud's Ironic).
    type: str
    choices: [none, http_basic, password]
  auth:
    description:
      - Credentials and endpoints for O(auth_type). Required with O(auth_type).
    type: dict
    suboptions:
      endpoint:
        description:
          - Ironic API URL, for example V(http://127.0.0.1:6385).
          - Required for O(auth_type=none) and O(auth_type=http_basic); overrides the catalog for O(auth_type=password).
        type: str
      auth_url:
        description: Keystone URL. Required for O(auth_type=password).
        type: str
      username:
        description: User name. Required for O(auth_type=http_basic) and O(auth_type=password).
        type: str
      password:
        description:
          - Password. Required for O(auth_type=http_basic) and O(auth_type=password).
          - Never logged or returned.
        type: str
      project_name:
        description: Keystone project. Required for O(auth_type=password).
        type: str
      project_domain_name:
        description: Keystone domain of the project.
        type: str
      user_domain_name:
        description: Keystone domain of the user.
        type: str
  region_name:
    description: Region of the OpenStack cloud, when it has several.
    type: str
  validate_certs:
    description:
      - Whether to verify the API's TLS certificate. Defaults to what O(cloud) says, else V(true).
    type: bool
    aliases: [verify]
  ca_cert:
    description: A CA bundle to verify the API's TLS certificate with.
    type: path
    aliases: [cacert]
  api_timeout:
    description: Seconds to wait for one API response.
    type: int
  api_retries:
    description:
      - How many times to retry a call that Ironic answers with HTTP 409 (node locked) or
        503 (conductor busy), with a back-off of 0.5, 1, 2, 4, 8, 8 ... seconds.
      - Every retry is listed in the C(retries) return value.
    type: int
    default: 5
  api_outage_timeout:
    description:
      - For how many seconds to keep retrying calls while the API cannot be reached at all (connection refused
        or timed out), as while Ironic restarts, before the nodes waited for are reported as failed with their
        last known state. V(0) gives up at once.
      - Every retry is listed in the C(retries) return value.
    type: int
    default: 120
requirements:
  - openstacksdk >= 4.0
'''
