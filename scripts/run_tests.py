"""Runs the test suite and fails when pytest collects nothing (pytest's exit 5 would otherwise pass CI)."""

import sys

import pytest

code = pytest.main(["-q", *sys.argv[1:]])
if code == pytest.ExitCode.NO_TESTS_COLLECTED:
    print("error: no tests were collected", file=sys.stderr)
    sys.exit(1)
sys.exit(int(code))
