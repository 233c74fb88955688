"""A throw-away PostgreSQL server for tests: initdb in a temp dir, listen on 127.0.0.1 on a free port, stop and delete.

Standard library only (psycopg2 is imported lazily), so CI can call it before the venv exists:

    python3 tests/postgres_server.py find      # print the server binary directory, exit 1 when there is none
    python3 tests/postgres_server.py install   # apt-get install the PostgreSQL server (Debian/Ubuntu; needs root or
    sudo)
    python3 tests/postgres_server.py run       # start a server, print the EXPTRACK_PG_* variables, stop on Ctrl-C
    python3 tests/postgres_server.py exec -- CMD ...   # start a server, run CMD with EXPTRACK_DBT_TARGET=postgres and
                                               # the EXPTRACK_PG_* variables set, then stop it (`make demo-postgres`)

Binaries are looked up in $EXPTRACK_PG_BINDIR, on PATH, via `pg_config --bindir`, then in the usual package locations
(/usr/lib/postgresql/<version>/bin, Homebrew, /usr/local/pgsql/bin). PostgreSQL refuses to run as root: when the
tests run as root (containers), the cluster is created and run as the `postgres` user if it exists, else `nobody`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

INSTALL_COMMAND = ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"]

# Throw-away data: durability off, logging quiet. Parallel query uses mmap'ed dynamic shared memory so a small
# /dev/shm (Docker's default is 64 MB) cannot fail a query.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",  # a table created and filled in one transaction (COPY, dbt's CTAS) skips the WAL
    "max_wal_senders": "0",
    # No parallel query: each parallel plan starts worker backends (a fork and a cold catalog cache each) and the
    # suite's two cores are busy anyway. test_postgres_pipeline + test_incremental_models, alternating with / without
    # / without / with (2026-12-01): 541 and 551 CPU-s with parallel workers, 514 and 516 without (-6%; the server
    # itself 140/155 against 133/132), all 26 passed each time.
    "max_parallel_workers_per_gather": "0",
    "jit": "off",  # JIT compilation costs seconds per big query here and saves nothing at this size
    "dynamic_shared_memory_type": "mmap",
    "shared_buffers": "256MB",
    "work_mem": "128MB",
    "maintenance_work_mem": "256MB",
    "max_connections": "40",
    "timezone": "UTC",
    "log_min_messages": "warning",
}


def find_bindir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None."""

    def ok(directory: Path | str | None) -> Path | None:
        if not directory:
            return None
        directory = Path(directory)
        if all(os.access(directory / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return directory.resolve()
        return None

    candidates: list[Path | str | None] = [os.environ.get("EXPTRACK_PG_BINDIR")]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            candidates.append(
                subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
            )

    def version(path: str) -> tuple[int, ...]:
        digits = "".join(c if c.isdigit() else " " for c in path).split()
        return tuple(int(d) for d in digits)

    for pattern in (
        "/usr/lib/postgresql/*/bin",
        "/opt/homebrew/opt/postgresql@*/bin",
        "/usr/local/opt/postgresql@*/bin",
    ):
        candidates += sorted(glob.glob(pattern), key=version, reverse=True)
    candidates += ["/usr/local/pgsql/bin", "/opt/homebrew/bin", "/usr/pgsql-15/bin", "/usr/pgsql-16/bin"]
    for candidate in candidates:
        found = ok(candidate)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_as() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as when we are root (None when we are not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a `postgres` nor a `nobody` account exists to run PostgreSQL")


class PostgresServer:
    """One PostgreSQL cluster in a temp dir. `start()` then `stop()` (also a context manager)."""

    def __init__(self, bindir: Path, user: str = "exptrack", password: str | None = None) -> None:
        self.bindir = Path(bindir)
        self.user = user
        self.password = password or secrets.token_hex(12)
        self.host = "127.0.0.1"
        self.port: int | None = None
        self.root: Path | None = None
        self._account = _run_as()

    # -- process helpers -------------------------------------------------------------------------------------------
    def _run(self, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        kwargs: dict = {}
        if self._account is not None:
            kwargs = {"user": self._account.pw_uid, "group": self._account.pw_gid, "extra_groups": []}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C", "TZ": "UTC"}
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=self.root, env=env, **kwargs)

    def _chown(self, path: Path) -> None:
        if self._account is not None:
            os.chown(path, self._account.pw_uid, self._account.pw_gid)

    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        assert self.root is not None
        return self.root / "server.log"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    # -- lifecycle -------------------------------------------------------------------------------------------------
    def start(self, attempts: int = 3) -> PostgresServer:
        # Not under pytest's basetemp: that is mode 0700 and owned by root, which the server account cannot enter.
        self.root = Path(tempfile.mkdtemp(prefix="exptrack-pg-"))
        self._chown(self.root)
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        self._chown(pwfile)
        initdb = self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.data_dir),
                "--username",
                self.user,
                "--pwfile",
                str(pwfile),
                "--auth-local",
                "trust",
                "--auth-host",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--no-locale",  # C collation: byte order, as DuckDB compares strings
                "--no-sync",
            ]
        )
        pwfile.unlink()
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed ({initdb.returncode}):\n{initdb.stdout}\n{initdb.stderr}")
        options = " ".join(f"-c {key}={value}" for key, value in SERVER_SETTINGS.items())
        last_error = ""
        for _ in range(attempts):
            self.port = free_port()
            started = self._run(
                [
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-o",
                    f"-p {self.port} -k {self.root} {options}",
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                timeout=90,
            )
            if started.returncode == 0:
                return self
            last_error = f"{started.stdout}\n{started.stderr}\n{self.log_tail()}"
            time.sleep(0.5)  # most likely the port was taken between choosing and binding it: try another
        raise RuntimeError(f"pg_ctl start failed:\n{last_error}")

    def stop(self) -> None:
        if self.root is None:
            return
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run(
                    [
                        str(self.bindir / "pg_ctl"),
                        "-D",
                        str(self.data_dir),
                        "-m",
                        "immediate",
                        "-w",
                        "-t",
                        "60",
                        "stop",
                    ],
                    timeout=90,
                )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- clients ---------------------------------------------------------------------------------------------------
    def env(self, dbname: str = "exptrack", schema: str = "main") -> dict[str, str]:
        """The EXPTRACK_PG_* variables dbt_project/profiles.yml reads for the `postgres` target."""
        return {
            "EXPTRACK_PG_HOST": self.host,
            "EXPTRACK_PG_PORT": str(self.port),
            "EXPTRACK_PG_USER": self.user,
            "EXPTRACK_PG_PASSWORD": self.password,
            "EXPTRACK_PG_DATABASE": dbname,
            "EXPTRACK_PG_SCHEMA": schema,
        }

    def connect(self, dbname: str = "postgres"):
        import psycopg2

        return psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password, dbname=dbname)

    def create_database(self, dbname: str) -> None:
        con = self.connect("postgres")
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute(f'drop database if exists "{dbname}"')
                cur.execute(f'create database "{dbname}"')
        finally:
            con.close()


