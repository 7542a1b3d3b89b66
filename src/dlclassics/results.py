"""What every experiment's ``train(config)`` returns: one ``Result`` class for all five parts.

A ``Result`` is the shared vocabulary between the experiments, the report and a user's notebook:
accuracies are fractions in [0, 1], metric and history keys are ``{split}_{metric}``
(``val_acc``, ``test_acc``, ``val_bleu4``, ``train_loss``), and every file the run wrote is
listed by its role, so nobody has to know a folder layout or index string-keyed dicts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlclassics.io import atomic_write_json


@dataclass
class Result:
    """The outcome of one training run.

    Attributes:
        metrics: headline figures, ``{split}_{metric}`` → value (accuracies as fractions).
        history: one row per epoch (``epoch``, ``train_loss``, ``val_acc``, ...); empty when the
            experiment has no epochs.
        checkpoint: the file ``load()`` takes (the best weights), or None where the experiment
            keeps no model (style transfer optimises pixels).
        out: the run folder, or None when nothing was written.
        files: every file the run wrote, by role (``metrics``, ``loss_figure``, ``image``, ...).
        details: any other plain, JSON-ready data the run reports (settings, timings).

    Example:
        >>> result = Result(metrics={"val_acc": 0.95}, checkpoint=Path("runs/t/best.pt"))
        >>> result.metrics["val_acc"]
        0.95
    """

    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    checkpoint: Path | None = None
    out: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data (paths as strings), ready for ``json``.

        Example:
            >>> Result(metrics={"val_acc": 0.5}).to_dict()["metrics"]
            {'val_acc': 0.5}
        """
        return {
            "metrics": dict(self.metrics),
            "history": [dict(row) for row in self.history],
            "checkpoint": None if self.checkpoint is None else os.fspath(self.checkpoint),
            "out": None if self.out is None else os.fspath(self.out),
            "files": {role: os.fspath(path) for role, path in self.files.items()},
            "details": self.details,
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``to_dict()`` as JSON, atomically; returns the path.

        Example:
            >>> Result(metrics={"val_acc": 0.5}).save("runs/result.json").name
            'result.json'
        """
        return atomic_write_json(path, self.to_dict())

    def __str__(self) -> str:
        figures = ", ".join(f"{key} {value:.4g}" for key, value in self.metrics.items())
        where = f" in {self.out}" if self.out is not None else ""
        return f"Result({figures or 'no metrics'}{where})"
