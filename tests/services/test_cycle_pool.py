"""The cycle's pulling map: every item once, results in order, a failure raised, few futures."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.services.cycle_pool import pulling_map


def test_every_item_once_in_order_over_a_few_threads() -> None:
    seen: list[int] = []
    threads: set[str] = set()
    both = threading.Barrier(2, timeout=5)  # two workers must be busy at once: it does spread

    def square(n: int) -> int:
        if n < 2:
            both.wait()
        seen.append(n)
        threads.add(threading.current_thread().name)
        return n * n

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert pulling_map(pool, 4)(square, range(50)) == [n * n for n in range(50)]
    assert sorted(seen) == list(range(50))
    assert 2 <= len(threads) <= 4


def test_no_items_no_tasks() -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        assert pulling_map(pool, 2)(lambda n: n, []) == []


def test_a_failure_is_raised_after_the_others_finish() -> None:
    done: list[int] = []

    def fail_on_three(n: int) -> int:
        if n == 3:
            raise ValueError("three")
        done.append(n)
        return n

    with ThreadPoolExecutor(max_workers=2) as pool, pytest.raises(ValueError, match="three"):
        pulling_map(pool, 2)(fail_on_three, range(10))
    assert 3 not in done


def test_a_pager_thread_per_64_teams_8_to_16() -> None:
    from app.services.cycle import pager_workers

    assert [pager_workers(n) for n in (0, 1, 200, 512, 600, 1000, 5000)] == [8, 8, 8, 8, 10, 16, 16]
