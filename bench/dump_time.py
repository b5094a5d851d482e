#!/usr/bin/env python3
"""Time `cspy dump` on a 10-thread process (each thread 12 frames deep), for
every installed interpreter: median and min-max of N runs, blocking and
--nonblocking. Usage: bench/dump_time.py [N] (default 10). Prints a markdown
table; `make bench` writes it to bench/results/dump.md."""
import glob, os, statistics, subprocess, sys, tempfile, time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10
BUILD = os.environ.get("BUILD", "build")
CSPY = os.path.join(BUILD, "cspy")
TARGET = r'''
import threading, time, sys
def work(i):
    def deeper(n):
        if n: return deeper(n - 1)
        time.sleep(1000)
    deeper(10)
for i in range(10):
    threading.Thread(target=work, args=(i,), name="w%d" % i).start()
open(sys.argv[1], "w").close()
time.sleep(1000)
'''

def pythons():
    try:
        root = subprocess.check_output(["pyenv", "root"], text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        root = os.environ.get("PYENV_ROOT", "")
    found = sorted(glob.glob(os.path.join(root, "versions", "*", "bin", "python"))) if root else []
    found += [p for p in sorted(glob.glob("/usr/bin/python3.*")) if os.path.basename(p)[7:].replace(".", "").isdigit()]
    return found

def root_prefix():
    try:
        return subprocess.check_output(["pyenv", "root"], text=True).strip() or "\0"
    except (OSError, subprocess.CalledProcessError):
        return "\0"

def main():
    rows = []
    for py in pythons():
        with tempfile.TemporaryDirectory() as d:
            script, ready = os.path.join(d, "t.py"), os.path.join(d, "ready")
            open(script, "w").write(TARGET)
            p = subprocess.Popen([py, script, ready])
            try:
                for _ in range(200):
                    if os.path.exists(ready):
                        break
                    time.sleep(0.05)
                time.sleep(0.2)
                res = {}
                for mode, extra in (("blocking", []), ("nonblocking", ["--nonblocking"])):
                    ts = []
                    for _ in range(N):
                        t0 = time.perf_counter()
                        out = subprocess.run([CSPY, "dump", "--pid", str(p.pid)] + extra,
                                             capture_output=True, text=True)
                        ts.append((time.perf_counter() - t0) * 1000)
                        assert out.returncode == 0 and out.stdout.count("Thread ") == 11, out.stderr
                    res[mode] = ts
                ver = subprocess.check_output([py, "-c", "import sys;print('%d.%d.%d' % sys.version_info[:3])"], text=True).strip()
                rows.append((ver, py, res))
            finally:
                p.kill()
                p.wait()
    print("| Python | blocking: median ms (min-max) | --nonblocking: median ms (min-max) |")
    print("|---|---|---|")
    rows.sort(key=lambda r: (tuple(int(x) for x in r[0].split(".")), r[1]))
    for ver, py, res in rows:
        cells = ["%.2f (%.2f-%.2f)" % (statistics.median(v), min(v), max(v)) for v in (res["blocking"], res["nonblocking"])]
        print("| %s (%s) | %s | %s |" % (ver, py.replace(root_prefix(), "$(pyenv root)").replace(os.path.expanduser("~"), "~"), cells[0], cells[1]))
    print("\n%d runs each; `cspy dump --pid PID` wall time including process start, on a 10-thread process (11 threads, 12 frames each)." % N)

main()
