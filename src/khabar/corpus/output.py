"""Where results go: JSONL lines written as they are ready, a resume record, per-process shards and their merge.

Every line is written whole and flushed, so an interrupted run leaves complete lines plus at most one cut-off
line at the end, which `--resume` removes. A small state file beside the output (`.NAME.analyze-state.json`)
records how many processes wrote it and whether it is complete; with several processes each writes its own
shard (`.NAME.shard-R-of-N`, lines prefixed by the document's input position) and the main process merges them
in input order into NAME.
"""

from __future__ import annotations

import heapq
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from khabar.data.io import atomic_write_text
from khabar.errors import OutputError

if TYPE_CHECKING:
    from khabar.inference import Document

__all__ = ["OutputPlan", "format_json", "format_table"]


def format_json(identifier: str, document: Document) -> str:
    """One JSON line: the id, the text, the entities and the topics; `khabar evaluate --format spans` reads it."""
    record = document.to_dict()
    line = {"id": identifier, "text": record["text"], "entities": record["entities"], "topics": record["topics"]}
    return json.dumps(line, ensure_ascii=False) + "\n"


def format_table(identifier: str, document: Document, *, entities: bool, topics: bool) -> str:
    """A readable block: entities (label, text, start-end, score, and the name when it is spelled otherwise),
    then topics (label, score)."""
    lines = [f"# {identifier}"]
    if entities:
        lines.append(f"entities ({len(document.entities)}):")
        label_width = max((len(e.label) for e in document.entities), default=0)
        text_width = max((len(e.text) for e in document.entities), default=0)
        for e in document.entities:
            name = f"  = {e.name}" if e.name != e.text else ""
            lines.append(
                f"  {e.label:<{label_width}}  {e.text:<{text_width}}  {f'{e.start}-{e.end}':>11}  {e.score:.3f}{name}"
            )
    if topics:
        lines.append(f"topics ({len(document.topics)}):")
        width = max((len(t.label) for t in document.topics), default=0)
        lines.extend(f"  {t.label:<{width}}  {t.score:.3f}" for t in document.topics)
    return "\n".join(lines) + "\n\n"


def _complete_lines(path: Path) -> Iterator[str]:
    """The file's lines up to its last newline; a cut-off tail is removed from the file first."""
    with open(path, "rb+") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        end = size
        while end > 0:
            step = min(65536, end)
            handle.seek(end - step)
            block = handle.read(step)
            newline = block.rfind(b"\n")
            if newline >= 0:
                end = end - step + newline + 1
                break
            end -= step
        if end != size:
            handle.truncate(end)
    with open(path, encoding="utf-8") as handle:
        yield from (line.rstrip("\n") for line in handle)


@dataclass(frozen=True)
class OutputPlan:
    """The files of one `--output` run with `processes` processes; this process is `rank`."""

    path: Path
    processes: int = 1
    rank: int = 0

    @property
    def state_file(self) -> Path:
        return self.path.with_name(f".{self.path.name}.analyze-state.json")

    def shard(self, rank: int) -> Path:
        return self.path.with_name(f".{self.path.name}.shard-{rank}-of-{self.processes}")

    @property
    def sharded(self) -> bool:
        return self.processes > 1

    # --- starting and resuming (the main process decides, every process reads) ---------------------------------

    def start_fresh(self) -> None:
        """Main process: remove what an earlier run left and record this run as in progress."""
        for stale in self.path.parent.glob(f".{self.path.name}.shard-*"):
            stale.unlink()
        if self.path.exists() and not self.path.is_file():
            raise OutputError(f"--output {self.path} is a folder, expected a file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.sharded:
            self.path.unlink(missing_ok=True)
        else:
            self.path.write_bytes(b"")
        self._write_state(complete=False)

    def is_complete(self) -> bool:
        """Whether the run record says the output was finished (read by every process after the main's check)."""
        try:
            return bool(json.loads(self.state_file.read_text(encoding="utf-8")).get("complete"))
        except (OSError, ValueError, AttributeError, RecursionError):
            return False

    def check_resumable(self) -> None:
        """Main process, on --resume: errors when the files cannot be resumed (`is_complete` says if work is left)."""
        if not self.state_file.is_file():
            if self.path.exists():
                raise OutputError(
                    f"--resume: {self.path} has no run record ({self.state_file.name}); it was not written by "
                    "`khabar analyze --output`, or that run finished before resume existed: run without --resume"
                )
            self.start_fresh()
            return
        processes, complete = 0, None
        try:
            state = json.loads(self.state_file.read_text(encoding="utf-8"))
            processes, complete = int(state["processes"]), state["complete"]
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            pass  # damaged, as is a `complete` that is not true or false
        if not isinstance(complete, bool):
            raise OutputError(f"--resume: {self.state_file} is damaged; run without --resume")
        if processes != self.processes:
            raise OutputError(
                f"--resume: {self.path} was being written by {processes} process(es); resume it with the same "
                f"number (this run has {self.processes})"
            )

    def done_ids(self) -> Counter[str]:
        """One process: how many times each id was already written (ids may repeat in an input)."""
        if not self.path.is_file():
            return Counter()
        done: Counter[str] = Counter()
        for number, line in enumerate(_complete_lines(self.path), start=1):
            try:
                done[str(json.loads(line)["id"])] += 1
            except (ValueError, KeyError, TypeError, RecursionError):
                raise OutputError(f"--resume: {self.path}:{number} is not a line khabar analyze wrote") from None
        return done

    def done_positions(self) -> set[int]:
        """Several processes: the input positions this process's shard already holds."""
        shard = self.shard(self.rank)
        if not shard.is_file():
            return set()
        positions = set()
        for number, line in enumerate(_complete_lines(shard), start=1):
            position, _, _ = line.partition("\t")
            if not position.isdigit():
                raise OutputError(f"--resume: {shard}:{number} is damaged; run without --resume")
            positions.add(int(position))
        return positions

    # --- writing ----------------------------------------------------------------------------------------------

    def open_for_append(self) -> IO[str]:
        """This process's file: the output itself, or its shard (lines prefixed by the input position)."""
        target = self.shard(self.rank) if self.sharded else self.path
        return open(target, "a", encoding="utf-8", newline="\n")

    def write(self, handle: IO[str], position: int, line: str) -> None:
        """Write one whole line and flush it, so that a kill leaves at most a cut-off last line."""
        handle.write(f"{position}\t{line}" if self.sharded else line)
        handle.flush()

    def finish(self) -> None:
        """Main process, after every process is done: merge the shards in input order, then mark complete."""
        if self.sharded:
            shards = [self.shard(rank) for rank in range(self.processes)]
            atomic_write_text(self.path, _merged(shards))
            for shard in shards:
                shard.unlink(missing_ok=True)
        self._write_state(complete=True)

    def _write_state(self, *, complete: bool) -> None:
        state = {"processes": self.processes, "complete": complete}
        atomic_write_text(self.state_file, [json.dumps(state) + "\n"])


def _shard_lines(path: Path) -> Iterator[tuple[int, str]]:
    if not path.is_file():
        return
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            position, _, rest = line.partition("\t")
            yield int(position), rest


def _merged(shards: list[Path]) -> Iterator[str]:
    """Lines of all shards in input order: each shard is already ordered, so a k-way merge streams them."""
    for _, line in heapq.merge(*(_shard_lines(shard) for shard in shards), key=lambda item: item[0]):
        yield line
