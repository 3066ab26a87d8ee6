"""Analysing a corpus: streamed in fixed chunks, written as it goes, resumable, spread over processes.

The unit of work is a chunk of CHUNK_SIZE consecutive input documents, the same chunks `Analyzer.analyze_many`
forms. A chunk is analysed whole, so every document is computed with the same batch companions whether the run
is uninterrupted, resumed, or split over processes (chunk k goes to process k % N): the output is the same.
Documents that cannot be analysed are reported with their id and skipped; the others are written.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from tqdm.auto import tqdm

from khabar.corpus.output import OutputPlan
from khabar.corpus.sources import DocumentSource, InputDocument

if TYPE_CHECKING:
    import torch

    from khabar.inference import Analyzer, Document

__all__ = ["CorpusSummary", "ProcessLayout", "Skipped", "analyze_corpus", "process_layout"]

MAX_REASON_CHARS = 300  # an error about a 10 MB token must not print the token


@dataclass(frozen=True)
class Skipped:
    """A document that could not be analysed, and why."""

    id: str
    source: str
    reason: str


@dataclass
class CorpusSummary:
    """What a run did; `per_process` lists the documents each process analysed (they add up to `documents`)."""

    documents: int = 0
    entities: int = 0
    skipped: int = 0
    seconds: float = 0.0
    per_process: list[int] = field(default_factory=list)
    already_written: int = 0

    def to_json(self) -> str:
        rate = self.documents / self.seconds if self.seconds > 0 else 0.0
        return json.dumps({
            "documents": self.documents, "entities": self.entities, "skipped": self.skipped,
            "seconds": round(self.seconds, 2), "documents_per_s": round(rate, 2), "per_process": self.per_process,
            "already_written": self.already_written,
        })


@dataclass(frozen=True)
class ProcessLayout:
    """This process's place in a run started by `accelerate launch` / torchrun (rank 0 of 1 otherwise)."""

    rank: int = 0
    processes: int = 1
    device: torch.device | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.processes > 1:
            import torch.distributed

            torch.distributed.barrier()

    def sum_rows(self, row: list[int]) -> list[list[int]]:
        """Each process's `row`, as a table with one row per process (an all-reduce of a zero-filled table)."""
        if self.processes == 1:
            return [row]
        import torch
        import torch.distributed

        table = torch.zeros((self.processes, len(row)), dtype=torch.int64, device=self.device)
        table[self.rank] = torch.tensor(row, dtype=torch.int64, device=self.device)
        torch.distributed.all_reduce(table)
        return table.cpu().tolist()


def process_layout() -> ProcessLayout:
    """Join the launcher's process group when there is one (WORLD_SIZE > 1); each process gets its device."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return ProcessLayout()
    from accelerate import PartialState
    from accelerate.utils import parse_flag_from_env

    state = PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU"))
    return ProcessLayout(state.process_index, state.num_processes, state.device)


def invalid_text_reason(text: str) -> str | None:
    """Why a text cannot go to the tokenizer (a lone surrogate, e.g. from bad JSON escapes), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return f"text is not valid Unicode: lone surrogate U+{ord(text[error.start]):04X} at offset {error.start}"
    return None


def _short(error: BaseException) -> str:
    message = f"{type(error).__name__}: {error}"
    return message if len(message) <= MAX_REASON_CHARS else message[: MAX_REASON_CHARS - 3] + "..."


def analyse_chunk(analyzer: Analyzer, documents: list[InputDocument]) -> list[Document | str]:
    """A Document per input, or the reason it was skipped. The chunk is batched together, as `analyze_many` does;
    if that fails, each document is retried alone so that one bad document costs only itself."""
    reasons: list[str | None] = [invalid_text_reason(d.text) for d in documents]
    valid = [d.text for d, reason in zip(documents, reasons, strict=True) if reason is None]
    try:
        analysed: list[Document | str] = list(analyzer.analyze_many(valid))
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception:
        analysed = []
        for text in valid:
            try:
                analysed.append(analyzer(text))
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as error:
                analysed.append(_short(error))
    results = iter(analysed)
    return [reason if reason is not None else next(results) for reason in reasons]


