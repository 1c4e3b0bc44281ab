"""The models in use: those trained in this process, and which one the reverse view gets.

Owns `ModelStore` (least recently used, keyed by data set and schedule), the process-wide
`STORE` and `model_for` (the preference: this schedule, else shipped, else any).

May import: diffusion, the other toy2d modules and libraries.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from ..diffusion.schedules import ScheduleSpec
from .data import ToySet
from .model import Toy2DModel, shipped, weights_path


class ModelStore:
    """Models trained in this process, keyed by (data set, schedule); the least recently used go.

    Training is deterministic (fixed seed), so a stored model is exactly what retraining
    would give: sharing it between users is memoisation, not shared state.
    """

    def __init__(self, capacity: int = 16):
        self.capacity = capacity
        self._models: OrderedDict[tuple[str, ScheduleSpec], Toy2DModel] = OrderedDict()
        self._lock = threading.Lock()
        # Bumped by every put and clear: which model a view gets may have changed since.
        self.version = 0

    def get(self, key: str, spec: ScheduleSpec) -> Toy2DModel | None:
        with self._lock:
            model = self._models.get((key, spec))
            if model is not None:
                self._models.move_to_end((key, spec))
            return model

    def any_for(self, key: str) -> Toy2DModel | None:
        """The most recently used model for this data set, whatever its schedule."""
        with self._lock:
            for (k, _), model in reversed(self._models.items()):
                if k == key:
                    return model
            return None

    def put(self, model: Toy2DModel) -> None:
        with self._lock:
            self._models[(model.dataset_key, model.spec)] = model
            self._models.move_to_end((model.dataset_key, model.spec))
            while len(self._models) > self.capacity:
                self._models.popitem(last=False)
            self.version += 1

    def clear(self) -> None:
        with self._lock:
            self._models.clear()
            self.version += 1


STORE = ModelStore()


def model_for(toy: ToySet, spec: ScheduleSpec) -> Toy2DModel:
    """The ε-network the reverse view uses for this data set.

    Preference: one trained on exactly this schedule; else the shipped one (trained on
    TRAINED_SPEC); else any trained on another schedule. A custom set needs training first.
    """
    model = STORE.get(toy.key, spec)
    if model is None and not toy.is_custom:
        model = shipped(toy.name)
    if model is None:
        model = STORE.any_for(toy.key)
    if model is None:
        if toy.is_custom:
            raise ValueError(
                "No model for this custom set yet: train one first ('Train for this schedule', "
                "or the /toy2d_train endpoint; 10–30 s)."
            )
        raise ValueError(
            f"The shipped 2D model for {toy.name!r} is missing ({weights_path(toy.name).name}): "
            "train one first ('Train for this schedule', or the /toy2d_train endpoint; 10–30 s)."
        )
    return model
