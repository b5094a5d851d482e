# -*- coding: utf-8 -*-
"""Target of the asyncio tier (tests/e2e/asyncio_tasks.py), Python 3.6+.

    python asyncio_tasks.py ORACLE_PATH SCENARIO[+SCENARIO...] [N]

Builds one asyncio scenario, lets it settle (every task parked on something
that never completes, so dumps are stable), then writes the ORACLE from
inside: every task it made (id(), get_name(), state, its loop and the
thread running that loop), each task's coroutine chain (code name and
f_lineno of the task's coroutine and of every coroutine it awaits, via
cr_await / gi_yieldfrom, innermost first as cspy prints stacks), and which
tasks await it (a task whose _fut_waiter is it, a _GatheringFuture whose
_children hold it, the TaskGroup whose task it is). On 3.14+ also what
asyncio.capture_call_graph() says each task is awaited by. The oracle goes
to ORACLE_PATH (write then rename: its appearing means ready), then the
target parks until the runner kills it.

Scenarios (several joined by + run in one loop): nested (a -> b -> c
chains, a task awaiting a task), gather, taskgroup (3.11+), done (finished
and cancelled tasks still referenced), many (N tasks, default 3000);
alone: running (a CPU-bound task spinning in its loop), churn (short tasks
created and finished without end; the oracle only says ready), twoloops
(a loop per thread), pure (nested + gather with the pure-Python asyncio:
sys.modules['_asyncio'] = None first), none (asyncio never imported).
No f-strings: 3.6 runs it too.
"""
from __future__ import print_function

import os
import sys

SCENARIO = sys.argv[2] if len(sys.argv) > 2 else 'nested'
PARTS = set(SCENARIO.split('+'))
if SCENARIO == 'pure':
    sys.modules['_asyncio'] = None      # before asyncio is imported
if SCENARIO == 'none':
    import cspy_oracle as oracle
    oracle.write_json(oracle.start(), {'pid': __import__('os').getpid(), 'extra': {},
                                       'threads': [], 'asyncio': 'asyncio' in sys.modules})
    while True:
        __import__('time').sleep(oracle.FOREVER)

import asyncio                          # noqa: E402
import threading                        # noqa: E402
import time                             # noqa: E402

import cspy_oracle as oracle            # noqa: E402

HAS_NAMES = sys.version_info >= (3, 8)
KEEP = []                               # tasks and futures kept alive
GROUPS = []                             # TaskGroups: (group, parent task)
LOOPS = {}                              # id(loop) -> thread ident running it
FLAG = [True]


def new_task(loop, coro, name):
    t = loop.create_task(coro)
    if HAS_NAMES:
        t.set_name(name)
    KEEP.append(t)
    return t


# ---- coroutines the scenarios are made of --------------------------------

async def leaf(fut):
    await fut


async def middle(fut):
    await leaf(fut)


async def top(fut):
    await middle(fut)


async def await_task(t):
    await t


async def gatherer(loop):
    kids = [new_task(loop, middle(loop.create_future()), 'gathered-%d' % i) for i in range(3)]
    await asyncio.gather(*kids)


async def tg_parent(loop):
    async with asyncio.TaskGroup() as tg:
        GROUPS.append((tg, current_task(loop)))
        for i in range(3):
            t = tg.create_task(middle(loop.create_future()))
            if HAS_NAMES:
                t.set_name('tg-child-%d' % i)
            KEEP.append(t)


async def quick():
    return 1


async def sleeper():
    await asyncio.sleep(100000)


def current_task(loop):
    f = getattr(asyncio, 'current_task', None)
    return f(loop) if f else asyncio.Task.current_task(loop)


# ---- the oracle -----------------------------------------------------------

def code_name(code):
    return getattr(code, 'co_qualname', code.co_name)


def chain(task):
    """The task's coroutine chain, innermost first: [[name, line], ...]."""
    out = []
    obj = task._coro
    for _ in range(100):
        frame = getattr(obj, 'cr_frame', None) or getattr(obj, 'gi_frame', None)
        if frame is None:
            break
        out.append([frame.f_code.co_name, frame.f_lineno])
        nxt = getattr(obj, 'cr_await', None)
        if nxt is None:
            nxt = getattr(obj, 'gi_yieldfrom', None)
        if nxt is None or not (hasattr(nxt, 'cr_frame') or hasattr(nxt, 'gi_frame')):
            break
        obj = nxt
    out.reverse()
    return out


def state_of(task, loop):
    if task.cancelled():
        return 'cancelled'
    if task.done():
        return 'done'
    if current_task_safe(loop) is task:
        return 'running'
    return 'pending'


def current_task_safe(loop):
    try:
        return current_task(loop)
    except RuntimeError:
        return None


def awaiters(tasks):
    """{id(task): set(id(awaiting task))}."""
    by = dict((id(t), set()) for t in tasks)
    for a in tasks:
        w = getattr(a, '_fut_waiter', None)
        if w is None:
            continue
        if id(w) in by:
            by[id(w)].add(id(a))
        elif type(w).__name__ == '_GatheringFuture':
            for c in w._children:
                if id(c) in by:
                    by[id(c)].add(id(a))
    for tg, parent in GROUPS:
        for c in list(getattr(tg, '_tasks', ())):
            if id(c) in by and parent is not None:
                by[id(c)].add(id(parent))
    return by


