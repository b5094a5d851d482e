"""Target of the memory tier (tests/e2e/memory.py): known amounts of memory
in known functions, at two rates, with its own oracle.

    python memory_target.py ORACLE.json [SCALE [threads]]

Steps, each a function of its own, in this order:
  warmup      pure-Python work, nothing allocated (the sampler settles)
  grow_fast   200 MB in 25 chunks of 8 MB, a short spin after each (bursts)
  grow_slow   50 MB in 400 chunks of 128 KiB, a shorter spin after each
              (a steady trickle)
  compute     pure-Python work, nothing allocated
  shrink      frees grow_fast's chunks one by one, a spin after each
  compute2    pure-Python work, nothing allocated (grow_slow's chunks held)
SCALE (default 1) multiplies every step's time, not its bytes. A thread
named "sleeper" waits on an event through all of it (idle: it must get no
bytes); the steps start once it is asleep in the kernel.

With "threads", the steps are instead: warmup, then one step "threads" in
which two threads run at once while the main thread waits in join():
grow_thread allocates 100 MB in 25 chunks of 4 MB with a spin after each,
and compute_thread spins (pure Python) until grow_thread is done (both
started, and asleep, before they are let go).

Chunks are bytes objects filled by the repeat (every page written, so
resident), each large enough for malloc to map it apart (so freeing it
returns it to the system). The ORACLE is measured from inside: per step
its resident size before and after (/proc/self/statm) and its time; written
atomically as JSON when the steps are done, then the program exits.
"""
import json
import os
import sys
import threading
import time

PAGE = os.sysconf('SC_PAGE_SIZE')
MB = 1000 * 1000
try:
    RANGE = xrange      # noqa: F821 (2.7: no list per loop)
except NameError:
    RANGE = range


def rss():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * PAGE


def spin(seconds):
    end = time.time() + seconds
    x = 0
    while time.time() < end:
        for i in RANGE(100):
            x += i
    return x


def warmup(scale):
    spin(0.2 * scale)


def grow_fast(keep, scale):
    for _ in RANGE(25):
        keep.append(b'\x01' * (8 * MB))
        spin(0.03 * scale)


def grow_slow(keep, scale):
    for _ in RANGE(400):
        keep.append(b'\x02' * (128 * 1024))
        spin(0.0015 * scale)


def compute(scale):
    spin(0.3 * scale)


def shrink(keep, scale):
    while keep:
        keep.pop()
        spin(0.02 * scale)


def compute2(scale):
    spin(0.2 * scale)


def grow_thread(keep, scale, go, done):
    go.wait()
    for _ in RANGE(25):
        keep.append(b'\x03' * (4 * MB))
        spin(0.02 * scale)
    done.set()


def compute_thread(go, done):
    go.wait()
    while not done.is_set():
        spin(0.01)


def threads_step(keep, scale):
    go, done = threading.Event(), threading.Event()
    a = threading.Thread(target=grow_thread, args=(keep, scale, go, done), name='grower')
    b = threading.Thread(target=compute_thread, args=(go, done), name='computer')
    b.start()
    a.start()
    settle()            # both started and asleep (free-threaded: starting takes a while)
    go.set()
    a.join()
    b.join()


def sleeper(ev):
    ev.wait()


def settle():
    """Wait (up to 2 s) until every other thread of this process is asleep
    in the kernel: 3.15t's new thread is runnable for ~0.2 s after it
    starts (/proc says R), and the steps are to run with the sleeper idle."""
    end, quiet = time.time() + 2, 0
    while time.time() < end and quiet < 3:
        busy = False
        for tid in os.listdir('/proc/self/task'):
            if int(tid) == os.getpid():
                continue
            try:
                with open('/proc/self/task/%s/syscall' % tid) as f:
                    busy = busy or f.read().startswith('running')
            except (IOError, OSError):
                pass
        quiet = 0 if busy else quiet + 1
        time.sleep(0.005)


def main():
    ev = threading.Event()
    th = threading.Thread(target=sleeper, args=(ev,), name='sleeper')
    th.daemon = True
    th.start()
    settle()
    out = sys.argv[1]
    scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    big, small = [], []
    steps = [('warmup', lambda: warmup(scale)),
             ('threads', lambda: threads_step(big, scale))] if sys.argv[3:4] == ['threads'] else [
             ('warmup', lambda: warmup(scale)),
             ('grow_fast', lambda: grow_fast(big, scale)),
             ('grow_slow', lambda: grow_slow(small, scale)),
             ('compute', lambda: compute(scale)),
             ('shrink', lambda: shrink(big, scale)),
             ('compute2', lambda: compute2(scale))]
    oracle = {'pid': os.getpid(), 'page': PAGE, 'steps': []}
    for name, fn in steps:
        r0, t0 = rss(), time.time()
        fn()
        r1, t1 = rss(), time.time()
        oracle['steps'].append({'name': name, 'rss_before': r0, 'rss_after': r1,
                                'delta': r1 - r0, 'seconds': t1 - t0})
    ev.set()
    th.join()
    tmp = out + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(oracle, f)
    os.rename(tmp, out)


if __name__ == '__main__':
    main()