def install() -> int:
    """apt-get install the server (Debian/Ubuntu). The one thing a clean CI image may need for the Postgres test."""
    if find_bindir() is not None:
        print(f"PostgreSQL server already available in {find_bindir()}")
        return 0
    if shutil.which("apt-get") is None:
        print(
            "no apt-get here: install the PostgreSQL server with your package manager, or set EXPTRACK_PG_BINDIR",
            file=sys.stderr,
        )
        return 1
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run([*prefix, "apt-get", "update"], check=True, env=env)
    subprocess.run(prefix + INSTALL_COMMAND, check=True, env=env)
    found = find_bindir()
    print(f"PostgreSQL server binaries: {found}")
    return 0 if found else 1


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "find"
    if command == "find":
        found = find_bindir()
        print(found or "no PostgreSQL server binaries found")
        return 0 if found else 1
    if command == "install":
        return install()
    if command == "run":
        bindir = find_bindir()
        if bindir is None:
            print(
                "no PostgreSQL server binaries found (try: python3 tests/postgres_server.py install)", file=sys.stderr
            )
            return 1
        with PostgresServer(bindir) as server:
            server.create_database("exptrack")
            for key, value in server.env().items():
                print(f"export {key}={value}")
            print("# server running; Ctrl-C stops it and deletes its data", flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        return 0
    if command == "exec":
        cmd = argv[3:] if len(argv) > 2 and argv[2] == "--" else argv[2:]
        bindir = find_bindir()
        if bindir is None or not cmd:
            print(
                "usage: postgres_server.py exec -- CMD ... (needs PostgreSQL server binaries: "
                "postgres_server.py install)",
                file=sys.stderr,
            )
            return 1
        with PostgresServer(bindir) as server:
            server.create_database("exptrack")
            env = dict(os.environ, EXPTRACK_DBT_TARGET="postgres", **server.env())
            print(
                f"PostgreSQL {bindir} on {server.host}:{server.port}, database exptrack (deleted when the "
                "command ends)",
                flush=True,
            )
            return subprocess.run(cmd, env=env).returncode
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
