#!/usr/bin/env python3
"""cspy's own CPU time per sample while recording a program whose stack is 20
frames deep (a function recursing 18 levels, then burning CPU), at 100 Hz and
1 kHz, blocking and --nonblocking, for every installed interpreter. The
figure is cspy's rusage (user + system) divided by its samples, as printed by
`cspy record -v`. Usage: bench/record_cpu.py [SECONDS] (default 5); prints a
markdown table (`make bench` writes it to bench/results/record_cpu.md)."""
import glob, os, re, subprocess, sys, tempfile

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 5
BUILD = os.environ.get("BUILD", "build")
CSPY = os.path.join(BUILD, "cspy")
TARGET = r'''
import sys, time
def burn():
    end = time.time() + %f
    x = 0
    while time.time() < end:
        x += 1
def deep(n):
    if n:
        return deep(n - 1)
    burn()
deep(17)   # <module> + 18 x deep + burn = 20 frames
'''

def pythons():
    try:
        root = subprocess.check_output(["pyenv", "root"], universal_newlines=True).strip()
    except (OSError, subprocess.CalledProcessError):
        root = os.environ.get("PYENV_ROOT", "")
    found = sorted(glob.glob(os.path.join(root, "versions", "*", "bin", "python"))) if root else []
    found += [p for p in sorted(glob.glob("/usr/bin/python3.*")) if re.match(r"python3\.\d+$", os.path.basename(p))]
    return found

def version(py):
    return subprocess.check_output([py, "-c", "import sys;print('%d.%d.%d' % sys.version_info[:3])"],
                                   universal_newlines=True).strip()

def measure(py, script, rate, extra):
    out = subprocess.run([CSPY, "record", "-v", "-r", str(rate), "-f", "raw", "-o", os.devnull] + extra
                         + ["--", py, script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True)
    m = re.search(r"for (\d+) samples: ([\d.]+) us per sample", out.stderr)
    if not m:
        return None, None
    return float(m.group(2)), int(m.group(1))

def main():
    rows = []
    with tempfile.TemporaryDirectory() as d:
        script = os.path.join(d, "deep.py")
        with open(script, "w") as f:
            f.write(TARGET % SECONDS)
        for py in pythons():
            v = version(py)
            cells = []
            for rate in (100, 1000):
                for extra in ([], ["--nonblocking"]):
                    us, n = measure(py, script, rate, extra)
                    cells.append("%.1f us (%d samples)" % (us, n) if us is not None else "failed")
            rows.append((tuple(int(x) for x in v.split(".")), v, py, cells))
    rows.sort()
    print("| Python | 100 Hz | 100 Hz --nonblocking | 1 kHz | 1 kHz --nonblocking |")
    print("|---|---|---|---|---|")
    for _, v, py, cells in rows:
        print("| %s | %s |" % (v + (" (system)" if py.startswith("/usr/bin") else ""), " | ".join(cells)))
    print("\ncspy CPU time (user+system, from its rusage) per sample, recording a 20-frame-deep "
          "CPU-bound program for %g s in launch mode; includes start-up and writing the output." % SECONDS)

main()
