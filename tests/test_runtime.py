"""CPU runtime set-up (core.runtime): applied before Paddle loads, never over a user's value, opt-out, late
import warning, per-rank threads for child processes."""
import ctypes
import os
import subprocess
import sys

import pytest

from ppgan_stylegan.core import runtime

PROBE = ("import ppgan_stylegan, os\n"
         "print(os.environ.get('OMP_NUM_THREADS'), os.environ.get('MKL_DEBUG_CPU_TYPE'))\n")


def probe(code=PROBE, **env):
    """Run ``code`` in a fresh interpreter with the runtime variables removed, then ``env`` added."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("OMP_NUM_THREADS", "MKL_DEBUG_CPU_TYPE", runtime.OPT_OUT, runtime.OURS, "PADDLE_LOCAL_SIZE")}
    out = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out


def expected_mkl():
    return "5" if runtime.amd_with_avx2() else "None"


def test_applied_in_a_fresh_process_before_paddle_loads():
    out = probe()
    assert out.stdout.split() == [str(runtime.usable_cores()), expected_mkl()]
    assert "OMP_NUM_THREADS set to" not in out.stderr  # Paddle's notice about >1 threads is not shown


@pytest.mark.slow
def test_user_values_win_and_opt_out_leaves_paddle_defaults():
    assert probe(OMP_NUM_THREADS="1", MKL_DEBUG_CPU_TYPE="0").stdout.split() == ["1", "0"]
    assert probe(**{runtime.OPT_OUT: "0"}).stdout.split() == ["1", "None"]  # Paddle's own default: 1 thread


@pytest.mark.slow
def test_late_import_warns_with_the_variables_to_set():
    # zlib before Paddle: on Paddle 2.6 a script that imports paddle first crashes at the next zlib user anyway
    # (core.compat), whatever we do; the warning is what this test is about
    code = "import warnings\nwarnings.simplefilter('always')\nimport zlib\nimport paddle\nimport ppgan_stylegan\n"
    out = probe(code)
    assert "Paddle was imported before ppgan_stylegan" in out.stderr
    assert f"OMP_NUM_THREADS={runtime.usable_cores()}" in out.stderr


@pytest.mark.slow
def test_child_ranks_recompute_what_the_parent_set():
    """A parent's values (marked as ours) are not a user's: ranks of a launch share the node's cores."""
    out = probe(OMP_NUM_THREADS="2", **{runtime.OURS: "OMP_NUM_THREADS", "PADDLE_LOCAL_SIZE": "2"})
    assert out.stdout.split()[0] == str(max(1, runtime.usable_cores() // 2))


def test_amd_detection_reads_vendor_and_flags(tmp_path, monkeypatch):
    monkeypatch.setattr(runtime.platform, "machine", lambda: "x86_64")
    cases = {"vendor_id\t: AuthenticAMD\nflags\t\t: fpu sse avx avx2 avx512f\n": True,
             "vendor_id\t: GenuineIntel\nflags\t\t: fpu sse avx avx2\n": False,
             "vendor_id\t: AuthenticAMD\nflags\t\t: fpu sse avx\n": False}
    for text, want in cases.items():
        (tmp_path / "cpuinfo").write_text(text)
        assert runtime.amd_with_avx2(str(tmp_path / "cpuinfo")) is want


HEAP_PROBE = """
import ctypes, numpy as np, ppgan_stylegan
from ppgan_stylegan.core import runtime
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                               "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
block = np.ones(16 * 2 ** 20, np.float32)  # 64 MiB
del block
print(libc.mallinfo2().fordblks >= 64 * 2 ** 20, sorted(runtime.HEAP))
"""


@pytest.mark.skipif(not hasattr(ctypes.CDLL(None), "mallinfo2"), reason="glibc >= 2.33 only (mallinfo2)")
def test_freed_memory_stays_in_the_heap_unless_the_user_chose():
    kept = probe(HEAP_PROBE).stdout.split("\n")[-2]
    assert kept == "True ['M_MMAP_THRESHOLD', 'M_TRIM_THRESHOLD']"
    assert probe(HEAP_PROBE, MALLOC_MMAP_THRESHOLD_="131072").stdout.split("\n")[-2] == "False []"
    assert probe(HEAP_PROBE, **{runtime.OPT_OUT: "0"}).stdout.split("\n")[-2] == "False []"


@pytest.mark.slow
def test_math_threads_for_small_networks_leave_a_users_choice_alone():
    code = ("import ppgan_stylegan, paddle\nfrom ppgan_stylegan.core import runtime\n"
            "print(runtime.use_math_threads(1, 'tiny nets'))\nprint(runtime.describe())\n")
    ours = probe(code).stdout.splitlines()
    assert ours[0] == "1" and "math threads now 1 (tiny nets)" in ours[1]
    for env in ({"OMP_NUM_THREADS": "2"}, {runtime.OPT_OUT: "0"}):  # the user's value / Paddle's defaults
        theirs = probe(code, **env).stdout.splitlines()
        assert theirs[0] == "None" and "math threads now" not in theirs[1]
