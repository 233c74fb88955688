"""A throw-away local Apache Spark server for tests and `make demo-spark`: one JVM, deleted at the end.

One `spark-submit` of the Hive thrift server (the Spark SQL JDBC/ODBC endpoint) with the Spark Connect plugin, so the
same JVM answers on two loopback ports:

* Spark Connect (`sc://127.0.0.1:PORT`): the Python side (exptrack_pipeline/warehouse/spark_backend.py) and dbt
  (`method: session` with SPARK_REMOTE set) connect here, with no JVM of their own;
* Hive thrift (`127.0.0.1:PORT`): what dbt-spark's `method: thrift` and BI tools use.

It owns the warehouse directory, the Derby metastore and the logs, all under one temp dir (absolute paths: Spark would
otherwise create `metastore_db/`, `spark-warehouse/` and `derby.log` in the current directory). Several processes
(dbt's threads, the Python assets) can use the server at the same time, which an embedded Spark per process cannot:
its Derby metastore admits one process.

    python3 tests/spark_server.py find      # print the Spark home (pip's pyspark) and java, exit 1 without them
    python3 tests/spark_server.py run       # start, print the EXPTRACK_SPARK_* / SPARK_REMOTE exports, stop on Ctrl-C
    python3 tests/spark_server.py exec -- CMD ...   # start, run CMD with EXPTRACK_DBT_TARGET=spark set, stop

Standard library only; pyspark (the `spark` extra of pyproject.toml) provides the Spark home and its jars.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DRIVER_MEMORY = os.environ.get("EXPTRACK_SPARK_DRIVER_MEMORY", "2g")
# local[2]: the machine's two cores; shuffle partitions sized for a laptop-scale demo, not Spark's default 200.
SERVER_CONF = {
    "spark.master": "local[2]",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.adaptive.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.sql.ansi.enabled": "false",
    # No shared file-listing cache: the Python side rewrites tables (registry.*, raw days) that dbt's session then
    # reads, and a listing cached by another session would name files that no longer exist (FAILED_READ_FILE).
    "spark.sql.hive.filesourcePartitionFileCacheSize": "0",
    # The local file system without checksum files: Hadoop's default `file:` system (LocalFileSystem) writes a `.crc`
    # beside every file, and without Hadoop's native library (not in pip's pyspark) it sets each created file's
    # permissions by spawning a `chmod` process (RawLocalFileSystem.setPermission): one spawn per file, not two.
    "spark.hadoop.fs.file.impl": "org.apache.hadoop.fs.RawLocalFileSystem",
    "spark.plugins": "org.apache.spark.sql.connect.SparkConnectPlugin",
    "spark.connect.grpc.binding.address": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
}


def free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_java() -> str | None:
    """The java executable ($JAVA_HOME/bin/java, else PATH), or None."""
    home = os.environ.get("JAVA_HOME")
    if home and os.access(Path(home) / "bin" / "java", os.X_OK):
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def find_spark_home() -> Path | None:
    """$SPARK_HOME, else the pyspark package directory (pip's pyspark ships bin/spark-submit and the jars)."""
    home = os.environ.get("SPARK_HOME")
    if home and (Path(home) / "bin" / "spark-submit").exists():
        return Path(home)
    try:
        import importlib.util

        spec = importlib.util.find_spec("pyspark")
    except ImportError:
        spec = None
    if spec is None or spec.origin is None:
        return None
    root = Path(spec.origin).parent
    return root if (root / "bin" / "spark-submit").exists() else None


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class SparkServer:
    """One local Spark JVM serving Spark Connect and the Hive thrift protocol on free loopback ports."""

    def __init__(
        self,
        spark_home: Path,
        driver_memory: str = DRIVER_MEMORY,
        conf: dict[str, str] | None = None,
        java_options: tuple[str, ...] = (),
    ) -> None:
        self.spark_home = spark_home
        self.driver_memory = driver_memory
        self.conf = dict(conf or {})  # on top of SERVER_CONF (the test suite's server: tests/spark_support.py)
        self.java_options = tuple(java_options)  # added to the driver JVM's options (JIT, GC)
        self.host = "127.0.0.1"
        self.connect_port: int | None = None
        self.thrift_port: int | None = None
        self.root: Path | None = None
        self.process: subprocess.Popen | None = None

    @property
    def remote(self) -> str:
        """The Spark Connect URL clients use (SPARK_REMOTE)."""
        return f"sc://{self.host}:{self.connect_port}"

    @property
    def log_file(self) -> Path:
        assert self.root is not None
        return self.root / "server.log"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def _command(self) -> list[str]:
        assert self.root is not None
        metastore = self.root / "metastore_db"
        java_options = " ".join((f"-Dderby.system.home={self.root}", "-Duser.timezone=UTC", *self.java_options))
        conf = {
            **SERVER_CONF,
            **self.conf,
            "spark.driver.memory": self.driver_memory,
            "spark.sql.warehouse.dir": str(self.root / "warehouse"),
            "spark.connect.grpc.binding.port": str(self.connect_port),
            "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={metastore};create=true",
            "spark.driver.extraJavaOptions": java_options,
            "spark.local.dir": str(self.root / "tmp"),
        }
        command = [str(self.spark_home / "bin" / "spark-submit")]
        for key, value in conf.items():
            command += ["--conf", f"{key}={value}"]
        command += [
            "--class",
            "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
            "spark-internal",
            "--hiveconf",
            f"hive.server2.thrift.port={self.thrift_port}",
            "--hiveconf",
            f"hive.server2.thrift.bind.host={self.host}",
        ]
        return command

    def start(self, timeout: float = 180) -> SparkServer:
        """Start the JVM and wait until both ports accept connections (about 10 s on an idle machine)."""
        self.root = Path(tempfile.mkdtemp(prefix="exptrack-spark-"))
        (self.root / "tmp").mkdir()
        self.connect_port, self.thrift_port = free_port(), free_port()
        env = {
            **os.environ,
            "SPARK_HOME": str(self.spark_home),
            "SPARK_LOCAL_IP": self.host,
            "SPARK_LOG_DIR": str(self.root / "logs"),
            "SPARK_CONF_DIR": str(self.root / "conf"),
            "TZ": "UTC",
        }
        env.pop("SPARK_REMOTE", None)  # the server is the one JVM: it must not try to connect to another
        log = self.log_file.open("w")
        self.process = subprocess.Popen(
            self._command(), cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Spark server exited ({self.process.returncode}):\n{self.log_tail()}")
            if _port_open(self.connect_port) and _port_open(self.thrift_port):
                return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the Spark server did not open its ports within {timeout:.0f}s")

    def stop(self) -> None:
        """Stop the JVM (its process group: spark-submit execs java) and delete the warehouse, metastore and logs."""
        try:
            if self.process is not None and self.process.poll() is None:
                os.killpg(self.process.pid, 15)
                try:
                    self.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, 9)
                    self.process.wait()
        finally:
            self.process = None
            if self.root is not None:
                shutil.rmtree(self.root, ignore_errors=True)
                self.root = None

    def __enter__(self) -> SparkServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        """The variables dbt_project/profiles.yml (`spark` output) and the Python side read for the `spark` target."""
        return {
            "EXPTRACK_DBT_TARGET": "spark",
            "SPARK_REMOTE": self.remote,
            "EXPTRACK_SPARK_REMOTE": self.remote,
            "EXPTRACK_SPARK_HOST": self.host,
            "EXPTRACK_SPARK_THRIFT_PORT": str(self.thrift_port),
        }


def _require() -> tuple[str, Path] | None:
    java, home = find_java(), find_spark_home()
    if java is None:
        print(
            "no java on PATH or in $JAVA_HOME: install a JRE 17 (apt-get install openjdk-17-jre-headless)",
            file=sys.stderr,
        )
    if home is None:
        print("no Spark home: pip install -e '.[spark]' (pyspark) or set SPARK_HOME", file=sys.stderr)
    return (java, home) if java and home else None


def main(argv: list[str]) -> int:
    """The command line: find, run, exec -- CMD."""
    command = argv[1] if len(argv) > 1 else "find"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `kill` still stops the JVM and deletes its data
    found = _require()
    if command == "find":
        if found:
            print(f"java {found[0]}, Spark home {found[1]}")
        return 0 if found else 1
    if found is None:
        return 1
    if command == "run":
        with SparkServer(found[1]) as server:
            for key, value in server.env().items():
                print(f"export {key}={value}")
            print("# Spark running; Ctrl-C stops it and deletes its warehouse", flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        return 0
    if command == "exec":
        cmd = argv[3:] if len(argv) > 2 and argv[2] == "--" else argv[2:]
        if not cmd:
            print("usage: spark_server.py exec -- CMD ...", file=sys.stderr)
            return 1
        with SparkServer(found[1]) as server:
            print(f"local Spark: Connect {server.remote}, thrift port {server.thrift_port} (deleted when CMD ends)")
            return subprocess.run(cmd, env={**os.environ, **server.env()}).returncode
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
