"""Thread settings for the PyTorch baselines; must run before torch (libgomp, OpenBLAS) loads.

Imports nothing heavy, so a script can call ensure_thread_env_from_argv() before `import torch`.
"""

import argparse
import os
import sys

_REEXEC = "_RLAIF_BENCH_REEXEC"


def thread_env(threads):
    n = str(threads)
    return {
        "OMP_NUM_THREADS": n,
        "OPENBLAS_NUM_THREADS": n,
        "MKL_NUM_THREADS": n,
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
    }


def ensure_thread_env(threads):
    """Re-execute this script once with the thread variables set, if they are not already."""
    want = thread_env(threads)
    if all(os.environ.get(k) == v for k, v in want.items()):
        return
    if os.environ.get(_REEXEC):
        return  # already re-executed once: go on as we are
    env = dict(os.environ, **want, **{_REEXEC: "1"})
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def ensure_thread_env_from_argv():
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--threads", type=int, default=os.cpu_count())
    ensure_thread_env(pre.parse_known_args()[0].threads)
