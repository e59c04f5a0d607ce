"""redfish nodes through Ironic's redfish driver against sushy-tools' emulator (fake driver).

The assertions read the emulator's own Redfish resources.
"""

from __future__ import annotations

import pytest
from conftest import ROOT, recap, run_playbook, write_inventory
from emulators import RedfishEmulator

PLAYBOOKS = ROOT / 'playbooks'


@pytest.fixture(scope='module')
def redfish(tmp_path_factory):
    emulator = RedfishEmulator(tmp_path_factory.mktemp('redfish'), 2)
    yield emulator
    emulator.stop()


@pytest.fixture(scope='module')
def redfish_inventory(engine, redfish, tmp_path_factory):
    servers = {system['name']: {'bmc': {'system_id': '/redfish/v1/Systems/%s' % system['uuid']},
                                'nics': [{'mac': system['nics'][0]['mac']}]}
               for system in redfish.systems}
    defaults = {'bmc': {'driver': 'redfish', 'address': redfish.address, 'username': 'admin',
                        'password': 'redfish-pw-never-printed', 'verify_ca': False}}
    path = write_inventory(tmp_path_factory.mktemp('rf') / 'redfish.yml', servers, defaults)
    yield path
    conn = engine.sdk()
    for node in conn.baremetal.nodes():
        if node.name and node.name.startswith('redfish-'):
            conn.baremetal.delete_node(node.id)


def play(engine, name, inventory, *args, **extra):
    return run_playbook(PLAYBOOKS / name, extra or None, '-i', str(inventory), *args, env=engine.env)


def test_redfish_nodes_verify_power_and_boot(engine, redfish, redfish_inventory):
    code, output = play(engine, 'enroll.yml', redfish_inventory, '-vvv')
    assert 'redfish-pw-never-printed' not in output
    nodes = {n.name: n for n in engine.sdk().baremetal.nodes(details=True) if n.name.startswith('redfish-')}
    assert {n.provision_state for n in nodes.values()} == {'manageable'}
    assert nodes['redfish-00'].driver_info['redfish_address'] == redfish.address

    play(engine, 'power.yml', redfish_inventory, rackops_power='on', rackops_boot_device='pxe',
         rackops_boot_device_persistent=True)
    for system in redfish.systems:
        state = redfish.system(system['uuid'])
        assert state['PowerState'] == 'On'
        assert state['Boot']['BootSourceOverrideTarget'] == 'Pxe'
        assert state['Boot']['BootSourceOverrideEnabled'] == 'Continuous'
    code, output = play(engine, 'power.yml', redfish_inventory, rackops_power='on')
    assert recap(output)['changed'] == 0

    play(engine, 'power.yml', redfish_inventory, rackops_power='off')
    assert {redfish.system(s['uuid'])['PowerState'] for s in redfish.systems} == {'Off'}
