"""Every message type of protocol version 1: its body fields and buffers (docs/protocol.md in prose).

Requests go client -> server and each gets exactly one reply (or an `error`) carrying `reply_to`."""

from __future__ import annotations

import numpy as np

from . import errors as E
from .protocol import ArraySpec, Field, Limits, Message, Schema

MAX_WAIT = 2.0  # longest a `poll` may be held by the server before it answers with no news
STATES = ("queued", "running", "done", "failed", "cancelled")
FINAL_STATES = ("done", "failed", "cancelled")
INDEX = ("<i4", "<i8")
INIT_METHODS = ("bbox", "hull")
VIEW_ARRAYS = {
    "silhouettes": ArraySpec(("|u1", "<f4"), ("max_views", "max_side", "max_side"), required=False),
    "images": ArraySpec(("|u1",), ("max_views", "max_side", "max_side", (3, 4)), required=False),
    # silhouette "backdrop": the empty scene, photographed with the same camera, at the images' size
    "backdrop": ArraySpec(("|u1",), ("max_side", "max_side", (3,)), required=False),
}

REQUESTS: dict[str, Schema] = {
    "hello": Schema({"client": Field("str", max_len=128), "version": Field("str", max_len=64)}, session=True),
    "ping": Schema({"echo": Field("str", required=False, max_len=256)}),
    "heartbeat": Schema(session=True),
    "submit": Schema(
        {"transforms": Field("object"), "params": Field("object", required=False),
         "silhouette": Field("str", required=False, max_len=32),
         "texture": Field("bool", required=False),  # bake the result's texture (default true)
         "texture_refine": Field("bool", required=False),  # then refine it against the photos
         # silhouettes a segmentation made earlier (`softfit views`): what it found, so IoUs say agreement
         "segmentation": Field("object", required=False)},
        {**VIEW_ARRAYS,
         "verts": ArraySpec(("<f4", "<f8"), ("max_vertices", 3)),
         "faces": ArraySpec(INDEX, ("max_faces", 3)),
         "pinned": ArraySpec(INDEX, ("max_vertices",), required=False),
         # the same views at a larger size for the texture's bake (RGBA: alpha = silhouette at that size)
         "photos": ArraySpec(("|u1",), ("max_views", "max_side", "max_side", (3, 4)), required=False)},
        session=True, job=True),
    "poll": Schema({"after": Field("int", lo=-1, hi=2**53), "frames": Field("bool"),
                    "wait": Field("float", lo=0.0, hi=MAX_WAIT),
                    # the topology the client holds: a frame of another one comes with its faces
                    "topology": Field("int", required=False, lo=0, hi=2**53)}, session=True, job=True),
    "cancel": Schema(session=True, job=True),
    "prepare": Schema(
        {"transforms": Field("object", required=False), "init": Field("str", null=True, choices=INIT_METHODS),
         "cameras": Field("str", required=False, null=True, max_len=256),
         "polys": Field("int", required=False, null=True, lo=4, hi=4_000_000),
         "silhouette": Field("str", required=False, max_len=32),
         "segmentation": Field("object", required=False),  # as submit's
         "params": Field("object", required=False)},  # the fit's: its held-out views are left out
        VIEW_ARRAYS, session=True),
    "release": Schema(session=True, job=True),
}

REPLIES: dict[str, Schema] = {
    "welcome": Schema({"protocol": Field("int"), "version": Field("str", max_len=64),
                       "device": Field("str", max_len=32), "device_name": Field("str", max_len=256),
                       "limits": Field("object"), "heartbeat": Field("float", lo=0.0),
                       "client_timeout": Field("float", lo=0.0), "workers": Field("int", lo=1)}),
    "pong": Schema({"echo": Field("str", required=False, max_len=256)}),
    "heartbeat": Schema(),
    "accepted": Schema({"queue_position": Field("int", lo=0)}, job=True),
    "update": Schema(
        {"seq": Field("int", lo=-1), "state": Field("str", choices=STATES),
         "queue_position": Field("int", lo=0, null=True), "progress": Field("object", null=True),
         "metrics": Field("object", null=True), "error": Field("object", null=True),
         "cancelled": Field("bool")},
        {"frame": ArraySpec(("<f4",), ("max_vertices", 3), required=False),
         "frame_faces": ArraySpec(INDEX, ("max_faces", 3), required=False),
         "verts": ArraySpec(("<f4", "<f8"), ("max_vertices", 3), required=False),
         "faces": ArraySpec(INDEX, ("max_faces", 3), required=False),
         "uv": ArraySpec(("<f4",), ("max_faces", 3, 2), required=False),  # per face corner, v up
         "texture": ArraySpec(("|u1",), ("max_side", "max_side", 3), required=False)},  # sRGB, row 0 = top
        job=True),
    "prepared": Schema({"message": Field("str", max_len=1000), "transforms": Field("object", null=True),
                        "fallback": Field("bool")},
                       {"verts": ArraySpec(("<f4",), ("max_vertices", 3), required=False),
                        "faces": ArraySpec(("<i4",), ("max_faces", 3), required=False)}),
    "ack": Schema({"state": Field("str", max_len=32)}),
    "error": Schema({"code": Field("str", max_len=64), "message": Field("str", max_len=1000)}),
}


