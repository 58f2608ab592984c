"""``portkit completion bash|zsh|fish``: a shell completion script, generated from the argument parser."""

from __future__ import annotations

import argparse

from portkit.cli._common import EXIT_OK, Subparsers, write_out

__all__ = ["register", "run"]

_HOW = """\
load it in the current shell:   source <(portkit completion bash)      (zsh: the same with zsh)
                                portkit completion fish | source
install it for good:            portkit completion bash > ~/.local/share/bash-completion/completions/portkit
                                portkit completion zsh > "${fpath[1]}/_portkit"
                                portkit completion fish > ~/.config/fish/completions/portkit.fish"""


def register(subparsers: Subparsers) -> None:
    """Add the ``completion`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh, fish)",
        description="Print a completion script for the shell: subcommands, flags, their choices (providers, "
        "output formats, ...) and file names where a command takes files. It is generated from the same parser "
        "the command uses, so it always matches this version.",
        epilog=_HOW,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("shell", choices=["bash", "zsh", "fish"], help="the shell to complete in")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the script."""
    from portkit.cli import build_parser
    from portkit.cli._completion import generate

    write_out(generate(build_parser(), args.shell))
    return EXIT_OK
