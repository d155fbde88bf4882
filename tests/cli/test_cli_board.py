"""``tb-featureviz board``: a real TensorBoard, the plugin's routes, Ctrl-C.

Starts the command as a subprocess on a free port, waits for the Feature
maps URL it prints, fetches the plugin's ``runs`` route through it, sends
SIGINT (what Ctrl-C sends) and checks the exit status and that the port is
free again.
"""

import json
import socket
import sys

import pytest

from tests.cli_helpers import run_cli, small_model_path, start_board, stop_board
from tests.plugin_fixtures import fetch_json
from tests.ports import free_port, port_is_free


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("board") / "logs"
    model = small_model_path(tmp_path_factory)
    result = run_cli("log", "--model", model, "--logdir", logdir, "--layers", "conv1", "--run", "small")
    assert result.returncode == 0, result.stderr
    return logdir


def test_board_serves_the_plugin_and_stops_on_ctrl_c(logdir):
    port = free_port()
    process, lines = start_board([sys.executable, "-m", "tb_featureviz", "board", "--logdir", logdir, "--port", port])
    try:
        assert lines == [
            f"Starting TensorBoard on 127.0.0.1:{port} for {logdir}",
            f"TensorBoard: http://127.0.0.1:{port}/",
            f"Feature maps: http://127.0.0.1:{port}/#featureviz",
            "Press Ctrl-C to stop.",
        ]
        runs = fetch_json(f"http://127.0.0.1:{port}/data/plugin/featureviz/runs")
        # Every step kept: the sampling flags reached TensorBoard.
        assert runs == {"runs": ["small"], "sampling": {"images": 0, "featureviz": 0}}
        layers = fetch_json(f"http://127.0.0.1:{port}/data/plugin/featureviz/layers?run=small")
        assert "conv1" in json.dumps(layers)
    finally:
        code, out, err = stop_board(process)
    assert code == 0, err
    assert out.splitlines() == ["Stopping TensorBoard ..."]
    assert err == "" and "Traceback" not in err
    assert port_is_free(port)


def test_board_takes_6006_or_a_free_port():
    from tb_featureviz.cli import board

    # 6006 is taken here (by a test's own socket), so a free port is chosen; given 0, any free one.
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            busy.bind(("127.0.0.1", board.DEFAULT_PORT))
        except OSError:
            pass  # taken by someone else: the same situation
        else:
            busy.listen()
        chosen = board.choose_port("127.0.0.1", None)
        assert chosen != board.DEFAULT_PORT and port_is_free(chosen)
    assert board.choose_port("127.0.0.1", 0) != 0
