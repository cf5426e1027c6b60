"""A throwaway PostgreSQL cluster on a free localhost port, one per test, that a test may stop and start.

Debian installs the server binaries under /usr/lib/postgresql/<version>/bin (not on PATH); `.ci/run`
installs the package. initdb refuses to run as root, so as root the cluster belongs to the
``postgres`` system user, in a folder of its own under the system's temporary folder (pytest's
tmp_path is private to root).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy

SEARCHED = ("/usr/lib/postgresql/*/bin",)
SERVER_USER = "postgres"


def server_binaries() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, else the newest Debian install."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        binaries = Path(on_path).resolve().parent  # Debian's installs link a few tools into /usr/local/bin
        if (binaries / "initdb").exists():
            return binaries
    found = sorted(
        (path for pattern in SEARCHED for path in Path("/").glob(pattern.lstrip("/")) if (path / "initdb").exists()),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    return found[-1] if found else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One cluster: ``start()``, ``stop()``, ``create_database()``; trust authentication on 127.0.0.1."""

    def __init__(self, binaries: Path, home: Path) -> None:
        self.binaries = binaries
        self.data = home / "data"
        self.log = home / "server.log"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        self._command("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")

    def _command(self, tool: str, *args: str) -> None:
        command = [str(self.binaries / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed: {result.stdout}{result.stderr}{log}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._command("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        """Stop the server at once (open connections are cut, as when a database server goes away)."""
        self._command("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        engine = sqlalchemy.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    """A running PostgreSQL server of this test's own; skipped only where PostgreSQL is not installed."""
    binaries = server_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run installs it)")
    home = Path(tempfile.mkdtemp(prefix="ganbench-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(home, SERVER_USER)
    server = None
    try:
        server = PostgresServer(binaries, home)
        server.start()
        yield server
    finally:
        if server is not None and server.running():
            server.stop()
        shutil.rmtree(home, ignore_errors=True)