def call_graph(tasks):
    """3.14+: {id(task): [id of each task it is awaited by]} per
    capture_call_graph (None when the version has none)."""
    cg = getattr(asyncio, 'capture_call_graph', None)
    if cg is None:
        return None
    out = {}
    for t in tasks:
        if t.done():
            continue
        try:
            g = cg(t)
        except Exception:
            continue
        if g is None:
            continue
        out[str(id(t))] = [id(a.future) for a in g.awaited_by if isinstance(a.future, asyncio.Task)]
    return out


def task_record(t, by, running_line=None):
    loop = t._loop
    rec = {'addr': id(t), 'name': t.get_name() if HAS_NAMES else '',
           'state': state_of(t, loop), 'loop': id(loop),
           'loop_thread': LOOPS.get(id(loop)), 'frames': chain(t),
           'awaited_by': sorted(by.get(id(t), ()))}
    if rec['state'] == 'running' and running_line is not None and rec['frames']:
        rec['frames'][0][1] = running_line
    return rec


def write_oracle(path, tasks, running_line=None, extra=None):
    by = awaiters(tasks)
    data = {'pid': os.getpid(), 'scenario': SCENARIO, 'version': list(sys.version_info[:3]),
            'c_asyncio': type(asyncio.Task).__module__ != 'type' and
            asyncio.Task.__module__ == '_asyncio',
            'tasks': [task_record(t, by, running_line) for t in tasks],
            'call_graph': call_graph(tasks), 'extra': extra or {}, 'threads': []}
    oracle.write_json(path, data)


# ---- scenarios -------------------------------------------------------------

async def settle(n=5):
    for _ in range(n):
        await asyncio.sleep(0)


async def build(loop, scenario, n):
    """Make the scenario's tasks on loop (running in this thread)."""
    parts = set(scenario.split('+'))
    if parts & set(['nested', 'pure', 'twoloops']):
        inner = new_task(loop, top(loop.create_future()), 'inner')
        new_task(loop, await_task(inner), 'awaits-inner')
        new_task(loop, middle(loop.create_future()), 'plain')
    if parts & set(['gather', 'pure']):
        new_task(loop, gatherer(loop), 'gather-parent')
    if 'taskgroup' in parts and hasattr(asyncio, 'TaskGroup'):
        new_task(loop, tg_parent(loop), 'tg-parent')
    if 'done' in parts:
        d = new_task(loop, quick(), 'finished')
        c = new_task(loop, sleeper(), 'cancelled')
        new_task(loop, middle(loop.create_future()), 'still-pending')
        await settle()
        c.cancel()
        await settle()
        assert d.done() and c.cancelled()
    if 'many' in parts:
        for i in range(n):
            new_task(loop, middle(loop.create_future()), 'many-%d' % i)
    await settle(10)


async def churn(loop):
    while True:
        ts = [loop.create_task(quick()) for _ in range(20)]
        await asyncio.gather(*ts)


async def spin(path, loop):
    """The running scenario's task: writes the oracle, then never yields."""
    await settle(10)
    n = 0
    line = sys._getframe().f_lineno + 2             # the `while` line below
    write_oracle(path, [t for t in KEEP], running_line=line)
    while FLAG[0]: n += 1                            # noqa: E701
    return n


async def main_coro(path, loop, scenario, n, ready=None):
    LOOPS[id(loop)] = threading.get_ident()
    KEEP.append(current_task(loop))     # the task run_until_complete made
    if scenario == 'running':
        new_task(loop, middle(loop.create_future()), 'waiting')
        t = new_task(loop, spin(path, loop), 'spinner')
        new_task(loop, await_task(t), 'awaits-spinner')
        await asyncio.sleep(100000)
    if scenario == 'churn':
        loop.create_task(churn(loop))
        await settle(20)
        loop.call_later(0.05, write_oracle, path, [])
        await asyncio.sleep(100000)
    await build(loop, scenario, n)
    if ready is not None:
        ready.set()                     # twoloops: the main thread writes the oracle
    else:
        # From a callback of the loop, once this task is parked too.
        loop.call_later(0.05, write_oracle, path, list(KEEP))
    await asyncio.sleep(100000)


def run_loop(path, scenario, n, ready=None):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(main_coro(path, loop, scenario, n, ready))


def main():
    path = oracle.start()
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
    if SCENARIO != 'twoloops':
        run_loop(path, SCENARIO, n)
        return
    evs = [threading.Event(), threading.Event()]
    ths = [threading.Thread(target=run_loop, args=(path, 'twoloops', n, evs[i]),
                            name='loop-%d' % i) for i in range(2)]
    for th in ths:
        th.daemon = True
        th.start()
    for e in evs:
        e.wait(30)
    time.sleep(0.2)
    write_oracle(path, list(KEEP))
    while True:
        time.sleep(oracle.FOREVER)


if __name__ == '__main__':
    main()
