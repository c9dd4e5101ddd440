"""CPU runtime set-up, applied before Paddle is first imported (``core.compat`` calls ``configure``).

Measured on a 2-core AMD EPYC (Zen 4) with Paddle 3.3.1's CPU wheel (docs/benchmarks.md): Paddle sets
``OMP_NUM_THREADS=1`` when it is unset, so a process uses one core for its math; and the MKL bundled with
Paddle takes a slow generic code path on AMD CPUs unless ``MKL_DEBUG_CPU_TYPE=5`` selects its AVX2 path.
A 512->512 3x3 convolution at 32 px, batch 4: 0.54 s as installed, 0.136 s with both variables.

So, unless the user set them (their values always win) or opted out (``PPGAN_STYLEGAN_CPU_DEFAULTS=0``):

* ``OMP_NUM_THREADS`` = the cores this process may use (CPU affinity and the cgroup CPU quota), divided
  among the ranks of a ``paddle.distributed.launch`` on this node (``PADDLE_LOCAL_SIZE``);
* ``MKL_DEBUG_CPU_TYPE=5`` on x86-64 AMD CPUs with AVX2.

Both only work before Paddle's libraries load; if Paddle was imported first, ``configure`` warns once with
the exact variables to set.

And, on Linux with glibc, freed blocks up to 1 GiB stay in the process heap (``mallopt``: mmap and trim
thresholds; skipped when the user set ``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_``). By default
glibc returns every block above 128 KiB-32 MiB to the system when a tensor dies, so the next tensor of that
size page-faults in fresh zeroed memory: scaling a 512x512x3x3 weight took 4.3 ms that way and 0.29 ms with
the heap kept; the demo iteration is 15% faster. This works at any time (also after Paddle loaded).
The cost: the process keeps up to 1 GiB of freed memory instead of returning it.

oneDNN (``FLAGS_use_onednn``) is left to Paddle's default: alone it was slower than the MKL switch on this
machine kind, and about 2x slower for the demo's small convolutions.
"""
import ctypes
import math
import os
import platform
import sys
import warnings

OPT_OUT = "PPGAN_STYLEGAN_CPU_DEFAULTS"
OURS = "PPGAN_STYLEGAN_CPU_SET"  # names of the variables we set: child processes recompute them, not keep them
APPLIED = {}  # what ``configure`` set in this process (for the log line)
WANTED = {}  # what it would set (also when it was too late, or the user's values won)
HEAP = {}  # the glibc malloc settings applied in this process