def _bad(message: str, msg: Message) -> E.ProtocolError:
    return E.ProtocolError(E.BAD_REQUEST, message, msg.id, msg.job)


def check_views(msg: Message) -> None:
    """The cross-field checks of the views of a `submit` or `prepare`: one image source, at least one view,
    silhouettes in [0, 1], a transforms frame per view. Runs on both sides (the client refuses early)."""
    a = msg.arrays
    if ("silhouettes" in a) == ("images" in a):
        raise _bad("send exactly one of 'silhouettes' (N, H, W) or 'images' (N, H, W, 3|4)", msg)
    views = a["silhouettes"] if "silhouettes" in a else a["images"]
    n, h, w = views.shape[:3]
    if min(n, h, w) < 1:
        raise _bad(f"need at least one view of at least 1x1 pixels, got shape {views.shape}", msg)
    _check_backdrop(msg, views)
    if views.dtype == np.float32 and (views.min() < 0.0 or views.max() > 1.0):
        raise _bad("float silhouettes must lie in [0, 1]", msg)
    if "transforms" not in msg.body:  # a `prepare` that asks for SfM cameras instead
        return
    frames = msg.body["transforms"].get("frames")
    if not isinstance(frames, list) or len(frames) != n:
        got = len(frames) if isinstance(frames, list) else "no"
        raise _bad(f"transforms must hold one frame per view: {n} views but {got} frames", msg)


def _check_backdrop(msg: Message, views: np.ndarray) -> None:
    """A `backdrop` goes with silhouette "backdrop" and RGB `images` (segmented on the server), at their
    size; silhouette "backdrop" with RGB images needs one (a path in the method string is not read)."""
    method = str(msg.body.get("silhouette", "auto")).split(":", 1)[0]
    backdrop = msg.arrays.get("backdrop")
    segmented = "images" in msg.arrays and views.shape[-1] == 3
    if backdrop is None:
        if method == "backdrop" and segmented:
            raise _bad("silhouette 'backdrop' needs the 'backdrop' array: a photo of the empty scene taken "
                       "with the same camera, at the images' size", msg)
        return
    if method != "backdrop" or not segmented:
        raise _bad("'backdrop' (the empty scene) goes only with silhouette 'backdrop' and RGB 'images'", msg)
    if backdrop.shape[:2] != views.shape[1:3]:
        raise _bad(f"'backdrop' must be the empty scene at the images' size {views.shape[2]}x"
                   f"{views.shape[1]}, got {backdrop.shape[1]}x{backdrop.shape[0]}", msg)


def check_prepare(msg: Message, limits: Limits) -> None:
    """A `prepare` asks for something (an initial mesh, SfM cameras or both) and gets its cameras one way:
    `transforms`, or `cameras` (an SfM spec, which needs RGB `images`); then the views' checks."""
    b = msg.body
    if b.get("init") is None and b.get("cameras") is None:
        raise _bad("a prepare asks for 'init' (bbox|hull), 'cameras' (sfm[:...]) or both", msg)
    if b.get("cameras") is not None:
        if "transforms" in b:
            raise _bad("send either 'transforms' or 'cameras' (SfM estimates them), not both", msg)
        if "images" not in msg.arrays:
            raise _bad("SfM cameras need the RGB 'images', not only silhouettes", msg)
    elif "transforms" not in b:
        raise _bad("without 'cameras' (SfM), 'transforms' must give one camera per view", msg)
    check_views(msg)


def check_submit(msg: Message, limits: Limits) -> None:
    """The checks of a fit request that span fields: the views (`check_views`), then the initial mesh's
    counts and index ranges. Runs on both sides (the client refuses early)."""
    check_views(msg)
    a = msg.arrays
    verts, faces = a["verts"], a["faces"]
    if len(verts) < 3 or len(faces) < 1:
        raise _bad(f"the initial mesh needs >= 3 vertices and >= 1 face, got {len(verts)} and {len(faces)}",
                   msg)
    if faces.min() < 0 or faces.max() >= len(verts):
        raise _bad(f"face indices must lie in [0, {len(verts)})", msg)
    pinned = a.get("pinned")
    if pinned is not None and len(pinned) and (pinned.min() < 0 or pinned.max() >= len(verts)):
        raise _bad(f"pinned vertex indices must lie in [0, {len(verts)})", msg)
    photos = a.get("photos")
    if photos is not None:
        if "images" not in a:
            raise _bad("'photos' give a texture its colours at a larger size: they need the colour 'images'",
                       msg)
        views = a["images"]
        if len(photos) != len(views) or max(photos.shape[1:3]) <= max(views.shape[1:3]):
            raise _bad(f"'photos' must be the {len(views)} views at a larger size than the images' "
                       f"{views.shape[2]}x{views.shape[1]}, got shape {photos.shape}", msg)
