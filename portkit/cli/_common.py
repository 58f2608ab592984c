"""What every ``portkit`` subcommand uses: its flags, its output, its clusters, its progress, its exit codes.

A command module declares its flags with these helpers instead of ``parser.add_argument`` where one
exists, so every command looks and behaves the same::

    def register(subparsers):
        parser = subparsers.add_parser("thing", help="one line", description="A paragraph.")
        add_input_flags(parser)               # DIR|FILE|- positional and -f/--filename, stdin as -
        add_kube_flags(parser)                # --kubeconfig, --context
        add_output_dir_flag(parser)           # -d/--output-dir DIR (required=True to require it)
        add_timeout_flag(parser, default=600) # --timeout 10m (durations)
        add_dry_run_flag(parser)              # --dry-run[=server|client|none]
        add_key_value_flag(parser, "--label", metavar="KEY=VALUE", help="...")
        add_output_flag(parser)               # -o/--output text|json|yaml (always last)
        parser.set_defaults(func=run)

    def run(args) -> int:
        with connect(args) as cluster, progress("thing", clusters=[cluster]) as status:
            result = do_thing(cluster, on_progress=status.advance)
        emit(result, args.output_format)      # text (fitted, coloured on a terminal), json or yaml
        return EXIT_OK

The global flags (``--debug``, ``-v``, ``--log-format``, ``--no-color``) are added to every command by
:func:`portkit.cli.build_parser`; commands do not declare them. ``tests/unit/test_cli_conventions.py``
walks every command and fails when one breaks these conventions.

Exit codes: 0 success (:data:`EXIT_OK`), 1 failed (:data:`EXIT_FAILED`), 2 usage or bad input
(:data:`EXIT_USAGE`), 3 finished but with manual actions or warnings that need attention
(:data:`EXIT_ATTENTION`). A command returns 0, 1 or 3 itself; an error it raises is mapped by
:func:`exit_code_for`, by class: every :class:`portkit.errors.InputError` (a bad flag, kubeconfig, file or
bundle) exits 2, every other :class:`portkit.errors.PortkitError` exits 1. To make an error exit 2, derive
it from ``InputError`` (see :mod:`portkit.errors`); never match messages here.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeAlias

from portkit._duration import parse_duration
from portkit._kv import parse_key_values
from portkit.cli._input import STDIN, add_input_flags, input_identity, input_items, load_input
from portkit.cli._output import OUTPUT_FORMATS, emit, write_out
from portkit.cli._parser import PortkitParser, add_check
from portkit.cli._progress import Status, status, watch_cluster, write_err
from portkit.cli._term import highlight_plan, highlight_report
from portkit.errors import ConfigurationError, InputError

__all__ = [
    "DRY_RUN_MODES",
    "EXIT_ATTENTION",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PIPE",
    "EXIT_USAGE",
    "OUTPUT_FORMATS",
    "STDIN",
    "Status",
    "Subparsers",
    "add_check",
    "add_dry_run_flag",
    "add_input_flags",
    "add_key_file_flag",
    "add_key_value_flag",
    "add_kube_flags",
    "add_legacy_format_flags",
    "add_observe_flags",
    "add_output_dir_flag",
    "add_output_flag",
    "add_timeout_flag",
    "connect",
    "deprecated",
    "duration",
    "emit",
    "exit_code_for",
    "highlight_plan",
    "highlight_report",
    "input_identity",
    "input_items",
    "key_values",
    "load_input",
    "notice",
    "parse_map_flags",
    "progress",
    "read_key_file",
    "run_observed",
    "status",
    "write_err",
    "write_out",
]

#: What a command's ``register()`` gets: the subcommands of the ``portkit`` parser.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ATTENTION = 3
#: Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130
#: The reader of stdout went away (``portkit ... | head``): 128 + SIGPIPE, as shells report it.
EXIT_PIPE = 141

#: The values of ``--dry-run``.
DRY_RUN_MODES = ("server", "client", "none")


def exit_code_for(exc: BaseException) -> int:
    """The exit code for an error a command raised: 2 for bad input (:class:`~portkit.errors.InputError`), else 1."""
    return EXIT_USAGE if isinstance(exc, InputError) else EXIT_FAILED


# -- clusters --------------------------------------------------------------------------------------------
def add_kube_flags(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """``--kubeconfig`` and ``--context`` (with an optional prefix such as ``from-``)."""
    parser.add_argument(
        f"--{prefix}kubeconfig", metavar="PATH",
        help="kubeconfig file (default: like kubectl: $KUBECONFIG, else in a pod its service account, else "
        "~/.kube/config)",
    )  # fmt: skip
    parser.add_argument(f"--{prefix}context", metavar="NAME", help="kubeconfig context (default: current)")


@contextmanager
def connect(args: argparse.Namespace, prefix: str = "") -> Iterator[Any]:
    """The cluster named by ``--{prefix}kubeconfig``/``--{prefix}context``, for the block: retries and a
    server that does not answer are reported on stderr within a second, the requests show in the status
    line, and the connections are closed afterwards. Without either flag and without ``$KUBECONFIG``, in a
    pod: the pod's service account (:meth:`Cluster.auto`, as kubectl does)."""
    from portkit.cluster import Cluster

    dest = prefix.replace("-", "_")
    path, context = getattr(args, f"{dest}kubeconfig"), getattr(args, f"{dest}context")
    cluster = Cluster.in_cluster() if Cluster.in_a_pod(path, context) else Cluster.from_kubeconfig(path, context)
    try:
        with watch_cluster(cluster):
            current = status()
            if current is not None:
                current.watch(cluster)
            yield cluster
    finally:
        cluster.close()


