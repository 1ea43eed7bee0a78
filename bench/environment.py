"""What a result depends on besides its config: versions, hardware, threads, git commit."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

from bench.errors import ConfigError


def cpu_count() -> int:
    """Cores this process may use (respects CPU affinity and container limits)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device '{name}' asked for, but torch sees no CUDA device; use --set device=cpu")
    return device


def installed_version() -> str | None:
    """rnnbench's version as installed (`rnnbench --version`; every record keeps it), or None
    when it runs from a source tree that was never installed."""
    try:
        return importlib.metadata.version("rnnbench")
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.cache
def _static() -> dict[str, Any]:
    return {
        "rnnbench": installed_version(),
        "git_commit": git_commit(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": cpu_model(),
        "cpu_count": cpu_count(),
    }


def environment(device: torch.device, threads: int) -> dict[str, Any]:
    info = dict(_static())
    info["device"] = str(device)
    info["device_name"] = torch.cuda.get_device_name(device) if device.type == "cuda" else info["processor"]
    info["threads"] = threads
    info["flush_denormal"] = torch.set_flush_denormal(True)  # True where the CPU supports it
    if device.type == "cuda":
        info["cuda"] = torch.version.cuda
        info["cudnn"] = torch.backends.cudnn.version()
    return info


def git_commit() -> str | None:
    """The commit of the rnnbench checkout in use (with ``+dirty`` when it has changes)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if head.returncode:
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def cpu_model() -> str:
    """The CPU's model name (to name beside any timing: "AMD EPYC 9B14", say)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
