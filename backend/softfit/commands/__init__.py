"""Sub-commands of the `softfit` CLI, one module each (see softfit.cli.COMMANDS)."""
