"""Start and stop a local anvil node (npm package ``@foundry-rs/anvil``) on a free loopback port.

    with AnvilNode.start() as node:
        w3 = node.web3()
        ...

The binary is ``DEFIPM_ANVIL`` if set, else ``node_modules/.bin/anvil`` (found like the artifacts), else
``anvil`` on PATH. The node mines a block per transaction (automine) and has anvil's ten funded default
accounts, whose keys come from the public test mnemonic (``ANVIL_MNEMONIC``): never use them anywhere real.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from defipm.chain.artifacts import find_node_modules
from defipm.chain.errors import ChainError

if TYPE_CHECKING:
    from web3 import Web3

ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
"""anvil's default, public test mnemonic."""
DEFAULT_CHAIN_ID = 31337


def find_anvil() -> str:
    """Path of the anvil binary; ChainError naming the fix when absent."""
    env = os.environ.get("DEFIPM_ANVIL")
    if env:
        if not Path(env).exists() and not shutil.which(env):
            raise ChainError(f"DEFIPM_ANVIL={env} does not exist")
        return env
    with contextlib.suppress(ChainError):
        local = find_node_modules() / ".bin" / "anvil"
        if local.exists():
            return str(local)
    found = shutil.which("anvil")
    if found:
        return found
    raise ChainError("anvil not found: run `npm install` in the defipm repository root (or set DEFIPM_ANVIL)")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class AnvilNode:
    """A running anvil process. Use ``AnvilNode.start()``; ``stop()`` (or the ``with`` block) ends it."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    chain_id: int
    accounts: int
    _log: Path | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @classmethod
    def start(
        cls,
        *,
        port: int | None = None,
        chain_id: int = DEFAULT_CHAIN_ID,
        accounts: int = 10,
        balance_eth: int = 10_000,
        extra_args: tuple[str, ...] = (),
        startup_timeout: float = 20.0,
        log_path: Path | None = None,
    ) -> AnvilNode:
        """Start anvil on 127.0.0.1 (a free port unless given) and wait until it answers JSON-RPC."""
        host = "127.0.0.1"
        binary = find_anvil()
        chosen = port or free_port(host)
        args = [
            binary,
            "--host", host,
            "--port", str(chosen),
            "--chain-id", str(chain_id),
            "--accounts", str(accounts),
            "--balance", str(balance_eth),
            "--mnemonic", ANVIL_MNEMONIC,
            "--code-size-limit", "100000",
            "--silent",
            *extra_args,
        ]  # fmt: skip
        out = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115 - owned by the process
        try:
            process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        except OSError as exc:
            raise ChainError(f"cannot start anvil at {binary}: {exc}") from exc
        node = cls(process, host, chosen, chain_id, accounts, log_path)
        deadline = time.monotonic() + startup_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ChainError(f"anvil exited with code {process.returncode} on port {chosen} (port taken?)")
            if node._answers():
                return node
            time.sleep(0.05)
        node.stop()
        raise ChainError(f"anvil did not answer on {node.url} within {startup_timeout}s")

    def _answers(self) -> bool:
        import json
        import urllib.request

        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
        request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=0.5) as response:
                return response.status == 200
        except OSError:
            return False

    def web3(self, timeout: float = 60.0) -> Web3:
        """A Web3 client for this node."""
        from defipm.chain.node import connect

        return connect(self.url, timeout=timeout)

    def rpc(self, method: str, *params: Any) -> Any:
        """Call an anvil/evm RPC method (``evm_snapshot``, ``anvil_mine``, ...) and return its result."""
        w3 = self.web3()
        response = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
        if "error" in response:
            raise ChainError(f"{method} failed: {response['error']}")
        return response.get("result")

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate anvil (kill it if it ignores the request)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def __enter__(self) -> AnvilNode:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
