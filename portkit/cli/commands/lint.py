"""``portkit lint``: what would not survive the move to a provider, without writing anything."""

from __future__ import annotations

import argparse
from typing import Any

import attrs

from portkit.cli._common import EXIT_ATTENTION, EXIT_FAILED, EXIT_OK, add_observe_flags, add_output_flag, emit
from portkit.cli.commands._policy import add_policy_flags
from portkit.cli.commands._translate_common import add_translate_flags, read_input, translate_options
from portkit.errors import ConfigurationError

__all__ = ["LintOutput", "register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``lint`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "lint",
        help="report what would not survive the move to a provider (writes nothing)",
        description="Translate in memory and report the changes, warnings, manual actions and any residue of "
        "the source provider left. The source is --from, else recorded in the bundle, else detected from "
        "the manifests. With --policy the translated objects are also checked against OPA/Rego and Gatekeeper "
        "policies. Exit 1 when a policy denies an object, 3 when something needs attention.",
    )
    add_translate_flags(parser)
    add_policy_flags(parser, override=False)
    add_output_flag(parser)
    add_observe_flags(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Lint the input against the target."""
    from portkit.translate import detect_source_evidence, lint_residue, source_of, translate

    bundle = read_input(args)
    source = args.source or source_of(bundle)
    evidence: list[str] = []
    if source is None:
        source, evidence = detect_source_evidence(bundle.objects)
    if source is None:
        raise ConfigurationError(
            "cannot tell which provider these manifests come from: nothing in them is specific to one provider.",
            hint="Name it with --from (see `portkit providers`).",
        )
    options = translate_options(args)
    t = translate(bundle, source=source, target=args.target, **options)
    residue = lint_residue(t, source, args.target, options["mappings"])
    t = attrs.evolve(t, residue=tuple(residue), source_evidence=tuple(evidence))
    policy = None
    if args.policies:
        from portkit.policy import check_policies

        policy = check_policies(t.bundle, args.policies, namespaces=args.policy_namespaces)
    emit(LintOutput(t, policy), args.output_format)
    if policy is not None and policy.denied:
        return EXIT_FAILED
    return EXIT_ATTENTION if t.needs_attention or (policy is not None and policy.needs_attention) else EXIT_OK


@attrs.frozen
class LintOutput:
    """What ``portkit lint`` prints: the translation report, and the policy check when ``--policy`` was given
    (JSON: the translation's keys plus ``policy``, null without ``--policy``)."""

    translation: Any
    policy: Any = None

    def to_dict(self) -> dict[str, Any]:
        """The translation's dict with a ``policy`` entry."""
        data: dict[str, Any] = self.translation.to_dict()
        data["policy"] = self.policy.to_dict() if self.policy is not None else None
        return data

    def to_text(self) -> str:
        """The translation report, then the policy findings per object."""
        text = str(self.translation.to_text() if hasattr(self.translation, "to_text") else self.translation)
        if self.policy is None:
            return text
        return text.rstrip("\n") + "\n\n" + str(self.policy.to_text())