# -- progress and notices --------------------------------------------------------------------------------
def progress(label: str, *, total: int | None = None, unit: str = "", clusters: Sequence[Any] = ()) -> Status:
    """A status line on stderr while a long step runs (only on a terminal): use it as a context manager;
    ``advance()``/``update()`` from any thread."""
    return Status(label, total=total, unit=unit, clusters=clusters)


def notice(message: str) -> None:
    """Tell the user something on stderr (``portkit: message``; a JSON record with ``--log-format json``)."""
    import logging

    logging.getLogger("portkit.cli").info(message)


# -- output ----------------------------------------------------------------------------------------------
class _OutputFormatAction(argparse.Action):
    """``-o/--output FORMAT``. On commands that once took ``-o DIR`` (``legacy_dir``), a value that is not a
    format is still taken as the output directory for one release, with a deprecation warning."""

    def __init__(self, option_strings: Sequence[str], dest: str, *, legacy_dir: bool = False, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.formats = OUTPUT_FORMATS
        self.legacy_dir = legacy_dir

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option_string: Any = None
    ) -> None:
        value = str(values)
        if value in self.formats:
            setattr(namespace, self.dest, value)
        elif self.legacy_dir:
            namespace._legacy_output_dir = value
            deprecated(
                namespace,
                f"-o {value}: -o/--output is the output format ({', '.join(self.formats)}); write the directory "
                f"with -d/--output-dir {value}. -o DIR still works in this release and will be an error in the next.",
            )
        else:
            parser.error(
                f"argument -o/--output: invalid choice: {value!r} (choose from {', '.join(self.formats)})"
                + ("; a directory goes to -d/--output-dir" if _has_output_dir(parser) else "")
            )


def _has_output_dir(parser: argparse.ArgumentParser) -> bool:
    return any("--output-dir" in a.option_strings for a in parser._actions)


def add_output_flag(parser: argparse.ArgumentParser, *, dest: str = "output_format", legacy_dir: bool = False
                    ) -> None:  # fmt: skip
    """``-o/--output text|json|yaml``: text for people, json/yaml (the result's ``to_dict()``) for machines.

    ``legacy_dir=True`` only for commands where ``-o`` once named a directory (export, translate, fleet).
    """
    parser.add_argument(
        "-o",
        "--output",
        dest=dest,
        action=_OutputFormatAction,
        legacy_dir=legacy_dir,
        default="text",
        metavar="{" + ",".join(OUTPUT_FORMATS) + "}",
        help="output format: text (default), json or yaml (for machines)",
    )


class _DeprecatedAlias(argparse.Action):
    """A flag kept for one release: stores its value under the new flag's dest and warns."""

    def __init__(self, option_strings: Sequence[str], dest: str, *, use: str, **kwargs: Any) -> None:
        kwargs["default"] = argparse.SUPPRESS  # the new flag's default stands
        super().__init__(option_strings, dest, **kwargs)
        self.use = use

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option_string: Any = None
    ) -> None:
        if self.choices is None or values in self.choices:
            setattr(namespace, self.dest, values)
        deprecated(namespace, f"{option_string} is deprecated: use {self.use}.")


def deprecated(namespace: argparse.Namespace, message: str) -> None:
    """Record a deprecation warning; it is printed once the command line is parsed."""
    namespace._deprecations = [*getattr(namespace, "_deprecations", []), message]


