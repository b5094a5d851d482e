# -*- coding: utf-8 -*-
"""Target of `record --async` (tests/e2e/asyncrec.py): asyncio tasks doing
CPU work in distinct functions with a known nesting (Python 3.6+).

    python asyncrec_target.py ORACLE_PATH [gather|taskgroup|many N|threads]

gather (the default): the task running main() gathers three tasks: alpha()
and beta() loop over `await alpha_work()` / `await beta_work()`, which
spin in burn_alpha() (3 ms) / burn_beta() (1 ms) and then yield to the
loop; idler() waits on an event that is never set. taskgroup (3.11+): the
same three under an asyncio.TaskGroup, with names of their own
("alpha-worker", "beta-worker", "idle-worker"). many N: besides those, N
tasks that sleep (bench/async_cost.py: what N pending tasks cost per
sample). threads: besides gather's, a second thread ("loop-2") runs an
event loop of its own, whose task gamma_main awaits the task gamma, which
spins in burn_gamma (2 ms) between awaits; its thread ident is in the
oracle ("loop2_ident").

The oracle is the target's own view, taken from inside: inside
burn_alpha/burn_beta, asyncio.current_task()'s name and coroutine and
traceback.extract_stack() (the thread's frames, event loop included); after
a few rounds, each pending task's get_stack() (where it waits: function and
line). It is written as JSON to ORACLE_PATH through a rename (the file
appearing is the readiness signal). Then, every 0.2 s, the time spent in
burn_alpha and burn_beta so far (time.perf_counter) is written the same way
to ORACLE_PATH + ".acct", the accounting the samples' shares are checked
against. The target runs until it is killed (SIGALRM after 300 s).

With CSPY_PURE_ASYNCIO=1 in its environment it runs asyncio's pure-Python
tasks (the _asyncio C module blocked before asyncio is imported): how
Python 3.6's tasks are recorded, whose C _asyncio the reader cannot read.
"""
import os
import sys
if os.environ.get('CSPY_PURE_ASYNCIO') == '1':
    sys.modules['_asyncio'] = None
import asyncio
import json
import signal
import threading
import time
import traceback

ORACLE = sys.argv[1]
MODE = sys.argv[2] if len(sys.argv) > 2 else 'gather'
MANY = int(sys.argv[3]) if MODE == 'many' else 0
SPIN = {'alpha': 0.003, 'beta': 0.001}
spent = {'alpha': 0.0, 'beta': 0.0}
seen = {}               # 'alpha'/'beta': what the task saw from inside
rounds = [0]


def write_json(path, obj):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f)
    os.rename(tmp, path)


def current_task():
    return asyncio.current_task() if hasattr(asyncio, 'current_task') else asyncio.Task.current_task()


def task_name(t):
    return t.get_name() if hasattr(t, 'get_name') else ''


def look(which):
    """Inside a burn: the task and the thread's frames, root first."""
    if which in seen:
        return
    t = current_task()
    seen[which] = {
        'task': task_name(t),
        'coro': t._coro.__name__ if hasattr(t, '_coro') else '',
        'stack': [[f[2], f[1]] for f in traceback.extract_stack()][:-1],   # without look()
    }


def busy_spin(which):
    t0 = time.perf_counter()
    end = t0 + SPIN[which]
    while time.perf_counter() < end:
        pass
    spent[which] += time.perf_counter() - t0


def burn_alpha():
    look('alpha')
    busy_spin('alpha')


def burn_beta():
    look('beta')
    busy_spin('beta')


async def alpha_work():
    burn_alpha()
    await asyncio.sleep(0)


async def beta_work():
    burn_beta()
    await asyncio.sleep(0)


async def alpha():
    while True:
        await alpha_work()
        rounds[0] += 1


async def beta():
    while True:
        await beta_work()


async def idle_wait(ev):
    await ev.wait()


async def idler(ev):
    await idle_wait(ev)


def burn_gamma():
    end = time.perf_counter() + 0.002
    while time.perf_counter() < end:
        pass


async def gamma():
    while True:
        burn_gamma()
        await asyncio.sleep(0)


async def gamma_main():
    await asyncio.ensure_future(gamma())


def loop2(ready):
    ready.append(threading.get_ident())
    asyncio.run(gamma_main())


async def sleeper():
    await asyncio.sleep(100000)


def all_tasks():
    return asyncio.all_tasks() if hasattr(asyncio, 'all_tasks') else asyncio.Task.all_tasks()


async def reporter():
    """A task of its own (pending most of the time): once alpha and beta
    have run a few rounds, the oracle; then the accounting, every 0.2 s."""
    while rounds[0] < 5 or len(seen) < 2:
        await asyncio.sleep(0.01)
    waits = []
    me = current_task()
    for t in all_tasks():
        if t is me or t.done():
            continue
        st = t.get_stack(limit=1)
        coro = getattr(t, '_coro', None)
        waits.append({'task': task_name(t), 'coro': coro.__name__ if coro else '',
                      'function': st[0].f_code.co_name if st else '',
                      'line': st[0].f_lineno if st else -1})
    write_json(ORACLE + '.acct', dict(spent))      # before the oracle: there once it is
    write_json(ORACLE, {'pid': os.getpid(), 'threads': [{}], 'extra': {}, 'mode': MODE,
                        'loop2_ident': LOOP2[0] if LOOP2 else None,
                        'version': list(sys.version_info[:3]), 'seen': seen, 'waits': waits,
                        'spin': SPIN})
    while True:
        write_json(ORACLE + '.acct', dict(spent))
        await asyncio.sleep(0.2)


async def main():
    ev = asyncio.Event()
    for _ in range(MANY):
        asyncio.ensure_future(sleeper())
    if MODE == 'taskgroup':
        async with asyncio.TaskGroup() as tg:
            tg.create_task(alpha(), name='alpha-worker')
            tg.create_task(beta(), name='beta-worker')
            tg.create_task(idler(ev), name='idle-worker')
            tg.create_task(reporter(), name='reporter')
    else:
        await asyncio.gather(alpha(), beta(), idler(ev), reporter())


LOOP2 = []

if __name__ == '__main__':
    signal.alarm(300)
    if MODE == 'threads':
        threading.Thread(target=loop2, args=(LOOP2,), name='loop-2', daemon=True).start()
    if hasattr(asyncio, 'run'):
        asyncio.run(main())
    else:
        asyncio.get_event_loop().run_until_complete(main())
