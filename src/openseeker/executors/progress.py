"""One progress bar for a run, fed in-process (one worker) or from the ranks' progress files (many workers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openseeker.executors.base import Stage, progress_path
from openseeker.executors.engine import add_stats


def _LiveColumn(live: Any) -> Any:
    """A rich column showing ``live()`` at every refresh: a stage's counters of work still in flight (only what
    runs in this process; with several workers the bar advances on finished items)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class LiveColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            try:
                return Text(str(live()))
            except Exception:  # a display must never break a run
                return Text("")

    return LiveColumn()


class RunProgress:
    """A rich bar ``<stage> done/total  <stage text>`` (a no-op when disabled or there is nothing to do)."""

    def __init__(self, stage: Stage, total: int, enabled: bool):
        self.stage, self.progress = stage, None
        if not enabled or total <= 0:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        columns = [
            TextColumn(f"[bold]{stage.name}[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        ]
        live = getattr(stage, "live_text", None)
        if live is not None:  # in-flight counters (e.g. turns and tool calls), re-read at every refresh
            columns.append(_LiveColumn(live))
        self.progress = Progress(*columns, TextColumn("{task.description}"))
        self.task = self.progress.add_task("", total=total)
        self.progress.start()

    def update(self, done: int, failed: int, stats: dict[str, Any]) -> None:
        if self.progress is None:
            return
        text = self.stage.progress_text(stats)
        if failed:
            text = f"{text} failed={failed}".strip()
        self.progress.update(self.task, completed=done + failed, description=text)

    def poll(self, world_size: int) -> None:
        """Re-read every rank's progress file (written by the ranks at most every 0.5 s)."""
        if self.progress is None:
            return

        done = failed = 0
        stats: dict[str, Any] = {}
        for r in range(world_size):
            p: Path = progress_path(self.stage.shard_dir, r)
            try:
                obj = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            done += int(obj.get("done", 0))
            failed += int(obj.get("failed", 0))
            add_stats(stats, obj.get("stats") or {})
        self.update(done, failed, stats)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
