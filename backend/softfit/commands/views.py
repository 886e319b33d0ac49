"""`softfit views`: write the views of an input as SoftFit sees them, as a plain transforms.json dataset.

What is written: each view's photo (distortion removed, at the stored size or `--image-size`) as an RGBA
PNG whose alpha is its silhouette (from alpha, masks or segmentation), and the cameras (the input's own,
a turntable's, or structure from motion's) in `transforms.json`. Any input SoftFit reads becomes one the
Blender add-on reads too (it cannot decode videos, COLMAP models or HEIC photos itself), and what the
loading made of a capture can be looked at and edited in any image tool."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from softfit.commands.options import add_input_arguments
from softfit.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", metavar="DATA", help="any input `softfit fit` reads (folder, video, "
                        "transforms.json, COLMAP project, ALOI, SoftRas)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (must be empty or new)")
    parser.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    parser.add_argument("--object", type=int, default=None, help="object index in a SoftRas/ShapeNet .npz")
    add_input_arguments(parser.add_argument_group("input"))
    parser.set_defaults(image_size=0)  # as stored: the views keep their detail for the texture


def run(args: argparse.Namespace) -> int:
    from PIL import Image

    from softfit.cameras import transforms_dict
    from softfit.data.formats.transforms import SEGMENTED_KEY
    from softfit.data.load import load_dataset
    from softfit.data.silhouette import notes
    from softfit.report import atomic_folder, check_output_dir, json_safe

    check_output_dir(args.out, args.force)  # before any work (SfM and segmentation take a while)
    data = load_dataset(args.data, cameras=args.cameras, silhouette=args.silhouette,
                        image_size=args.image_size or None, object_index=args.object,
                        allow_outside_paths=args.allow_outside_paths)
    if data.images is None:
        raise InputError(f"{args.data} holds silhouettes only, no photos: there is nothing to write as views")
    alpha = np.round(np.clip(data.silhouettes, 0.0, 1.0) * 255).astype(np.uint8)
    with atomic_folder(args.out, args.force) as tmp:
        (tmp / "images").mkdir()
        paths = []
        for name, rgb, a in zip(data.names, data.images, alpha, strict=True):
            paths.append(f"images/{name}.png")
            Image.fromarray(np.dstack([rgb, a])).save(tmp / paths[-1])
        meta = transforms_dict(data.cameras, paths)
        seg = data.info.get("segmentation")
        if seg:  # the alpha is a segmentation's guess: a fit from these files must not call it accuracy
            meta[SEGMENTED_KEY] = json_safe(seg)
        (tmp / "transforms.json").write_text(json.dumps(meta, indent=2))
    for line in notes(data.info):
        print(line)
    print(f"{len(data)} views of {data.cameras.width}x{data.cameras.height} (alpha = the silhouette, from "
          f"{data.info.get('silhouette', 'the input')}) and their cameras in {Path(args.out).absolute()}"
          "/transforms.json" + ("; the alpha is segmented, so a fit from it measures agreement with the "
                                "segmentation, not accuracy" if data.info.get("segmentation") else ""))
    return 0
