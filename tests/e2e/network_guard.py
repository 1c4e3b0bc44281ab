"""Run a Python script with the network cut: only loopback connections are allowed.

    python tests/e2e/network_guard.py app.py --port 7861

socket.connect / connect_ex / sendto to a non-loopback address and DNS look-ups of
non-local names raise ConnectionRefusedError / gaierror, as on a machine with no
network. Each refused attempt is appended to the file named by $NETWORK_GUARD_LOG
(if set), so a test can list what the app tried to reach. With
NETWORK_GUARD_EXIT_WITH_PARENT=<pid of the parent> the script exits when that parent dies.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import runpy
import socket
import sys

LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str):
        return False
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def record(what: str, target: object) -> None:
    log = os.environ.get("NETWORK_GUARD_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{what} {target!r}\n")


def refused(address: object) -> bool:
    """True when `address` is an internet (non-loopback) address; Unix sockets pass."""
    if isinstance(address, tuple) and address:
        return not is_loopback(address[0])
    return False


_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_sendto = socket.socket.sendto
_getaddrinfo = socket.getaddrinfo


def connect(self, address):
    if refused(address):
        record("connect", address)
        raise ConnectionRefusedError(errno.ECONNREFUSED, f"network cut by the test: {address!r}")
    return _connect(self, address)


def connect_ex(self, address):
    if refused(address):
        record("connect_ex", address)
        return errno.ECONNREFUSED
    return _connect_ex(self, address)


def sendto(self, data, *args):
    if refused(args[-1]):
        record("sendto", args[-1])
        raise ConnectionRefusedError(errno.ECONNREFUSED, f"network cut by the test: {args[-1]!r}")
    return _sendto(self, data, *args)


def is_ip_literal(host: object) -> bool:
    try:
        ipaddress.ip_address((host.decode() if isinstance(host, bytes) else str(host)).split("%")[0])
        return True
    except ValueError:
        return False


def getaddrinfo(host, *args, **kwargs):
    # Numeric addresses need no DNS: they are refused at connect() if not loopback.
    if host is not None and not is_loopback(host) and not is_ip_literal(host):
        record("getaddrinfo", host)
        raise socket.gaierror(socket.EAI_NONAME, f"network cut by the test: {host!r}")
    return _getaddrinfo(host, *args, **kwargs)


def install() -> None:
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.socket.sendto = sendto
    socket.getaddrinfo = getaddrinfo


def exit_with_parent(parent: int) -> None:
    """Exit once process `parent` (the one that started us) is gone: a killed test run
    leaves no app behind. (The pid is passed in: by the time this runs, os.getppid()
    may already be the reaper that adopted us.)"""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


if __name__ == "__main__":
    if os.environ.get("NETWORK_GUARD_EXIT_WITH_PARENT"):
        exit_with_parent(int(os.environ["NETWORK_GUARD_EXIT_WITH_PARENT"]))
    install()
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")