def usable_cores():
    """CPUs this process may run on: its affinity mask, capped by a cgroup CPU quota (v2 or v1)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = _cgroup_quota()
    return max(1, min(cores, quota) if quota else cores)


def _cgroup_quota():
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:  # cgroup v2: "<quota> <period>" or "max <period>"
            quota, period = f.read().split()[:2]
            return None if quota == "max" else math.ceil(int(quota) / int(period))
    except (OSError, ValueError):
        pass
    try:
        with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") as f, open("/sys/fs/cgroup/cpu/cpu.cfs_period_us") as g:
            quota, period = int(f.read()), int(g.read())
            return None if quota <= 0 else math.ceil(quota / period)
    except (OSError, ValueError):
        return None


def amd_with_avx2(cpuinfo="/proc/cpuinfo"):
    """True on an x86-64 AMD CPU that has AVX2 (where MKL's generic path is the slow default)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        with open(cpuinfo) as f:
            text = f.read(1 << 16)
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return "AuthenticAMD" in text and "avx2" in flags


MALLOPT = {"M_MMAP_THRESHOLD": (-3, 1 << 30), "M_TRIM_THRESHOLD": (-1, 1 << 30)}  # glibc's malloc.h codes
MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def keep_freed_memory(environ=os.environ):
    """glibc: keep freed blocks up to 1 GiB in the heap (see the module doc). Returns what was set."""
    if not sys.platform.startswith("linux") or any(k in environ for k in MALLOC_ENV):
        return {}
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # glibc only (musl's mallopt ignores these)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return {}
    return {name: value for name, (code, value) in MALLOPT.items() if mallopt(code, value) == 1}


def wanted(environ=os.environ):
    """The variables this machine and process should have: ``{name: value}``."""
    ranks = max(1, int(environ.get("PADDLE_LOCAL_SIZE", "1") or 1))
    out = {"OMP_NUM_THREADS": str(max(1, usable_cores() // ranks))}
    if amd_with_avx2():
        out["MKL_DEBUG_CPU_TYPE"] = "5"
    return out


def configure(environ=os.environ):
    """Set the missing variables (before Paddle loads); returns what was set."""
    if environ.get(OPT_OUT, "1").strip().lower() in ("0", "false", "no", "off"):
        return {}
    if not HEAP:
        HEAP.update(keep_freed_memory(environ))
    WANTED.update(wanted(environ))
    inherited = set(filter(None, environ.get(OURS, "").split(",")))  # set by our parent process, not the user
    missing = {k: v for k, v in WANTED.items() if k not in environ or k in inherited}
    if "paddle" in sys.modules:  # too late: Paddle has read (and set) them already
        differ = {k: v for k, v in WANTED.items() if environ.get(k) != v}
        if differ:
            settings = " ".join(f"{k}={v}" for k, v in differ.items())
            now = ", ".join(f"{k}={environ.get(k, 'unset')}" for k in differ)
            warnings.warn(f"Paddle was imported before ppgan_stylegan, so its CPU math runs with {now}; for full "
                          f"speed set {settings} before starting Python (or import ppgan_stylegan first)",
                          RuntimeWarning, stacklevel=2)
        return {}
    environ.update(missing)
    environ[OURS] = ",".join(sorted(missing))
    APPLIED.update(missing)
    return missing


VERBOSE = "PPGAN_STYLEGAN_VERBOSE"
QUIET_ENV = {"GLOG_minloglevel": "2"}  # Paddle's C++ INFO / WARNING lines ("New Executor is Running", ...)
SCRIPTS = ("tools", "applications")


def started_by_our_command(argv=None, orig_argv=None):
    """True when this process is one of our command lines: the ``ppgan-stylegan`` script, ``python -m
    ppgan_stylegan.cli``, or a script in this repository's ``tools/`` / ``applications/``."""
    argv = sys.argv if argv is None else argv
    orig_argv = getattr(sys, "orig_argv", []) if orig_argv is None else orig_argv
    if "-m" in orig_argv and orig_argv.index("-m") + 1 < len(orig_argv) \
            and orig_argv[orig_argv.index("-m") + 1].startswith("ppgan_stylegan.cli"):
        return True
    if not argv or not argv[0]:
        return False
    script = os.path.realpath(argv[0])
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
    return os.path.basename(script) == "ppgan-stylegan" or os.path.dirname(script) in (
        os.path.join(repo, folder) for folder in SCRIPTS)


def quiet_command_line(environ=os.environ, argv=None, orig_argv=None):
    """At our command lines (not when the package is imported by other code): silence Paddle's C++ log lines
    and its Python UserWarnings about APIs we use on purpose, unless ``--verbose`` is on the command line or
    ``PPGAN_STYLEGAN_VERBOSE=1``; a ``GLOG_minloglevel`` the user set wins. Returns what was set."""
    argv = sys.argv if argv is None else argv
    if not started_by_our_command(argv, orig_argv) or "--verbose" in argv \
            or environ.get(VERBOSE, "0").strip().lower() in ("1", "true", "yes", "on"):
        return {}
    missing = {k: v for k, v in QUIET_ENV.items() if k not in environ}
    environ.update(missing)
    for category in (UserWarning, DeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category, module=r"paddle(\.|$)")
    warnings.filterwarnings("ignore", category=UserWarning, module=r"ppgan(\.|$)")
    return missing


def use_math_threads(threads, why):
    """From now on, run this process's CPU math (MKL and OpenMP) on ``threads`` threads (Paddle's
    ``set_num_threads``, which works after Paddle loaded), unless the user set ``OMP_NUM_THREADS`` or opted
    out. For small networks fewer threads can be faster: the demo's 16-32 channel layers spend more on starting
    and joining threads per operator than they gain (one thread: 0.15 s per iteration, two: 0.19 s).
    Returns the threads now used, or None when left alone."""
    if not WANTED or ("OMP_NUM_THREADS" in os.environ and "OMP_NUM_THREADS" not in APPLIED):
        return None
    import paddle
    core = getattr(paddle, "base", None) and paddle.base.core
    if core is None or not hasattr(core, "set_num_threads"):
        return None
    core.set_num_threads(int(threads))
    MATH_THREADS.update(threads=int(threads), why=why)
    return int(threads)


MATH_THREADS = {}  # set by ``use_math_threads``


def describe():
    """One line for the log: what the CPU runtime runs with, and who chose it."""
    if not WANTED:
        return f"CPU runtime: Paddle's defaults ({OPT_OUT}=0)"
    parts = [f"{k}={os.environ.get(k, 'unset')}" + (" (ours)" if k in APPLIED else " (yours)") for k in WANTED]
    heap = "; freed memory kept in the heap (glibc mallopt)" if HEAP else ""
    threads = (f"; math threads now {MATH_THREADS['threads']} ({MATH_THREADS['why']})" if MATH_THREADS else "")
    return f"CPU runtime: {', '.join(parts)}; {usable_cores()} usable core(s){heap}{threads}"


class PaddleThreadNotice:
    """Context manager for ``import paddle``: drops the two lines Paddle prints to stderr whenever
    ``OMP_NUM_THREADS`` > 1 (a notice about data parallel and OpenBLAS; this wheel uses MKL). Anything
    else written to ``sys.stderr`` meanwhile is passed through."""

    NOTICE = ("WARNING: OMP_NUM_THREADS set to", "PLEASE USE OMP_NUM_THREADS WISELY")

    def __enter__(self):
        self.stderr, self.buffer = sys.stderr, []
        sys.stderr = self
        return self

    def write(self, text):
        self.buffer.append(text)
        return len(text)

    def flush(self):
        pass

    def __getattr__(self, name):  # fileno, isatty, encoding ...: the real stream's
        return getattr(self.stderr, name)

    def __exit__(self, *exc):
        sys.stderr = self.stderr
        for line in "".join(self.buffer).splitlines(keepends=True):
            if not line.startswith(self.NOTICE):
                self.stderr.write(line)
        return False
