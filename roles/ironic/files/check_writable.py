"""Check that directories can be created and written, without creating them.

Arguments are NAME=PATH pairs; prints one line per problem naming NAME and
exits 1 if there is any. Runs before the role writes anything.
"""

import os
import sys


def problem(path):
    """Why ``path`` cannot be created or written, or None if it can."""
    probe = os.path.abspath(path)
    while not os.path.lexists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        return '%s is not a directory' % probe
    if not os.access(probe, os.W_OK | os.X_OK):
        return '%s is not writable' % probe
    return None


def main(argv):
    problems = []
    for arg in argv:
        name, path = arg.split('=', 1)
        reason = problem(path)
        if reason:
            problems.append('%s: %s cannot be created or written (%s).' % (name, path, reason))
    print(' '.join(problems))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
