"""redfish nodes through Ironic's redfish driver: against sushy-tools' emulator (fake driver), and
against the Redfish face of the project's own BMC emulator (what the virtual rack's machines use).

The assertions read the emulators' own state.
"""

from __future__ import annotations

import pytest
from conftest import ROOT, recap, run_playbook, write_inventory
from emulators import BmcEmulator, RedfishEmulator

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


@pytest.fixture(scope='module')
def rack_bmcs(engine, tmp_path_factory):
    """Two BMCs of the rack's emulator with their Redfish face (the machines behind them in memory)."""
    workdir = tmp_path_factory.mktemp('rfbmc')
    emulator = BmcEmulator(workdir, 2, first_octet=70, prefix='rfbmc',
                           extra={'redfish_port': 8000, 'boot_mode': 'uefi'})
    servers = {spec['name']: {'bmc': {'address': 'http://%s:8000' % spec['address'], 'password': spec['password'],
                                      'system_id': '/redfish/v1/Systems/%s' % spec['name']},
                              'nics': [{'mac': '52:54:00:70:00:%02x' % i}], 'properties': {'boot_mode': 'uefi'}}
               for i, spec in enumerate(emulator.specs)}
    defaults = {'bmc': {'driver': 'redfish', 'username': 'admin'},
                'interfaces': {'boot': 'ipxe', 'inspect': 'agent', 'bios': 'no-bios', 'firmware': 'no-firmware',
                               'raid': 'no-raid'}}
    inventory = write_inventory(workdir / 'rack-redfish.yml', servers, defaults)
    yield emulator, inventory
    conn = engine.sdk()
    for node in conn.baremetal.nodes():
        if node.name and node.name.startswith('rfbmc-'):
            conn.baremetal.delete_node(node.id)
    emulator.stop()


def test_ironic_drives_the_rack_emulators_redfish_face(engine, rack_bmcs):
    emulator, inventory = rack_bmcs
    code, output = play(engine, 'enroll.yml', inventory, '-vvv')
    assert 'bmc-pw-00' not in output
    nodes = {n.name: n for n in engine.sdk().baremetal.nodes(details=True) if n.name.startswith('rfbmc-')}
    assert {n.provision_state for n in nodes.values()} == {'manageable'}, {n.name: n.last_error for n in nodes.values()}

    play(engine, 'power.yml', inventory, rackops_power='on', rackops_boot_device='pxe',
         rackops_boot_device_persistent=True)
    for name, state in emulator.states().items():
        assert state['power'] == 'on', name
        assert (state['boot_device'], state['boot_persistent'], state['boot_uefi']) == ('network', True, True), name
        assert state['calls'].get('redfish_reset') and state['calls'].get('redfish_set_boot'), name
        assert not state['calls'].get('power_on'), 'went over IPMI: %s' % name
    assert recap(play(engine, 'power.yml', inventory, rackops_power='on')[1])['changed'] == 0

    play(engine, 'power.yml', inventory, rackops_power='off')
    assert {state['power'] for state in emulator.states().values()} == {'off'}