def add_output_dir_flag(
    parser: argparse.ArgumentParser,
    *,
    required: bool = False,
    help: str = "directory to write to",
    legacy: Sequence[str] = (),
) -> None:
    """``-d/--output-dir DIR``: where bundles or manifests are written (``args.output_dir``).

    ``required`` is checked after parsing (``-o DIR`` of :func:`add_output_flag` with ``legacy_dir`` counts);
    ``legacy`` names old spellings of the flag (``--out``) kept for one release with a deprecation warning.
    """
    action = parser.add_argument("-d", "--output-dir", dest="output_dir", metavar="DIR", help=help)
    action.required_after_parse = required  # type: ignore[attr-defined]  # shown as required in the reference
    for flag in legacy:
        parser.add_argument(flag, dest="output_dir", action=_DeprecatedAlias, use="-d/--output-dir",
                            help=argparse.SUPPRESS)  # fmt: skip

    def resolve(args: argparse.Namespace) -> str | None:
        legacy_value = getattr(args, "_legacy_output_dir", None)
        if legacy_value is not None:
            if args.output_dir and args.output_dir != legacy_value:
                return f"the output directory is given twice (-o {legacy_value} and -d {args.output_dir}): use -d"
            args.output_dir = legacy_value
        if required and not args.output_dir:
            return "the following arguments are required: -d/--output-dir"
        return None

    add_check(parser, resolve)


def add_legacy_format_flags(parser: argparse.ArgumentParser, *flags: str, dest: str = "output_format") -> None:
    """Old spellings of ``-o FORMAT`` (``--format``, ``--output-format``): accepted for one release, hidden, warned."""
    parser.add_argument(*flags, dest=dest, action=_DeprecatedAlias, use="-o/--output FORMAT",
                        choices=OUTPUT_FORMATS, help=argparse.SUPPRESS)  # fmt: skip


# -- values ----------------------------------------------------------------------------------------------
def duration(text: str) -> float:
    """argparse type of time flags: seconds (``600``) or a duration (``90s``, ``10m``, ``1h30m``)."""
    try:
        return parse_duration(text)
    except ConfigurationError:
        raise argparse.ArgumentTypeError(
            f"invalid duration {text!r}: give seconds (600) or a duration such as 90s, 10m, 1h30m"
        ) from None


def add_timeout_flag(
    parser: argparse.ArgumentParser,
    flag: str = "--timeout",
    *,
    default: float | None = 600,
    help: str = "how long to wait",
    positive: bool = True,
) -> None:
    """A time flag taking seconds or a duration (``10m``, ``1h30m``); ``default`` in seconds (or None)."""
    shown = f" (default {_short_duration(default)})" if default is not None else ""
    parser.add_argument(flag, type=duration, default=default, metavar="DURATION", help=f"{help}{shown}")
    if positive:
        dest = flag.lstrip("-").replace("-", "_")

        def check(args: argparse.Namespace) -> str | None:
            value = getattr(args, dest, None)
            return f"{flag} must be more than 0" if value is not None and value <= 0 else None

        add_check(parser, check)


def _short_duration(seconds: float) -> str:
    from portkit._duration import format_duration

    return format_duration(seconds)


def add_dry_run_flag(parser: argparse.ArgumentParser, *, help: str = "") -> None:
    """``--dry-run[=server|client|none]`` like kubectl: ``server`` sends every write as a server-side dry run,
    ``client`` only plans (nothing is sent but reads), ``none`` (default) writes. ``--dry-run`` alone is
    ``server``; the mode must be attached with ``=``."""
    text = help or (
        "server: every write is a server-side dry run; client: only show what would be written; "
        "none (default): write. --dry-run alone means server"
    )
    if isinstance(parser, PortkitParser):
        parser.add_equals_flag("--dry-run", bare="server", choices=DRY_RUN_MODES, default="none", help=text)
    else:  # pragma: no cover - every portkit parser is a PortkitParser
        parser.add_argument("--dry-run", choices=DRY_RUN_MODES, default="none", help=text)


def add_key_value_flag(
    parser: argparse.ArgumentParser, flag: str, *, metavar: str = "KEY=VALUE", help: str = "", dest: str | None = None
) -> None:
    """A repeatable ``KEY=VALUE`` flag (a list of strings in ``args``; parse it with :func:`key_values`)."""
    parser.add_argument(flag, dest=dest, action="append", default=[], metavar=metavar,
                        help=f"{help} (repeatable)" if help else "repeatable")  # fmt: skip


