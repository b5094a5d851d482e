# -*- coding: utf-8 -*-
"""Workload: the CPU mix of cpumix.py at the bottom of a 300-frame stack
(<module> -> main -> run_at_depth x 296 -> work_loop -> share_*)."""
import cpumix

if __name__ == '__main__':
    cpumix.main(depth=300)
