"""A private 3-node MariaDB Galera cluster on free local ports, for the cluster test.

Three ``mariadbd`` processes with the Galera provider, each with its own data directory, port
and tmpdir in one temporary directory, never the shared server. Kept lean for a 2-core
machine: small buffer pools and gcache, one applier thread, no fsync per commit.

Starting without a state transfer: one node is bootstrapped once from the suite's
initialised data directory and shut down cleanly, so its ``grastate.dat`` names a cluster
and a position; every node starts from a copy of that. The first is started with
``--wsrep-new-cluster``, the others join with the same position and need no transfer. A node
killed later rejoins by IST from a survivor's gcache (its position is recovered from InnoDB),
or by an rsync SST if the gcache no longer covers the gap.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import mysql.connector

from tests.support.net import free_port
from tests.support.private_server import PrivateServer

PROVIDER = Path("/usr/lib/galera/libgalera_smm.so")
# Debian packages the cluster needs: the provider, and rsync for a state transfer (SST).
APT_PACKAGES = ("galera-4", "rsync")
# The system user Debian's mariadb-server creates (and the shared server runs as).
SERVER_USER = "mysql"


def _give_to(user: str, path: Path) -> None:
    """``chown -R user: path``."""
    for item in [path, *path.rglob("*")]:
        shutil.chown(item, user, user)


def ensure_galera() -> None:
    """Install the Galera provider (and rsync) with apt-get when missing: CI machines are
    fresh. Raises when it cannot be had, so the test fails instead of silently skipping."""
    missing = [
        package
        for package in APT_PACKAGES
        if subprocess.run(["dpkg", "-s", package], capture_output=True, check=False).returncode
    ]
    if not missing and PROVIDER.exists():
        return
    install = ["apt-get", "install", "-y", "-q", *(missing or ["galera-4"])]
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    if subprocess.run(install, capture_output=True, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, check=False)
        done = subprocess.run(install, capture_output=True, env=env, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"could not install {missing}: {done.stdout}{done.stderr}")
    if not PROVIDER.exists():
        raise RuntimeError(f"galera-4 is installed but {PROVIDER} is missing")


class GaleraNode(PrivateServer):
    """One node: a ``PrivateServer`` with wsrep options. ``peers`` are every node's gcomm
    port (its own included); ``bootstrap`` starts a new cluster instead of joining one."""

    def __init__(
        self, template: Path, workdir: Path, name: str, cluster_name: str, gcomm_port: int
    ) -> None:
        super().__init__(template, workdir)
        self.name = name
        self.cluster_name = cluster_name
        self.gcomm_port = gcomm_port
        self.ist_port = free_port()
        self.sst_port = free_port()
        self.peers: list[int] = [gcomm_port]
        self.bootstrap = False
        # The node runs as the server's own user, as installed servers do: run as root, the
        # rsync daemon of a state transfer would drop to "nobody" and be refused the datadir.
        _give_to(SERVER_USER, self.workdir)

    def command(self) -> list[str]:
        provider_options = ";".join(
            [
                f"gmcast.listen_addr=tcp://127.0.0.1:{self.gcomm_port}",
                f"ist.recv_addr=127.0.0.1:{self.ist_port}",
                "gcache.size=64M",
                "gcache.page_size=16M",
                # A killed node is evicted after ~3 s instead of the default ~5-15 s, during
                # which the survivors' commits wait.
                "evs.suspect_timeout=PT2S",
                "evs.inactive_timeout=PT4S",
                "evs.inactive_check_period=PT0.5S",
                "evs.keepalive_period=PT0.5S",
                "pc.recovery=FALSE",
            ]
        )
        peers = ",".join(f"127.0.0.1:{port}" for port in self.peers)
        # Later options win, except --user (the first is kept): the plain private server's
        # options less its --user, then ours.
        base = [arg for arg in super().command() if not arg.startswith("--user=")]
        cmd = [
            *base,
            "--innodb-buffer-pool-size=48M",
            "--innodb-flush-log-at-trx-commit=2",
            "--binlog-format=ROW",
            "--innodb-autoinc-lock-mode=2",
            "--performance-schema=OFF",
            f"--user={SERVER_USER}",
            "--wsrep-on=ON",
            f"--wsrep-provider={PROVIDER}",
            f"--wsrep-provider-options={provider_options}",
            f"--wsrep-cluster-name={self.cluster_name}",
            f"--wsrep-cluster-address=gcomm://{peers}",
            f"--wsrep-node-name={self.name}",
            f"--wsrep-node-address=127.0.0.1:{self.gcomm_port}",
            "--wsrep-slave-threads=1",
            "--wsrep-sst-method=rsync",
            f"--wsrep-sst-receive-address=127.0.0.1:{self.sst_port}",
        ]
        if self.bootstrap:
            cmd.append("--wsrep-new-cluster")
        return cmd

    def wsrep_status(self) -> dict[str, str]:
        """``SHOW STATUS LIKE 'wsrep%'`` as a dict; empty when the node does not answer."""
        try:
            conn: Any = mysql.connector.connect(
                host="127.0.0.1", port=self.port, user="root", password="", connection_timeout=2
            )
        except mysql.connector.Error:
            return {}
        try:
            cur = conn.cursor()
            cur.execute("SHOW STATUS LIKE 'wsrep%'")
            return {str(name): str(value) for name, value in cur.fetchall()}
        except mysql.connector.Error:
            return {}
        finally:
            with contextlib.suppress(Exception):
                conn.close()

    def synced(self, cluster_size: int | None = None) -> bool:
        status = self.wsrep_status()
        return (
            status.get("wsrep_ready") == "ON"
            and status.get("wsrep_local_state_comment") == "Synced"
            and (cluster_size is None or status.get("wsrep_cluster_size") == str(cluster_size))
        )

    def start(self, timeout: float = 60) -> None:
        """Start and wait until the node is Synced (it answers earlier, while it joins)."""
        super().start(timeout)
        deadline = time.monotonic() + timeout
        while not self.synced():
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.error_log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} not Synced within {timeout} s: {self.wsrep_status()}\n"
                    f"{self.error_log.read_text()[-3000:]}"
                )
            time.sleep(0.1)


class GaleraCluster:
    """``start()`` three nodes (``nodes[i].config(database)`` for clients), ``kill(i)``,
    ``restart(i)``, ``close()``. ``template``: an initialised, never-started data directory
    (the suite's ``mariadb_template``)."""

    def __init__(self, template: Path, size: int = 3) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="wk-galera-"))
        _give_to(SERVER_USER, self.workdir)
        self.size = size
        # A name of its own: nodes of another test run on this machine never join ours.
        self.cluster_name = f"wk-{uuid.uuid4().hex[:8]}"
        self.gcomm_ports = [free_port() for _ in range(size)]
        self._seed = GaleraNode(
            template, self.workdir / "seed", "seed", self.cluster_name, self.gcomm_ports[0]
        )
        self.nodes: list[GaleraNode] = []

    def _make_seed(self) -> Path:
        """Bootstrap a one-node cluster once and stop it cleanly: its data directory, with
        a cluster id and position in grastate.dat, is every node's starting copy."""
        seed = self._seed
        seed.bootstrap = True
        seed.start()
        seed.stop()
        state = (seed.datadir / "grastate.dat").read_text()
        if "seqno:   -1" in state or "safe_to_bootstrap: 1" not in state:
            raise RuntimeError(f"the seed node did not shut down cleanly:\n{state}")
        return seed.datadir

    def start(self, timeout: float = 60) -> None:
        seed = self._make_seed()
        for index, port in enumerate(self.gcomm_ports, start=1):
            node = GaleraNode(
                seed, self.workdir / f"node{index}", f"node{index}", self.cluster_name, port
            )
            node.peers = list(self.gcomm_ports)
            node.bootstrap = index == 1
            self.nodes.append(node)
        shutil.rmtree(seed, ignore_errors=True)
        for node in self.nodes:
            node.start(timeout)
        self.wait_synced(self.size, timeout)

    def wait_synced(self, size: int, timeout: float = 60) -> None:
        """Until every running node is Synced in a cluster of ``size``."""
        deadline = time.monotonic() + timeout
        while True:
            running = [n for n in self.nodes if n.process and n.process.poll() is None]
            if all(node.synced(size) for node in running):
                return
            if time.monotonic() > deadline:
                states = {node.name: node.wsrep_status() for node in running}
                raise RuntimeError(f"cluster not Synced at size {size}: {states}")
            time.sleep(0.1)

    def kill(self, index: int) -> None:
        """``kill -9`` one node: a crash, no clean leave."""
        self.nodes[index].kill()

    def restart(self, index: int, timeout: float = 120) -> None:
        """Start a killed node again; it rejoins (IST or SST) and is Synced on return."""
        node = self.nodes[index]
        node.bootstrap = False
        node.start(timeout)

    def close(self) -> None:
        for node in [*self.nodes, self._seed]:
            node.kill()
        with contextlib.suppress(OSError):
            shutil.rmtree(self.workdir)
