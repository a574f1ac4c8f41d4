"""What the Python baselines of the benchmarks share: the Park-Miller token ids the TypeScript side
draws too (bench/bench-child.ts minstdIds), and the process's peak memory and CPU time."""

import resource


def minstd_ids(seed, count, vocab):
    """Park-Miller minimal standard: x <- 48271 x mod (2^31 - 1); ids 3 + x mod (vocab - 3)."""
    x = (seed + 1) % 2147483647 or 1
    out = []
    for _ in range(count):
        x = (x * 48271) % 2147483647
        out.append(3 + x % (vocab - 3))
    return out


def vm_hwm_bytes():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_hwm():
    """Reset the kernel's peak-RSS counter (Linux >= 4.0); False where that is not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
