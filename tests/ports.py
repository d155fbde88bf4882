"""Free TCP ports on 127.0.0.1, for the servers and worker processes the tests start."""

import socket


def free_ports(count):
    """``count`` different TCP ports on 127.0.0.1 that nothing listens on right now.

    The sockets are held until all are bound, so the ports differ; a port can
    still be taken by another process before the caller binds it.
    """
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    (port,) = free_ports(1)
    return port


def port_is_free(port):
    """Whether a new server could listen on 127.0.0.1:``port`` and nothing answers there."""
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
