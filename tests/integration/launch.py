"""How the tests start several CPU processes: `accelerate launch` as the README documents it, on a free port."""

from __future__ import annotations

import socket
import sys


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def accelerate_launch(processes: int) -> list[str]:
    """The command prefix that runs `-m khabar.cli ...` on `processes` CPU processes (with ACCELERATE_USE_CPU=true)."""
    return [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes),
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        "--main_process_port", str(free_port()), "-m", "khabar.cli",
    ]
