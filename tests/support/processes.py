"""The production shape for tests: `marketsync serve`, `worker` and `scheduler` as processes.

Each runs in its own session so a test can SIGKILL a whole worker (parent and
children); output goes to files a failing test can show.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import httpx


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    handle: BinaryIO

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]

    def kill(self, sig: int = signal.SIGTERM) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        self.handle.close()


@dataclass
class Stack:
    env: dict[str, str]
    procs: list[Proc] = field(default_factory=list)
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="marketsync-")))

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> Proc:
        log = self.folder / f"{name}-{len(self.procs)}.log"
        handle = log.open("wb")
        popen = subprocess.Popen(
            [sys.executable, "-m", "marketsync", *args],
            env={**self.env, **(env or {})},
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        proc = Proc(name, popen, log, handle)
        self.procs.append(proc)
        return proc

    def run(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "marketsync", *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.kill()


async def wait_until_ready(base_url: str, proc: Proc, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise AssertionError(f"{proc.name} exited:\n{proc.output()}")
            try:
                if (await client.get(f"{base_url}/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{proc.name} not ready:\n{proc.output()}")


async def wait_for_output(proc: Proc, text: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text in proc.output():
            return
        if proc.popen.poll() is not None:
            raise AssertionError(f"{proc.name} exited:\n{proc.output()}")
        await asyncio.sleep(0.1)
    raise AssertionError(f"{proc.name} never printed {text!r}:\n{proc.output()}")
