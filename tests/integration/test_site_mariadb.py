"""A multi-host engine on MariaDB (Bifrost's default) instead of PostgreSQL: site.yml with `database_engine:
mariadb` on the database host. Two nspawn machines (machines.py): MariaDB on one, the API and a conductor on
the other. The fleet playbooks drive the engine through the API host as on PostgreSQL.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess

import pytest
from conftest import ROOT, VENV, install_database_driver, make_base, recap, run_playbook, write_inventory
from machines import site_hosts

NETNS, HOST_IF = 'rvr-mdb', 'rvhmdb'
SUBNET = '10.95.0'
CONTROLLER, DATABASE, ENGINE = SUBNET + '.1', SUBNET + '.10', SUBNET + '.11'
HOSTS = {
    'mdb-db': ('.10', ['ironic_database'], {'database_engine': 'mariadb'}),
    'mdb-engine': ('.11', ['ironic_api', 'ironic_conductor'], {}),
}
PASSWORD_FILE = '/etc/rackops/database/ironic.password'


@pytest.fixture(scope='module')
def mariadb_site(engine):
    # (engine: the session's engine made the Ironic virtual environment the engine host gets a copy of)
    install_database_driver('mariadb')
    base = make_base('rackops-mdb-')
    try:
        with site_hosts(base, NETNS, HOST_IF, SUBNET, HOSTS, copy_in=(VENV,)) as (machines, inventory):
            site_vars = {'ironic_venv_dir': VENV, 'ironic_htpasswd_bcrypt_rounds': 4,
                         'rackops_controller_clouds_yaml': str(base / 'clouds.yaml')}
            output = run_playbook(ROOT / 'playbooks/site.yml', site_vars, '-i', str(inventory))[1]
            yield {'base': base, 'machines': machines, 'inventory': inventory, 'vars': site_vars, 'output': output,
                   'env': {'OS_CLIENT_CONFIG_FILE': str(base / 'clouds.yaml')}}
    finally:
        if not os.environ.get('RACKOPS_TEST_KEEP_SITE'):
            subprocess.run(['rm', '-rf', str(base)], check=False)


def sql(site, statement):
    """As MariaDB's root, over its local socket on the database host."""
    return site['machines']['mdb-db'].ssh('mariadb --batch --skip-column-names -e ' + shlex.quote(statement)).stdout


def login(password, database='ironic'):
    """From the controller, as the engine logs in: PyMySQL over TCP. The error's text, or 'ok'."""
    code = ('import pymysql, sys\n'
            'try:\n'
            '    pymysql.connect(host="%s", user="ironic", password=sys.stdin.read(), database="%s", connect_timeout=10)\n'
            '    print("ok")\n'
            'except pymysql.err.MySQLError as error:\n'
            '    print(error)\n') % (DATABASE, database)
    return subprocess.run([VENV + '/bin/python', '-c', code], input=password, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_the_engine_runs_on_mariadb_reached_only_by_the_engine_host(mariadb_site):
    db, engine_host = mariadb_site['machines']['mdb-db'], mariadb_site['machines']['mdb-engine']
    assert db.ssh('systemctl is-active mariadb.service postgresql.service', check=False).stdout.split() == [
        'active', 'inactive']
    # MariaDB listens on the engine's network only (the role speaks to it over its socket)
    listening = db.ssh('ss -Hltn sport = :3306').stdout
    assert re.findall(r'(\S+):3306', listening) == [DATABASE], listening
    # one account for the user, for the engine host's address, with every privilege on the database
    assert sql(mariadb_site, "SELECT Host FROM mysql.user WHERE User = 'ironic'").split() == [ENGINE]
    assert 'GRANT ALL PRIVILEGES ON `ironic`.*' in sql(mariadb_site, "SHOW GRANTS FOR 'ironic'@'%s'" % ENGINE)
    assert db.ssh('stat -c %%a:%%U %s' % PASSWORD_FILE).stdout.strip() == '600:root'
    password = db.ssh('cat ' + PASSWORD_FILE).stdout.strip()
    assert password not in mariadb_site['output']
    # the controller is not an engine host: refused with the right password (no account for its address)
    refused = login(password)
    assert "Host '%s' is not allowed to connect" % CONTROLLER in refused, refused
    # the engine host's Ironic uses it: its schema is there, and the conductor registered in it
    conf = engine_host.ssh("grep -c '^connection = mysql+pymysql://ironic:.*@%s:3306/ironic?charset=utf8$' "
                           "/etc/rackops/ironic/ironic.conf" % DATABASE, check=False).stdout.strip()
    assert conf == '1', conf
    assert sql(mariadb_site, 'SELECT hostname FROM ironic.conductors').split() == [ENGINE]


def test_a_fleet_goes_through_the_engine_and_a_second_site_run_changes_nothing(mariadb_site):
    servers = {'mdb-node-%d' % i: {'nics': [{'mac': '52:54:00:95:00:%02x' % i}]} for i in range(3)}
    inventory = write_inventory(mariadb_site['base'] / 'fleet.yml', servers, {
        'bmc': {'driver': 'fake-hardware'}, 'interfaces': {'deploy': 'fake', 'boot': 'fake'},
        'image': {'source': 'http://127.0.0.1:9/disk.img', 'checksum': 'sha256:' + '0' * 64}})
    extra = {'rackops_report_dir': str(mariadb_site['base'] / 'reports')}
    for playbook in ('enroll.yml', 'provision.yml'):
        run_playbook(ROOT / 'playbooks' / playbook, extra, '-i', str(inventory), env=mariadb_site['env'])
    states = dict(line.split('\t') for line in sql(
        mariadb_site, "SELECT name, provision_state FROM ironic.nodes WHERE name LIKE 'mdb-node-%'").splitlines())
    assert states == {name: 'active' for name in servers}
    for args in (('--check',), ()):
        output = run_playbook(ROOT / 'playbooks/site.yml', mariadb_site['vars'], '-i', str(mariadb_site['inventory']),
                              *args)[1]
        assert recap(output)['changed'] == 0, (args, output[-4000:])


def test_switching_the_database_engine_of_a_running_site_is_refused_and_changes_nothing(mariadb_site):
    # PostgreSQL asked for on the host whose MariaDB holds the engine's data: the engine would start on an empty
    # database. The run stops at the database host, before anything is installed or any engine host changes.
    db = mariadb_site['machines']['mdb-db']
    nodes = sql(mariadb_site, 'SELECT COUNT(*) FROM ironic.nodes').strip()
    code, output = run_playbook(ROOT / 'playbooks/site.yml', dict(mariadb_site['vars'], database_engine='postgresql'),
                                '-i', str(mariadb_site['inventory']), expect_ok=False)
    assert code != 0
    said = ' '.join(output.split())  # (however the result's YAML wraps the message)
    assert all(part in said for part in ('database_engine: mdb-db keeps the engine', 'database ironic in mariadb, not '
                                         'postgresql', 'Nothing was changed.')), output[-4000:]
    totals = recap(output)
    assert totals['changed'] == 0 and totals['failed'] == 1, output[-4000:]
    assert 'TASK [rackops.baremetal.ironic' not in output, output[-4000:]
    assert db.ssh('systemctl is-active mariadb.service postgresql.service', check=False).stdout.split() == [
        'active', 'inactive']
    assert db.ssh('cat /etc/rackops/database/ironic.engine').stdout.strip() == 'mariadb'
    assert sql(mariadb_site, 'SELECT COUNT(*) FROM ironic.nodes').strip() == nodes
