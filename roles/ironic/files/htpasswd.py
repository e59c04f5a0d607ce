"""Keep one user's bcrypt entry in an htpasswd file, idempotently.

usage: rackops-htpasswd FILE USER ROUNDS OWNER   (password on stdin)

bcrypt salts every hash, so a naive rewrite would change the file (and
restart Ironic) on every run: the entry is rewritten only when the password
no longer matches it. Other users' lines are kept. Prints "changed" or "ok".
"""

import os
import pwd
import sys
import tempfile

import bcrypt


def main(path, user, rounds, owner):
    password = sys.stdin.read().rstrip('\n').encode()
    lines = []
    if os.path.exists(path):
        with open(path, encoding='utf-8') as handle:
            lines = handle.read().splitlines()
    for line in lines:
        name, sep, hashed = line.partition(':')
        if name == user and sep and hashed and bcrypt.checkpw(password, hashed.encode()):
            print('ok')
            return 0
    entry = '%s:%s' % (user, bcrypt.hashpw(password, bcrypt.gensalt(int(rounds))).decode())
    lines = [line for line in lines if line.partition(':')[0] != user] + [entry]
    account = pwd.getpwnam(owner)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.htpasswd.')
    try:
        os.fchmod(fd, 0o600)
        os.fchown(fd, account.pw_uid, account.pw_gid)
        with os.fdopen(fd, 'w', encoding='utf-8') as handle:
            handle.write('\n'.join(lines) + '\n')
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    print('changed')
    return 0


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:5]))
