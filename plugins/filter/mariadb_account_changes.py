# Copyright: rackops.baremetal contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: mariadb_account_changes
short_description: What MariaDB needs so that the engine's hosts, and only they, reach the engine's database
version_added: 0.1.0
author:
  - rackops.baremetal developers (@rackops)
description:
  - Compares what the rackops.baremetal.database role read from MariaDB (its query's tab-separated lines
    C(database<TAB>count) and C(account<TAB>host<TAB>password matches<TAB>grants)) with what the engine needs.
  - One account per engine host address, C('user'@'address'), with the password and every privilege on the
    database; an account of the user for an address not listed is dropped, so only the engine's hosts log in.
  - Returns the changes in order, each as what to say (no password) and its SQL statement (with the password -
    use it with C(no_log)).
options:
  _input:
    description: The query's output.
    type: str
    required: true
  clients:
    description: The engine hosts' addresses.
    type: list
    elements: str
    required: true
  user:
    description: The user name (checked by the role - letters, digits and C(_)).
    type: str
    required: true
  database:
    description: The database name (checked by the role likewise).
    type: str
    required: true
  password:
    description: The user's password.
    type: str
    required: true
'''

EXAMPLES = r'''
- name: Work out what to create, change and drop
  ansible.builtin.set_fact:
    changes: "{{ query.stdout | rackops.baremetal.mariadb_account_changes(clients, 'ironic', 'ironic', password) }}"
  no_log: true
'''

RETURN = r'''
_value:
  description: The changes, in the order to make them; empty when MariaDB already has what the engine needs.
  type: list
  elements: dict
  contains:
    say:
      description: What the change does, without the password.
      type: str
    sql:
      description: The SQL statement.
      type: str
'''


def sql_string(value: str) -> str:
    """A MariaDB string literal (backslash is an escape character there by default)."""
    return "'%s'" % value.replace('\\', '\\\\').replace("'", "''")


def mariadb_account_changes(present, clients, user, database, password):
    rows = [line.split('\t') for line in (present or '').splitlines() if line.strip()]
    has_database = any(row[0] == 'database' and row[1] != '0' for row in rows)
    # host -> (password matches, grants on the database)
    accounts = {row[1]: (row[2] == '1', row[3] != '0') for row in rows if row[0] == 'account'}

    def account(host):
        return '%s@%s' % (sql_string(user), sql_string(host))

    changes = []
    if not has_database:
        changes.append({'say': 'create the database %s' % database,
                        'sql': 'CREATE DATABASE %s CHARACTER SET utf8mb3;' % database})
    for client in clients:
        if client not in accounts:
            changes.append({'say': 'create the account %s' % account(client),
                            'sql': 'CREATE USER %s IDENTIFIED BY %s;' % (account(client), sql_string(password))})
        elif not accounts[client][0]:
            changes.append({'say': 'set the password of %s' % account(client),
                            'sql': 'ALTER USER %s IDENTIFIED BY %s;' % (account(client), sql_string(password))})
        if client not in accounts or not accounts[client][1]:
            changes.append({'say': 'grant %s every privilege on %s' % (account(client), database),
                            'sql': 'GRANT ALL PRIVILEGES ON %s.* TO %s;' % (database, account(client))})
    for host in sorted(set(accounts) - set(clients)):
        changes.append({'say': 'drop the account %s (not an engine host)' % account(host),
                        'sql': 'DROP USER %s;' % account(host)})
    return changes


class FilterModule:

    def filters(self):
        return {'mariadb_account_changes': mariadb_account_changes}
