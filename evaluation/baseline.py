"""`python -m evaluation.baseline`, the baseline command's name before the packages by job.

It runs `python -m reporting.baseline` with the same flags.
"""
import runpy

if __name__ == "__main__":
    runpy.run_module("reporting.baseline", run_name="__main__", alter_sys=True)
