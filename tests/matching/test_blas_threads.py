"""numpy's BLAS threads are limited at start-up (matching/apps.py)."""

from threadpoolctl import threadpool_info

from matching.apps import limit_blas_threads


def numpy_blas_threads() -> list[int]:
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas" and "numpy" in i["filepath"]]


def test_numpy_blas_runs_on_the_configured_number_of_threads(settings):
    assert settings.MATCHING_BLAS_THREADS == 1
    assert numpy_blas_threads() == [1]  # applied when Django started
    try:
        settings.MATCHING_BLAS_THREADS = 2
        limit_blas_threads()
        assert numpy_blas_threads() == [2]
    finally:
        settings.MATCHING_BLAS_THREADS = 1
        limit_blas_threads()
    assert numpy_blas_threads() == [1]