def _chunks(source: DocumentSource, size: int) -> Iterator[list[tuple[int, InputDocument]]]:
    chunk: list[tuple[int, InputDocument]] = []
    for position, document in enumerate(source):
        chunk.append((position, document))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _share(total: int | None, chunk_size: int, layout: ProcessLayout) -> int | None:
    """How many of `total` documents fall in this process's chunks."""
    if total is None:
        return None
    chunks = -(-total // chunk_size)
    return sum(min(chunk_size, total - k * chunk_size) for k in range(layout.rank, chunks, layout.processes))


class _Pending:
    """Which documents still need writing: all, or those a resumed output does not hold yet."""

    def __init__(self, plan: OutputPlan | None, resume: bool) -> None:
        self.positions: set[int] | None = None
        self.ids: Counter[str] | None = None
        if plan is not None and resume:
            if plan.sharded:
                self.positions = plan.done_positions()
            else:
                self.ids = plan.done_ids()
        self.already_written = len(self.positions) if self.positions is not None else sum((self.ids or {}).values())

    def needed(self, position: int, document: InputDocument) -> bool:
        if self.positions is not None:
            return position not in self.positions
        if self.ids is not None and self.ids[document.id] > 0:
            self.ids[document.id] -= 1
            return False
        return True


def analyze_corpus(
    source: DocumentSource,
    analyzer: Analyzer,
    formatter: Callable[[str, Document], str],
    *,
    output: OutputPlan | None = None,
    stream: IO[str] | None = None,
    resume: bool = False,
    layout: ProcessLayout | None = None,
    chunk_size: int | None = None,
    progress: bool = True,
    on_skip: Callable[[Skipped], None] | None = None,
) -> CorpusSummary:
    """Analyse every document of `source` and write `formatter(id, document)` for each, in input order.

    With `output`, lines go to that file as they are ready (to this process's shard with several processes,
    merged by the main process at the end); without, to `stream`. `resume` continues an interrupted `output`.
    """
    from khabar.inference.analyzer import CHUNK_SIZE

    layout = layout or ProcessLayout()
    chunk_size = chunk_size or CHUNK_SIZE
    started = time.perf_counter()
    if output is not None and layout.is_main:
        if resume:
            output.check_resumable()
        else:
            output.start_fresh()
    layout.barrier()
    if output is not None and output.is_complete():
        if layout.is_main:
            print(f"khabar: {output.path} is already complete; nothing to do", file=sys.stderr)
        return CorpusSummary(per_process=[0] * layout.processes)
    pending = _Pending(output, resume)
    handle = output.open_for_append() if output is not None else None
    documents = entities = skipped = 0
    total = source.total()
    bar = tqdm(total=_share(total, chunk_size, layout), desc="analysing", unit="doc",
               disable=not (progress and layout.is_main and total != 1))
    try:
        for index, chunk in enumerate(_chunks(source, chunk_size)):
            if index % layout.processes != layout.rank:
                continue
            needed = [pending.needed(position, document) for position, document in chunk]
            if any(needed):
                results = analyse_chunk(analyzer, [document for _, document in chunk])
                for (position, document), result, wanted in zip(chunk, results, needed, strict=True):
                    if not wanted:
                        continue
                    if isinstance(result, str):
                        skipped += 1
                        if on_skip is not None:
                            on_skip(Skipped(document.id, document.source, result))
                        continue
                    line = formatter(document.id, result)
                    if output is not None and handle is not None:
                        output.write(handle, position, line)
                    else:
                        target = stream or sys.stdout
                        target.write(line)
                        target.flush()
                    documents += 1
                    entities += len(result.entities)
            bar.update(len(chunk))
    finally:
        bar.close()
        if handle is not None:
            handle.close()
    table = layout.sum_rows([documents, entities, skipped, pending.already_written])
    layout.barrier()
    if output is not None and layout.is_main:
        output.finish()
    return CorpusSummary(
        documents=sum(row[0] for row in table), entities=sum(row[1] for row in table),
        skipped=sum(row[2] for row in table), seconds=time.perf_counter() - started,
        per_process=[row[0] for row in table], already_written=sum(row[3] for row in table),
    )

