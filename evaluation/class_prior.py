"""`python -m evaluation.class_prior`, the frequency-cuts command's name before the packages by job.

It runs `python -m evaluation.frequency_cuts` with the same flags; the correction itself is grading.class_prior.
"""
import runpy

if __name__ == "__main__":
    runpy.run_module("evaluation.frequency_cuts", run_name="__main__", alter_sys=True)
