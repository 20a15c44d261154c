"""Killing an ansible-playbook run as a power cut or a cancelled job's cgroup would: all of it.

Ansible's workers call setsid(), so killing the run's process group leaves them running; the tree is read
from /proc instead."""
import os
import signal
import time


def descendants(pid):
    """The processes below pid."""
    children = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/stat' % entry) as handle:
                    # The command name in parentheses may hold spaces; the parent pid follows it.
                    parent = int(handle.read().rsplit(')', 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid):
    """Whether the process exists and has not exited (a zombie has released its files and locks)."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] not in ('Z', 'X')
    except (OSError, IndexError):
        return False


def _signal(pids, signum):
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def kill_tree(pid, timeout=30):
    """SIGKILL pid and everything below it, and return once they have all exited (the caller reaps pid).

    The tree is frozen first, until no new process appears (a stopped process forks no more), so nothing
    escapes or reacts while it is collected. SIGKILL lands asynchronously: without the wait, a module
    process could still hold its locks when the caller looks at what the run left behind."""
    stopped = set()
    while True:
        tree = set([pid] + descendants(pid)) - stopped
        if not tree:
            break
        _signal(tree, signal.SIGSTOP)
        stopped |= tree
    _signal(stopped, signal.SIGKILL)
    deadline = time.time() + timeout
    while any(_alive(member) for member in stopped) and time.time() < deadline:
        time.sleep(0.05)
