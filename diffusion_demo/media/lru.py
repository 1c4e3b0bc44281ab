"""A small thread-safe least-recently-used cache, for what a drag or a page load asks for again.

Owns `LRU`: get(key, make) gives the kept value or makes, keeps and gives a new one; the
oldest go beyond `size` (through `on_evict`, e.g. to delete a file).

May import: libraries only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class LRU:
    def __init__(self, size: int, on_evict: Callable[[Any], None] | None = None) -> None:
        self._size = size
        self._on_evict = on_evict
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = make()  # outside the lock: slow work must not block other sessions
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                _, old = self._data.popitem(last=False)
                if self._on_evict is not None:
                    self._on_evict(old)
        return value
