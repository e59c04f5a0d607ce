"""mariadb_account_changes: what the database role asks of MariaDB so that the engine's hosts, and only they,
reach the engine's database."""

from __future__ import annotations

from ansible_collections.rackops.baremetal.plugins.filter.mariadb_account_changes import mariadb_account_changes

CLIENTS = ['10.0.0.11', '10.0.0.12']


def changes(present, password='s3cret'):
    return mariadb_account_changes(present, CLIENTS, 'ironic', 'ironic', password)


def test_a_new_server_gets_the_database_and_one_account_per_engine_host():
    found = changes('database\t0\n')
    assert [change['say'] for change in found] == [
        'create the database ironic',
        "create the account 'ironic'@'10.0.0.11'", "grant 'ironic'@'10.0.0.11' every privilege on ironic",
        "create the account 'ironic'@'10.0.0.12'", "grant 'ironic'@'10.0.0.12' every privilege on ironic"]
    assert found[0]['sql'] == 'CREATE DATABASE ironic CHARACTER SET utf8mb3;'
    assert found[1]['sql'] == "CREATE USER 'ironic'@'10.0.0.11' IDENTIFIED BY 's3cret';"
    assert found[2]['sql'] == "GRANT ALL PRIVILEGES ON ironic.* TO 'ironic'@'10.0.0.11';"
    # what is said never carries the password
    assert not any('s3cret' in change['say'] for change in found)


def test_a_server_that_has_it_all_needs_nothing():
    assert changes('database\t1\naccount\t10.0.0.11\t1\t1\naccount\t10.0.0.12\t1\t1\n') == []


def test_a_changed_password_a_missing_grant_and_a_host_no_longer_listed():
    found = changes('database\t1\naccount\t10.0.0.11\t0\t1\naccount\t10.0.0.12\t1\t0\naccount\t10.0.0.99\t1\t1\n')
    assert [change['sql'] for change in found] == [
        "ALTER USER 'ironic'@'10.0.0.11' IDENTIFIED BY 's3cret';",
        "GRANT ALL PRIVILEGES ON ironic.* TO 'ironic'@'10.0.0.12';",
        "DROP USER 'ironic'@'10.0.0.99';"]
    assert found[-1]['say'] == "drop the account 'ironic'@'10.0.0.99' (not an engine host)"


def test_a_password_with_quotes_and_backslashes_stays_one_string_literal():
    found = changes('database\t1\n', password="it's a \\ test")
    assert found[0]['sql'] == "CREATE USER 'ironic'@'10.0.0.11' IDENTIFIED BY 'it''s a \\\\ test';"


def test_no_answer_at_all_means_everything_is_created():
    # (check mode on a host whose server is not running yet)
    assert len(changes('')) == 5