def key_values(items: Sequence[str], flag: str, *, form: str = "KEY=VALUE", example: str = "") -> dict[str, str]:
    """``KEY=VALUE`` flag values as a dict (the one parser, :mod:`portkit._kv`); a bad item is exit 2."""
    return parse_key_values(items, flag=flag, form=form, example=example)


def parse_map_flags(flags: list[str]) -> dict[str, Any]:
    """``--map KIND:OLD=NEW`` flags as translation mappings; a malformed flag is a usage error (exit 2)."""
    from portkit.errors import TranslationError
    from portkit.translate import parse_map_flags as parse

    try:
        return parse(flags)
    except TranslationError as exc:
        raise ConfigurationError(exc.message, hint=exc.hint or "See `portkit translate --help` for --map.") from exc


# -- bundle keys -----------------------------------------------------------------------------------------
def add_key_file_flag(parser: argparse.ArgumentParser, what: str = "read and write") -> None:
    """``--key-file PATH``: the key of bundles with encrypted Secrets (default ``$PORTKIT_BUNDLE_KEY``)."""
    parser.add_argument(
        "--key-file",
        metavar="PATH",
        help=f"file holding the bundle key, to {what} bundles with encrypted Secrets "
        "(default: $PORTKIT_BUNDLE_KEY; make one with python -c 'import portkit.bundle as b; print(b.generate_key())')",
    )


def read_key_file(path: str | None) -> str | None:
    """The key in ``--key-file`` (None when the flag was not given); the key itself is never shown."""
    if not path:
        return None
    try:
        key = Path(path).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not a key (not ASCII text)"
        raise ConfigurationError(f"Cannot read the key file {path}: {reason}.") from None
    if not key:
        raise ConfigurationError(f"The key file {path} is empty.", hint="Put the bundle key in it.")
    return key


def add_observe_flags(parser: argparse.ArgumentParser, *, serve: bool = False) -> None:
    """The metrics flags of a command that does work: ``--metrics-file``, ``--metrics-label`` and, for long
    runs (``serve=True``), ``--metrics-port`` / ``--metrics-address``. Traces need no flag: they follow the
    ``OTEL_*`` environment variables (see :mod:`portkit.observe`)."""
    group = parser.add_argument_group("metrics (Prometheus text format)")
    group.add_argument(
        "--metrics-file", metavar="PATH",
        help="write metrics in the Prometheus text format to PATH (atomically; at the start, after every step "
        "and at the end), e.g. for node-exporter's textfile collector (name it *.prom) or a Pushgateway",
    )  # fmt: skip
    group.add_argument(
        "--metrics-label", action="append", default=[], metavar="KEY=VALUE",
        help="constant label on every series, e.g. unit=shop (repeatable)",
    )  # fmt: skip
    if serve:
        group.add_argument(
            "--metrics-port", type=int, metavar="PORT",
            help="serve the metrics on http://ADDRESS:PORT/metrics while the command runs (0: any free port)",
        )  # fmt: skip
        group.add_argument(
            "--metrics-address", default="127.0.0.1", metavar="ADDRESS",
            help="address for --metrics-port (default 127.0.0.1; 0.0.0.0 in a pod that Prometheus scrapes)",
        )  # fmt: skip


def run_observed(args: argparse.Namespace) -> int:
    """Run the parsed command (``args.func``) observed as its metrics flags and the ``OTEL_*`` variables say."""
    from portkit.errors import ConfigurationError
    from portkit.observe import run_command
    from portkit.observe._metrics import parse_labels

    port = getattr(args, "metrics_port", None)
    if port is not None and not 0 <= port <= 65535:
        raise ConfigurationError(f"--metrics-port {port} is not a port number (0-65535).")
    if getattr(args, "metrics_label", None) and port is None and getattr(args, "metrics_file", None) is None:
        raise ConfigurationError(
            "--metrics-label labels metrics, but none are written or served.",
            hint="Add --metrics-file PATH (or --metrics-port PORT where the command has it).",
        )
    return run_command(
        str(getattr(args, "command", None) or "portkit"),
        lambda: int(args.func(args)),
        metrics_file=getattr(args, "metrics_file", None),
        metrics_port=port,
        metrics_address=getattr(args, "metrics_address", "127.0.0.1"),
        labels=parse_labels(getattr(args, "metrics_label", None) or []),
        announce=notice,
    )
