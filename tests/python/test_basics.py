"""Library loading, task lookup, errors, bad options: no numpy needed."""
import array
import os
import subprocess
import sys

import pytest
import weft
from conftest import BUILD, TASKS_LIB, run_python


def test_finds_library_and_lists_what_it_has():
    assert os.path.isfile(weft.library_path)
    assert {"sequential", "threads", "processes"} <= set(weft.backends())
    assert {"py_square", "pi_darts", "simulate_sir"} <= set(weft.tasks())
    assert weft.cpu_count() >= 1
    assert weft.effective_n_jobs(-1) == weft.cpu_count()


def test_missing_library_names_every_path_tried(tmp_path):
    pkg = os.path.dirname(os.path.dirname(weft.__file__))
    code = (f"import sys; sys.path.insert(0, {pkg!r})\n"
            "try:\n    import weft\nexcept OSError as e:\n    print(e)\n")
    env = dict(os.environ, WEFT_LIBRARY=str(tmp_path / "nowhere.so"), PKG_CONFIG_PATH="")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60)
    assert "cannot find libweft.so" in done.stdout, done.stdout + done.stderr
    assert str(tmp_path / "nowhere.so") in done.stdout
    assert "next to the package" in done.stdout
    assert "pkg-config" in done.stdout


def test_load_tasks_errors(tmp_path):
    with pytest.raises(OSError, match="cannot load"):
        weft.load_tasks(str(tmp_path / "libnothing.so"))
    with pytest.raises(weft.UnknownTaskError, match="registered no task"):
        weft.load_tasks(os.path.join(BUILD, "libweft.so"))
    with pytest.raises(TypeError):
        weft.load_tasks(42)
    assert "py_square" in weft.load_tasks(TASKS_LIB)  # twice is harmless


def test_unknown_task():
    with pytest.raises(weft.UnknownTaskError, match="no task is registered under the name 'nope'"):
        weft.map("nope", array.array("d", [1.0]), out_size=8)
    with pytest.raises(TypeError):
        weft.map(None, array.array("d", [1.0]), out_size=8)


@pytest.mark.parametrize("n_jobs, exc", [(0, ValueError), (1.5, TypeError), ("2", TypeError),
                                         (True, TypeError)])
def test_bad_n_jobs(n_jobs, exc):
    with pytest.raises(exc, match="n_jobs"):
        weft.map("py_square", array.array("d", [1.0]), out_size=8, n_jobs=n_jobs)
    with pytest.raises(exc, match="n_jobs"):
        weft.Parallel(n_jobs=n_jobs)


def test_unknown_backend():
    with pytest.raises(weft.UnknownBackendError):
        weft.map("py_square", array.array("d", [1.0]), out_size=8, backend="gpu")
    with pytest.raises(TypeError):
        weft.map("py_square", array.array("d", [1.0]), out_size=8, backend=3)


def test_task_failure_carries_index_task_message(backend):
    xs = array.array("q", range(40))
    with pytest.raises(weft.TaskError) as info:
        weft.map("py_fail13", xs, out_size=8, backend=backend, n_jobs=2)
    e = info.value
    assert (e.index, e.task, e.message, e.code, e.errno) == (13, "py_fail13", "unlucky 13",
                                                             "WEFT_ETASK", -5)
    assert isinstance(e, weft.WeftError)
    assert "task 'py_fail13' at item 13: unlucky 13" in str(e)


def test_wrong_output_size(backend):
    with pytest.raises(weft.OutputSizeError):
        weft.map("py_square", array.array("d", [1.0, 2.0]), out_size=4, backend=backend)


def test_out_too_small():
    with pytest.raises(ValueError, match="too small"):
        weft.map("py_square", array.array("d", [1.0, 2.0]), bytearray(8), out_size=8)
    with pytest.raises(ValueError, match="not a whole number"):
        weft.map("py_square", array.array("d", [1.0, 2.0]), bytearray(9))
    with pytest.raises(ValueError, match="writable"):
        weft.map("py_square", array.array("d", [1.0, 2.0]), bytes(16))


def test_crash_on_processes_raises_and_interpreter_lives():
    xs = array.array("i", range(8))
    with pytest.raises(weft.CrashedError) as info:
        weft.map("py_crash", xs, out_size=4, backend="processes", n_jobs=2)
    assert info.value.index == 3 and info.value.task == "py_crash"
    out = weft.map("py_crash", array.array("i", [0, 1, 2]), array.array("i", [9] * 3),
                   backend="processes", n_jobs=2)
    assert list(out) == [0, 1, 2]  # the pool was repaired


@pytest.mark.parametrize("backend", ["sequential", "threads", "processes"])
def test_ctrl_c_raises_keyboard_interrupt_and_pool_stays_usable(backend):
    code = f"""
import array, os, signal, threading, time
def kick():
    time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=kick).start()
t = time.time()
try:
    weft.map("py_sleep", array.array("i", [100] * 400), out_size=4, backend={backend!r}, n_jobs=2)
    print("finished")
except KeyboardInterrupt:
    print("interrupted after %.1f s" % (time.time() - t))
out = weft.map("py_square", array.array("d", [3.0]), out_size=8, backend={backend!r}, n_jobs=2)
print("then", array.array("d", out)[0])
"""
    done = run_python(code)
    assert "interrupted after" in done.stdout, done.stdout + done.stderr
    assert float(done.stdout.split("after ")[1].split(" s")[0]) < 10  # not the 20 s of work
    assert "then 10.0" in done.stdout


def test_library_loaded_after_processes_pool_opened():
    code = """
import array, struct
weft.map("py_square", array.array("d", [1.0]), out_size=8, backend="processes", n_jobs=2)
weft.load_examples()   # after the processes pool has its workers
out = weft.map("newton_sqrt", array.array("d", [16.0, 9.0]), out_size=8, backend="processes",
               n_jobs=2)
print(struct.unpack("<2d", out))
total = weft.reduce("newton_sqrt", array.array("d", [16.0, 9.0]), "sum_f64", out_size=8,
                    backend="processes", n_jobs=2)
print(struct.unpack("<d", total))
"""
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["(4.0, 3.0)", "(7.0,)"]


def test_fork_server_setting_not_leaked_to_children():
    done = run_python("import os; print(os.environ.get('WEFT_FORKSERVER'))",
                      env={"WEFT_FORKSERVER": ""})
    assert done.stdout.strip() == "", done.stderr  # the user's own value stays
    env = {k: v for k, v in os.environ.items() if k != "WEFT_FORKSERVER"}
    code = "import os; print(os.environ.get('WEFT_FORKSERVER'))"
    prelude = f"import sys; sys.path[:0] = {sys.path[:3]!r}\nimport weft\n"
    done = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.stdout.strip() == "None", done.stdout + done.stderr
