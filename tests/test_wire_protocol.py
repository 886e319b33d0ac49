"""The wire format itself: round trips, byte order, signatures, limits; and that `softfit.wire` stands
alone (numpy + pyzmq, relative imports) as the Blender add-on ships it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import softfit
import softfit.wire
from softfit.wire import errors as E
from softfit.wire.messages import REPLIES, REQUESTS
from softfit.wire.protocol import Limits, Message, decode, encode, is_loopback

KEY = b"k" * 32


def _submit(**arrays) -> Message:
    base = {"silhouettes": np.zeros((2, 4, 5), np.float32), "verts": np.zeros((3, 3)),
            "faces": np.array([[0, 1, 2]])}
    return Message("submit", {"transforms": {"frames": [{}, {}]}}, {**base, **arrays}, session="s", job="j")


def test_round_trip_keeps_values_shapes_and_dtypes():
    verts = np.arange(12, dtype=">f8").reshape(4, 3)  # big-endian input goes out little-endian
    msg = _submit(verts=verts, pinned=np.array([2, 0], np.int32))
    out = decode([bytes(f) for f in encode(msg, KEY)], KEY, REQUESTS, Limits())
    assert (out.type, out.session, out.job, out.id) == ("submit", "s", "j", msg.id)
    assert out.arrays["verts"].dtype.str == "<f8"
    np.testing.assert_array_equal(out.arrays["verts"], verts)
    assert out.arrays["pinned"].dtype == np.int32 and out.arrays["pinned"].tolist() == [2, 0]
    assert out.arrays["silhouettes"].shape == (2, 4, 5)


def test_non_finite_body_values_travel_as_null():
    msg = Message("update", {"seq": 1, "state": "running", "queue_position": None, "cancelled": False,
                             "progress": {"loss": float("nan"), "iou": np.float32(0.5)}, "metrics": None,
                             "error": None}, job="j")
    out = decode(encode(msg, KEY), KEY, REPLIES, Limits())
    assert out.body["progress"] == {"loss": None, "iou": 0.5}


def test_any_changed_byte_breaks_the_signature():
    frames = [bytes(f) for f in encode(_submit(), KEY)]
    for i in range(2, len(frames)):
        bad = list(frames)
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        with pytest.raises(E.ProtocolError) as err:
            decode(bad, KEY, REQUESTS, Limits())
        assert err.value.code == E.BAD_SIGNATURE
    with pytest.raises(E.ProtocolError, match="signature"):
        decode(frames, b"another key", REQUESTS, Limits())


@pytest.mark.parametrize(("limit", "value", "arrays"), [
    ("max_views", 1, {}),
    ("max_side", 4, {}),
    ("max_vertices", 2, {}),
    ("max_message_bytes", 200, {}),
    ("max_header_bytes", 50, {}),
])
def test_limits_refuse_before_use(limit, value, arrays):
    frames = encode(_submit(**arrays), KEY)
    with pytest.raises(E.ProtocolError) as err:
        decode(frames, KEY, REQUESTS, Limits(**{limit: value}))
    assert err.value.code == E.TOO_LARGE


def test_limits_from_a_peer_are_checked():
    assert Limits.from_dict({"max_views": 7, "from_the_future": 1}).max_views == 7
    with pytest.raises(E.ProtocolError):
        Limits.from_dict({"max_views": -1})
    with pytest.raises(E.ProtocolError):
        Limits.from_dict([1])


def test_loopback_detection():
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "*", "::", "192.168.1.2", "example.org", "eth0"]))


def test_wire_package_stands_alone(tmp_path: Path):
    """Copied elsewhere under another name, with torch and softfit unimportable, it still works."""
    assert softfit.wire.__version__ == softfit.__version__
    shutil.copytree(Path(softfit.wire.__file__).parent, tmp_path / "addon_wire",
                    ignore=shutil.ignore_patterns("__pycache__"))
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'softfit'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import addon_wire, addon_wire.launcher, addon_wire.keys\n"
        "from addon_wire.protocol import Message, encode, decode, Limits\n"
        "from addon_wire.messages import REQUESTS\n"
        "m = decode(encode(Message('ping', {}), b'k'), b'k', REQUESTS, Limits())\n"
        "assert m.type == 'ping'\n"
        "print('ok', sorted(k for k in sys.modules if k.split('.')[0] in ('torch', 'softfit')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok []"
