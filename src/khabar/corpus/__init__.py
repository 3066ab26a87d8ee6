"""Corpus-scale analysis: stream documents from files or `datasets`, write results as they are ready, resume an
interrupted run, and spread the work over the processes of `accelerate launch`."""

from khabar.corpus.output import OutputPlan, format_json, format_table
from khabar.corpus.run import CorpusSummary, ProcessLayout, Skipped, analyze_corpus, process_layout
from khabar.corpus.sources import DatasetSource, DocumentSource, FileSource, InputDocument, StdinSource

__all__ = [
    "CorpusSummary",
    "DatasetSource",
    "DocumentSource",
    "FileSource",
    "InputDocument",
    "OutputPlan",
    "ProcessLayout",
    "Skipped",
    "StdinSource",
    "analyze_corpus",
    "format_json",
    "format_table",
    "process_layout",
]
