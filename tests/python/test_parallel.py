"""Parallel / delayed / parallel_config for Python callables."""
import threading
import time

import pytest
import weft
from weft import Parallel, delayed, parallel_config


def square(x):
    return x * x


def test_list_in_order(memory_backend):
    assert Parallel(n_jobs=2, backend=memory_backend)(delayed(square)(i) for i in range(200)) \
        == [i * i for i in range(200)]


def test_kwargs_and_empty():
    assert Parallel(n_jobs=2)(delayed(pow)(2, exp=i) for i in range(5)) == [1, 2, 4, 8, 16]
    assert Parallel(n_jobs=2)([]) == []


def test_generators(memory_backend):
    gen = Parallel(n_jobs=2, backend=memory_backend, return_as="generator")(
        delayed(square)(i) for i in range(100))
    assert not isinstance(gen, list)
    assert list(gen) == [i * i for i in range(100)]
    unordered = Parallel(n_jobs=2, backend=memory_backend, return_as="generator_unordered")(
        delayed(square)(i) for i in range(100))
    assert sorted(unordered) == [i * i for i in range(100)]


def test_callable_exception_is_raised_as_itself(memory_backend):
    def boom(x):
        if x == 7:
            raise KeyError(f"no {x}")
        return x
    with pytest.raises(KeyError, match="no 7"):
        Parallel(n_jobs=2, backend=memory_backend)(delayed(boom)(i) for i in range(50))
    with pytest.raises(KeyError, match="no 7"):
        list(Parallel(n_jobs=2, backend=memory_backend, return_as="generator")(
            delayed(boom)(i) for i in range(50)))


def test_threads_run_gil_releasing_callables_in_parallel():
    t = time.perf_counter()
    Parallel(n_jobs=4, backend="threads")(delayed(time.sleep)(0.2) for _ in range(4))
    assert time.perf_counter() - t < 0.6  # four 0.2 s sleeps, not 0.8 s one after another


def test_sequential_runs_on_the_calling_thread():
    me = threading.get_ident()
    assert set(Parallel(backend="sequential")(
        delayed(threading.get_ident)() for _ in range(5))) == {me}


def test_processes_refused_clearly():
    with pytest.raises(weft.NotSupportedError, match="cannot run on backend 'processes'"):
        Parallel(n_jobs=2, backend="processes")(delayed(square)(1) for _ in range(2))
    with pytest.raises(weft.NotSupportedError):
        Parallel(n_jobs=2, backend="loky")(delayed(square)(1) for _ in range(2))


def test_parallel_config_scopes_the_backend():
    me = threading.get_ident()
    with parallel_config(backend="sequential"):
        assert set(Parallel(n_jobs=4)(delayed(threading.get_ident)() for _ in range(20))) == {me}
        with parallel_config(backend="processes"):
            with pytest.raises(weft.NotSupportedError):
                Parallel()(delayed(square)(1) for _ in range(2))
    # outside the scope again: explicit backend args win over scopes too
    with parallel_config(backend="processes"):
        assert Parallel(backend="threads", n_jobs=2)(delayed(square)(3) for _ in range(2)) \
            == [9, 9]


def test_bad_items_and_options():
    with pytest.raises(TypeError, match="delayed"):
        Parallel()([square])
    with pytest.raises(ValueError, match="return_as"):
        Parallel(return_as="dict")
    with pytest.raises(TypeError):
        delayed(3)


def test_map_from_callables_nests():
    import array

    def inner(v):
        return array.array("d", weft.map("py_square", array.array("d", [v]), out_size=8))[0]
    assert Parallel(n_jobs=2)(delayed(inner)(float(i)) for i in range(10)) == \
        [i * i + 1.0 for i in range(10)]


def test_joblib_hints():
    # prefer="threads" / require="sharedmem" pick threads, even inside a processes scope
    with parallel_config(backend="processes"):
        assert Parallel(n_jobs=2, prefer="threads")(delayed(square)(3) for _ in range(4)) \
            == [9] * 4
        assert Parallel(n_jobs=2, require="sharedmem")(delayed(square)(2) for _ in range(3)) \
            == [4] * 3


@pytest.mark.parametrize("return_as", ["list", "generator", "generator_unordered"])
def test_many_tiny_calls_in_chunks(memory_backend, return_as):
    n = 5000  # enough for chunks of several calls per weft item
    out = Parallel(n_jobs=2, backend=memory_backend, return_as=return_as)(
        delayed(square)(i) for i in range(n))
    out = list(out)
    assert (sorted(out) if return_as == "generator_unordered" else out) == \
        [i * i for i in range(n)]


def test_failure_inside_a_chunk_is_the_callables_own(memory_backend):
    def check(i):
        if i == 3333:
            raise ArithmeticError("bad 3333")
        return i
    with pytest.raises(ArithmeticError, match="bad 3333"):
        Parallel(n_jobs=2, backend=memory_backend)(delayed(check)(i) for i in range(5000))
    with pytest.raises(ArithmeticError, match="bad 3333"):
        list(Parallel(n_jobs=2, backend=memory_backend, return_as="generator_unordered")(
            delayed(check)(i) for i in range(5000)))

    def first(i):
        if i == 0:
            raise LookupError("first")
        return i
    with pytest.raises(LookupError, match="first"):
        Parallel(n_jobs=2, backend=memory_backend)(delayed(first)(i) for i in range(5000))


def test_parallel_progress():
    seen = []
    Parallel(n_jobs=2, progress=seen.append)(delayed(time.sleep)(0.01) for _ in range(20))
    assert seen[-1].done == seen[-1].total == 20
    many = []
    Parallel(n_jobs=2, progress=many.append)(delayed(square)(i) for i in range(3000))
    assert many[-1].done == many[-1].total == 3000  # calls, not weft's chunks
    assert all(p.total == 3000 for p in many)
