"""Every `softfit` sub-command answers --help: argparse formats help strings with %, so a description
that says "3 % of the frame" broke `softfit dataset render --help` with a TypeError (round 17)."""

from __future__ import annotations

import argparse

import pytest

from softfit.cli import COMMANDS, build_parser, main


def _parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(path, parser) for `parser` and every sub-parser below it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_sub_command_formats_its_help(command):
    found = 0
    for path, parser in _parsers(build_parser([command])):
        text = parser.format_help()  # raises on a stray % in any help string
        assert text.startswith("usage: softfit"), path
        found += 1
    assert found >= 2  # softfit itself and the command


def test_dataset_render_help_names_every_scene(capsys):
    from softfit.dataset.suite import SCENES

    with pytest.raises(SystemExit) as exc:
        main(["dataset", "render", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in SCENES)
    assert "3 % of the frame" in " ".join(out.split())  # the escaped % prints as one
