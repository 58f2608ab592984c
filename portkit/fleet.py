"""``portkit.fleet``: a large migration as per-namespace units run in parallel by Kubernetes (or Argo).

One :class:`portkit.Migration` runs in one process. For hundreds of namespaces, :func:`plan_fleet` splits the
namespaces into units (one namespace, or a batch) and generates the manifests that run ``portkit migrate``
for every unit on an engine you already have — no scheduler of portkit's own:

``jobs``
    one ``batch/v1`` Job per unit; every Job starts at once (queue them with Kueue: ``queue=``).
``indexed``
    one Indexed Job (``completionMode: Indexed``) whose ``parallelism`` limits how many units run at once,
    with per-index retries (``backoffLimitPerIndex``); a ConfigMap lists the units.
``argo``
    one Argo ``Workflow`` (a DAG with one task per unit, ``spec.parallelism``, a retry strategy).

Every unit runs with the source and target kubeconfigs mounted read-only from Secrets the user names (no
credential is ever in the generated YAML), and keeps its ``--workdir`` on a shared store, so a retried pod
continues from the unit's last completed step:

* ``workspace_pvc=``: a ReadWriteMany PersistentVolumeClaim (NFS, EFS, CephFS, an S3 CSI driver) mounted at
  ``/workspace``;
* ``bundle_store="s3://bucket/prefix"``: an S3-compatible bucket; an init container restores the unit's
  workdir, portkit runs, and the last container uploads it (credentials from ``s3_secret``).

The workdirs hold the exported Secrets. With ``key_secret=`` (a Secret holding a bundle key) every unit runs
``portkit migrate --key-file``, so the Secrets on the shared store are encrypted.

Layout, on the volume or under the bucket prefix::

    <fleet name>/<unit>/          the unit's portkit workdir: state.json, export/, translated/,
                                  translation.json, lint.json, plan.json, apply/, apply.json, verify.json
    <fleet name>/<unit>/report.json   the unit's migration report (``portkit migrate -o json``)
    <fleet name>/<unit>/exit-code     portkit's exit code (0 ok, 1 failed, 2 usage, 3 needs attention)

A unit is named after its namespace (``batch_size=1``) or ``batch-NNN``. Exit code 3 (migrated, with manual
actions or warnings) counts as success for the engine; the report says what needs attention. Exit code 2
(usage error) fails the unit at once: retrying cannot help.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import yaml

from portkit.display import html_table, text_table
from portkit.errors import ConfigurationError, PortkitError

__all__ = ["ENGINES", "SCRIPTS", "FleetPlan", "FleetUnit", "plan_fleet", "read_namespaces_file"]

log = logging.getLogger(__name__)

#: How a fleet runs its units: one Job per unit (``jobs``), one Indexed Job (``indexed``) or an Argo Workflow
#: (``argo``).
ENGINES: tuple[str, ...] = ("jobs", "indexed", "argo")

WORKSPACE = "/workspace"
SOURCE_DIR = "/etc/portkit/source"
TARGET_DIR = "/etc/portkit/target"
RULES_DIR = "/etc/portkit/rules"
KEY_DIR = "/etc/portkit/bundle-key"
UNITS_DIR = "/etc/portkit/units"
LABEL_FLEET = "portkit.io/fleet"
LABEL_UNIT = "portkit.io/unit"
DEFAULT_SYNC_IMAGE = "amazon/aws-cli:2.22.35"
#: Port on which every unit's ``portkit migrate`` serves its metrics (``--metrics-port``; the OpenTelemetry
#: Prometheus exporter's customary port).
DEFAULT_METRICS_PORT = 9464
DEFAULT_RESOURCES: dict[str, dict[str, str]] = {
    "requests": {"cpu": "250m", "memory": "512Mi"},
    "limits": {"memory": "2Gi"},
}

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_MAP_FLAGS = {"storage_classes": "storageclass", "images": "images", "zones": "zone", "node_pools": "nodepool"}

# The unit script. Positional arguments are the `portkit migrate` flags shared by every unit; the unit
# (UNIT, and NAMESPACES: "shop billing=billing-eu", old=new when mapped) comes from the environment, or for
# an Indexed Job from the line "UNIT NAMESPACES..." in $UNITS_DIR/unit-<index>.
_PRELUDE = """\
set -u
if [ -z "${UNIT:-}" ]; then
  read -r UNIT NAMESPACES < "$UNITS_DIR/unit-${JOB_COMPLETION_INDEX:-x}" || {
    echo "portkit-fleet: no unit ${JOB_COMPLETION_INDEX:-?} in $UNITS_DIR" >&2; exit 2; }
fi
WORKDIR="$WORKSPACE/$UNIT"
mkdir -p "$WORKDIR" || exit 1
"""
_MIGRATE = """\
if [ -n "${METRICS:-}" ]; then  # the unit's final metrics stay in its workdir; the unit labels every series
  set -- "$@" --metrics-file "$WORKDIR/metrics.prom" --metrics-label "unit=$UNIT"
fi
for ns in $NAMESPACES; do
  case "$ns" in
    *=*) set -- "$@" -n "${ns%%=*}" --namespace-map "$ns" ;;
    *) set -- "$@" -n "$ns" ;;
  esac
done
echo "portkit-fleet: unit $UNIT: migrating $NAMESPACES (workdir $WORKDIR)" >&2
portkit migrate --from-kubeconfig "$SOURCE_KUBECONFIG" --to-kubeconfig "$TARGET_KUBECONFIG" \\
  --workdir "$WORKDIR" -o json "$@" > "$WORKDIR/report.json"
rc=$?
echo "$rc" > "$WORKDIR/exit-code"
"""
_FINISH = """\
case "$rc" in
  0) echo "portkit-fleet: unit $UNIT migrated" >&2 ;;
  3) echo "portkit-fleet: unit $UNIT migrated; manual actions or warnings need attention: $WORKDIR/report.json" >&2
     rc=0 ;;
  *) echo "portkit-fleet: unit $UNIT failed (exit $rc); a retry continues from the last completed step" >&2 ;;
esac
exit "$rc"
"""
_RESTORE = """\
aws s3 sync "$BUNDLE_STORE/$UNIT/" "$WORKDIR/" --only-show-errors || {
  echo "portkit-fleet: cannot read $BUNDLE_STORE/$UNIT/" >&2; exit 1; }
chmod -R a+rwX "$WORKSPACE"  # the pod's own emptyDir: writable by whatever user the portkit image runs as
"""
_UPLOAD = """\
aws s3 sync "$WORKDIR/" "$BUNDLE_STORE/$UNIT/" --only-show-errors || {
  echo "portkit-fleet: cannot write $BUNDLE_STORE/$UNIT/" >&2; exit 1; }
rc=$(cat "$WORKDIR/exit-code" 2>/dev/null || echo 1)
"""

#: The shell scripts of a unit's containers, by role (exposed for tests and for people reading the YAML).
SCRIPTS: dict[str, str] = {
    "migrate": _PRELUDE + _MIGRATE + _FINISH,
    "migrate-then-upload": _PRELUDE + _MIGRATE + "exit 0\n",
    "restore": _PRELUDE + _RESTORE,
    "upload": _PRELUDE + _UPLOAD + _FINISH,
}


class _Dumper(yaml.SafeDumper):
    """YAML with multi-line strings (the unit scripts) as readable ``|`` blocks."""


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_presenter)


def _dump(data: Any, *, many: bool = False) -> str:
    if many:
        return yaml.dump_all(data, Dumper=_Dumper, sort_keys=False, width=120)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=120)


@attrs.frozen
class FleetUnit:
    """One unit of a fleet: namespaces migrated together by one ``portkit migrate``.

    Attributes:
        name: the unit's name (its namespace, or ``batch-NNN``); the workdir is ``<fleet>/<name>``.
        namespaces: the source namespaces it migrates.
        job: the name of its Job (engine ``jobs``), Argo task (``argo``) or ``<job>#<index>`` (``indexed``).
        workdir: where its state is kept (a path on the volume or an ``s3://`` URL).
        targets: the namespaces they become in the target (the same names unless mapped).
    """

    name: str
    namespaces: tuple[str, ...]
    job: str
    workdir: str
    targets: tuple[str, ...] = ()

    def describe(self) -> str:
        """``shop→shop-eu billing``."""
        targets = self.targets or self.namespaces
        return " ".join(ns if ns == t else f"{ns}→{t}" for ns, t in zip(self.namespaces, targets, strict=True))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "name": self.name,
            "namespaces": list(self.namespaces),
            "targets": list(self.targets or self.namespaces),
            "job": self.job,
            "workdir": self.workdir,
        }


@attrs.define
class FleetPlan:
    """The manifests that run a migration as parallel units (see the module docstring).

    Attributes:
        name: the fleet's name (label ``portkit.io/fleet`` and the workdir root).
        engine: ``jobs``, ``indexed`` or ``argo``.
        namespace: the namespace the Jobs / Workflow run in (the kubeconfig Secrets must be there).
        units: the units, in order.
        manifests: every manifest to apply, in order (plain dicts).
        store: where the workdirs are (``pvc:<name>`` or the ``s3://`` URL).
        target_provider: the target provider the units migrate to.
        metrics_port: the port every unit pod serves its metrics on (None: no metrics).
    """

    name: str
    engine: str
    namespace: str
    units: list[FleetUnit]
    manifests: list[dict[str, Any]] = attrs.field(repr=False)
    store: str
    target_provider: str
    metrics_port: int | None = None

    @property
    def jobs(self) -> list[dict[str, Any]]:
        """The Job manifests (one per unit, or the one Indexed Job; empty for Argo)."""
        return [m for m in self.manifests if m.get("kind") == "Job"]

    @property
    def workflow(self) -> dict[str, Any] | None:
        """The Argo Workflow (engine ``argo``), else None."""
        return next((m for m in self.manifests if m.get("kind") == "Workflow"), None)

    @property
    def namespaces(self) -> list[str]:
        """Every source namespace, in unit order."""
        return [ns for unit in self.units for ns in unit.namespaces]

    @property
    def selector(self) -> str:
        """A label selector for everything the fleet runs: ``kubectl get jobs,pods -l <selector>``."""
        return f"{LABEL_FLEET}={self.name}"

    def __repr__(self) -> str:
        what = {"jobs": f"{len(self.jobs)} Jobs", "indexed": "1 Indexed Job", "argo": "1 Argo Workflow"}[self.engine]
        return (
            f"<FleetPlan {self.name}: {len(self.namespaces)} namespaces in {len(self.units)} units, {what} "
            f"→ {self.target_provider}>"
        )

    def to_text(self) -> str:
        """A terminal summary."""
        rows = [(u.name, u.job, u.describe(), u.workdir) for u in self.units]
        return "\n".join(
            [
                repr(self)[1:-1],
                f"Runs in namespace {self.namespace}; workdirs on {self.store}; select with -l {self.selector}",
                f"Metrics: port {self.metrics_port} of every unit pod (annotated prometheus.io/scrape), and "
                "metrics.prom in every workdir"
                if self.metrics_port
                else "Metrics: none (--no-metrics)",
                "",
                text_table(["unit", "job", "namespaces", "workdir"], rows, max_rows=50),
            ]
        )

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        rows = [(u.name, u.job, u.describe(), u.workdir) for u in self.units]
        return (
            f"<h4>{html.escape(repr(self))}</h4>"
            f"<p>Runs in namespace <code>{html.escape(self.namespace)}</code>; workdirs on "
            f"<code>{html.escape(self.store)}</code>; select with <code>-l {html.escape(self.selector)}</code></p>"
            + html_table(["unit", "job", "namespaces", "workdir"], rows)
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the manifests included)."""
        return {
            "name": self.name,
            "engine": self.engine,
            "namespace": self.namespace,
            "store": self.store,
            "target_provider": self.target_provider,
            "selector": self.selector,
            "metrics_port": self.metrics_port,
            "units": [u.to_dict() for u in self.units],
            "manifests": self.manifests,
        }

    def to_yaml(self) -> str:
        """Every manifest as one multi-document YAML (``kubectl apply -f -``)."""
        return _dump(self.manifests, many=True)

    def write(self, directory: str | Path) -> list[Path]:
        """Write one YAML file per manifest into ``directory`` (created); ``kubectl apply -f DIR`` applies them.

        Returns the files written, in apply order.
        """
        out = Path(directory)
        try:
            out.mkdir(parents=True, exist_ok=True)
            paths = []
            width = len(str(len(self.manifests)))
            for i, manifest in enumerate(self.manifests):
                kind = str(manifest["kind"]).lower()
                path = out / f"{i:0{width}d}-{kind}-{manifest['metadata']['name']}.yaml"
                path.write_text(_dump(manifest), encoding="utf-8")
                paths.append(path)
        except OSError as exc:
            raise ConfigurationError(f"cannot write the fleet manifests to {out}: {exc.strerror}.") from exc
        return paths


def read_namespaces_file(path: str | Path) -> list[str]:
    """Namespaces from a file: one per line (or several separated by spaces); ``#`` starts a comment."""
    from portkit._files import read_user_file

    try:
        data, _ = read_user_file(path)  # a regular file within the size limit: never a FIFO that hangs
        text = data.decode("utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read the namespaces file {path}: {exc.strerror}.") from exc
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"the namespaces file {path} is not UTF-8 text ({exc.reason}).") from None
    return [word for line in text.splitlines() for word in line.split("#", 1)[0].split()]


def _check_name(value: str, what: str) -> str:
    if not isinstance(value, str) or not _DNS_LABEL.match(value) or len(value) > 63:
        raise ConfigurationError(
            f"{what} {value!r} is not a valid name.",
            hint="Use lower-case letters, digits and '-', at most 63 characters, starting and ending alphanumeric.",
        )
    return value


def _short_name(prefix: str, unit: str, limit: int = 63) -> str:
    name = f"{prefix}-{unit}"
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(unit.encode()).hexdigest()[:6]
    keep = limit - len(prefix) - len(digest) - 2
    return f"{prefix}-{unit[:keep].rstrip('-')}-{digest}"


def _map_flags(mappings: Mapping[str, Any] | None, maps: Sequence[str]) -> list[str]:
    """``--map`` values from a mappings dict and CLI-style flags (validated like ``portkit migrate`` does)."""
    from portkit.translate.mappings import Mappings, parse_map_flags

    flags = list(maps)
    if mappings:
        m = Mappings.from_value(mappings)
        for key, flag in _MAP_FLAGS.items():
            flags += [f"{flag}:{old}={new}" for old, new in getattr(m, key).items()]
        if m.ingress_class:
            flags.append(f"ingressclass:{m.ingress_class}")
        flags += [f"pullsecret:{name}" for name in m.image_pull_secrets]
    parse_map_flags(flags)  # raises on a malformed flag now, not in every pod later
    return flags


def _units(namespaces: Sequence[str], batch_size: int) -> list[tuple[str, tuple[str, ...]]]:
    if batch_size == 1:
        return [(ns, (ns,)) for ns in namespaces]
    batches = [tuple(namespaces[i : i + batch_size]) for i in range(0, len(namespaces), batch_size)]
    width = max(3, len(str(len(batches) - 1)))
    return [(f"batch-{i:0{width}d}", batch) for i, batch in enumerate(batches)]


def plan_fleet(
    namespaces: Iterable[str],
    *,
    image: str,
    source_secret: str,
    target_secret: str,
    to_provider: str,
    from_provider: str | None = None,
    workspace_pvc: str | None = None,
    bundle_store: str | None = None,
    s3_secret: str | None = None,
    s3_endpoint: str | None = None,
    sync_image: str = DEFAULT_SYNC_IMAGE,
    engine: str = "jobs",
    batch_size: int = 1,
    parallelism: int | None = None,
    name: str = "portkit-fleet",
    job_namespace: str = "portkit",
    kubeconfig_key: str = "kubeconfig",
    source_context: str | None = None,
    target_context: str | None = None,
    namespace_map: Mapping[str, str] | None = None,
    mappings: Mapping[str, Any] | None = None,
    maps: Sequence[str] = (),
    rules_configmap: str | None = None,
    volumes: str | None = None,
    timeout: float | None = None,
    extra_args: Sequence[str] = (),
    resources: Mapping[str, Any] | None = None,
    backoff_limit: int = 3,
    active_deadline_seconds: int | None = None,
    ttl_seconds_after_finished: int | None = None,
    service_account: str | None = None,
    queue: str | None = None,
    labels: Mapping[str, str] | None = None,
    image_pull_secrets: Sequence[str] = (),
    key_secret: str | None = None,
    key_secret_key: str = "key",
    metrics_port: int | None = DEFAULT_METRICS_PORT,
) -> FleetPlan:
    """Split a migration into units and generate the manifests that run them (see the module docstring).

    Args:
        namespaces: the source namespaces (each appears in exactly one unit).
        image: a container image with ``portkit`` on its PATH and ``/bin/sh``.
        source_secret / target_secret: Secrets in ``job_namespace`` holding the source / target kubeconfig
            under ``kubeconfig_key``. Use kubeconfigs with tokens or client certificates: exec plugins
            (``aws eks get-token``) need their binaries in ``image``.
        to_provider / from_provider: ``--to`` / ``--from`` of ``portkit migrate`` (``from``: detected).
        workspace_pvc: a ReadWriteMany PVC in ``job_namespace`` for the workdirs; or
        bundle_store: ``s3://bucket/prefix`` on an S3-compatible store, with ``s3_secret`` (a Secret with
            ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY``), ``s3_endpoint`` (for non-AWS stores) and
            ``sync_image`` (an image with the ``aws`` CLI v2 and ``/bin/sh``).
        engine: ``jobs``, ``indexed`` or ``argo``.
        batch_size: namespaces per unit (one ``portkit migrate`` each).
        parallelism: units running at once (``indexed`` and ``argo``; Jobs all start at once: use ``queue``).
        name: the fleet's name: label value, Job name prefix, workdir root.
        job_namespace: where the Jobs / Workflow run.
        source_context / target_context: kubeconfig contexts (default: each file's current context).
        namespace_map: ``{"shop": "shop-eu"}``; each unit gets the entries of its namespaces.
        mappings / maps: translation overrides as a dict or as ``--map`` flags (``images:OLD=NEW``).
        rules_configmap: a ConfigMap in ``job_namespace`` with the rules file under key ``rules.yaml``.
        volumes: ``"velero"`` to move volume data (both clusters need Velero and a shared location).
        timeout: readiness timeout per unit, seconds.
        extra_args: more ``portkit migrate`` flags (``--no-wait``, ``-l app=x``, ...).
        resources: the container's resources (default: requests 250m CPU / 512Mi, limit 2Gi memory).
        backoff_limit: retries of a failed unit (each retry continues from the last completed step).
        active_deadline_seconds / ttl_seconds_after_finished: passed to the Job (Workflow: ``activeDeadlineSeconds``
            and ``ttlStrategy``).
        service_account: the pods' ServiceAccount (the default one otherwise; no token is mounted either way).
        queue: a Kueue LocalQueue name: Jobs are created suspended and admitted by Kueue.
        labels: extra labels on every manifest and pod.
        image_pull_secrets: Secrets for pulling ``image``.
        key_secret: a Secret in ``job_namespace`` holding a bundle key (:func:`portkit.bundle.generate_key`)
            under ``key_secret_key``: mounted read-only and passed as ``--key-file``, so the exported and
            translated Secrets in the workdirs are encrypted. The key never appears in the generated YAML.
        metrics_port: every unit serves its Prometheus metrics on this port of its pod (``--metrics-port``,
            on all the pod's addresses), with ``prometheus.io/scrape|port|path`` annotations on the pod and a
            container port ``metrics``, labels ``fleet`` and ``unit`` on every series, and writes them to
            ``metrics.prom`` in its workdir. None: no metrics.

    Raises:
        ConfigurationError: a missing or invalid option (named in the message).
    """
    ns_list = list(dict.fromkeys(namespaces))
    if not ns_list:
        raise ConfigurationError("the fleet has no namespaces.", hint="Give namespaces (-n or --namespaces-file).")
    for ns in ns_list:
        _check_name(ns, "namespace")
    for value, what in (
        (name, "fleet name"),
        (job_namespace, "job namespace"),
        (source_secret, "source Secret"),
        (target_secret, "target Secret"),
    ):
        _check_name(value, what)
    if not image:
        raise ConfigurationError("the fleet needs an image with portkit in it.", hint="Pass image= (--image).")
    if engine not in ENGINES:
        raise ConfigurationError(f"unknown engine {engine!r}.", hint=f"Use one of {', '.join(ENGINES)}.")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigurationError(f"batch_size must be a positive integer, not {batch_size!r}.")
    if parallelism is not None and (not isinstance(parallelism, int) or parallelism < 1):
        raise ConfigurationError(f"parallelism must be a positive integer, not {parallelism!r}.")
    if parallelism is not None and engine == "jobs":
        raise ConfigurationError(
            "engine 'jobs' starts every Job at once, so it cannot limit parallelism.",
            hint="Use engine 'indexed' or 'argo' with parallelism, or engine 'jobs' with a Kueue queue.",
        )
    if queue is not None and engine == "argo":
        raise ConfigurationError("queue (Kueue) applies to Jobs.", hint="Use engine 'jobs' or 'indexed'.")
    if (workspace_pvc is None) == (bundle_store is None):
        raise ConfigurationError(
            "the fleet needs one shared store for the workdirs: workspace_pvc= or bundle_store=.",
            hint="Give a ReadWriteMany PVC (--workspace-pvc) or an s3:// URL (--bundle-store), not both.",
        )
    if workspace_pvc is not None:
        _check_name(workspace_pvc, "workspace PVC")
    if bundle_store is not None:
        if not re.match(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", bundle_store):
            raise ConfigurationError(f"bundle_store {bundle_store!r} is not an s3://bucket[/prefix] URL.")
        if s3_secret is None:
            raise ConfigurationError(
                "bundle_store needs s3_secret=: a Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.",
                hint="Credentials never go into the generated YAML.",
            )
        _check_name(s3_secret, "S3 Secret")
    if volumes not in (None, "velero"):
        raise ConfigurationError(f"volumes={volumes!r} is not supported.", hint='Use None or "velero".')
    if backoff_limit < 0:
        raise ConfigurationError("backoff_limit must be 0 or more.")
    if metrics_port is not None and (not isinstance(metrics_port, int) or not 0 < metrics_port < 65536):
        raise ConfigurationError(
            f"metrics_port must be a port number (1-65535), not {metrics_port!r}.",
            hint="Or None (CLI: --no-metrics) for units without metrics.",
        )
    nsmap = {}
    if namespace_map:
        from portkit.replay.nsmap import parse_namespace_map

        nsmap = parse_namespace_map(namespace_map)
        unknown = sorted(set(nsmap) - set(ns_list))
        if unknown:
            raise ConfigurationError(f"namespace_map names namespaces the fleet does not migrate: {unknown}.")
    try:
        map_flags = _map_flags(mappings, maps)
        from portkit.profiles import resolve

        for provider in filter(None, (to_provider, from_provider)):
            resolve(provider)  # an unknown provider fails here, not in every pod later
    except ConfigurationError:
        raise
    except PortkitError as exc:
        raise ConfigurationError(str(exc)) from exc

    common = ["--to", to_provider]
    if from_provider:
        common += ["--from", from_provider]
    if source_context:
        common += ["--from-context", source_context]
    if target_context:
        common += ["--to-context", target_context]
    if volumes:
        common += ["--volumes", volumes]
    if timeout is not None:
        common += ["--timeout", f"{timeout:g}"]
    for flag in map_flags:
        common += ["--map", flag]
    if rules_configmap:
        _check_name(rules_configmap, "rules ConfigMap")
        common += ["--rules", f"{RULES_DIR}/rules.yaml"]
    if key_secret:
        _check_name(key_secret, "key Secret")
        if not re.match(r"^[-._a-zA-Z0-9]+$", key_secret_key):
            raise ConfigurationError(f"key_secret_key {key_secret_key!r} is not a valid Secret key.")
        common += ["--key-file", f"{KEY_DIR}/{key_secret_key}"]
    if metrics_port is not None:  # --metrics-file and the unit label are added per unit by the script
        common += [
            "--metrics-port",
            str(metrics_port),
            "--metrics-address",
            "0.0.0.0",
            "--metrics-label",
            f"fleet={name}",
        ]
    reserved = {
        "-n",
        "--namespace",
        "--workdir",
        "-o",
        "--output",
        "--namespace-map",
        "--from-kubeconfig",
        "--to-kubeconfig",
        *(["--key-file"] if key_secret else []),
        *(["--metrics-port", "--metrics-address", "--metrics-file", "--metrics-label"] if metrics_port else []),
    }
    clash = sorted({a.split("=", 1)[0] for a in extra_args} & reserved)
    if clash:
        raise ConfigurationError(f"extra_args may not set {', '.join(clash)}: the fleet sets them per unit.")
    common += list(extra_args)

    base_labels = {
        "app.kubernetes.io/name": "portkit",
        "app.kubernetes.io/component": "migration",
        "app.kubernetes.io/managed-by": "portkit-fleet",
        LABEL_FLEET: name,
        **dict(labels or {}),
    }
    store_root = f"{bundle_store.rstrip('/')}/{name}" if bundle_store else f"{WORKSPACE}/{name}"
    store = f"pvc:{workspace_pvc}" if workspace_pvc else str(bundle_store)
    units = _units(ns_list, batch_size)
    builder = _PodBuilder(
        image=image,
        sync_image=sync_image,
        name=name,
        workspace_pvc=workspace_pvc,
        bundle_store=bundle_store,
        s3_secret=s3_secret,
        s3_endpoint=s3_endpoint,
        source_secret=source_secret,
        target_secret=target_secret,
        kubeconfig_key=kubeconfig_key,
        rules_configmap=rules_configmap,
        resources=resources,
        service_account=service_account,
        image_pull_secrets=list(image_pull_secrets),
        key_secret=key_secret,
        key_secret_key=key_secret_key,
        metrics_port=metrics_port,
    )

    def unit_words(unit_ns: Sequence[str]) -> str:
        """The unit's namespaces for the script: ``shop=shop-eu billing`` (``old=new`` when mapped)."""
        return " ".join(f"{ns}={nsmap[ns]}" if ns in nsmap else ns for ns in unit_ns)

    def targets(unit_ns: Sequence[str]) -> tuple[str, ...]:
        return tuple(nsmap.get(ns, ns) for ns in unit_ns)

    job_opts: dict[str, Any] = {
        "backoff_limit": backoff_limit,
        "deadline": active_deadline_seconds,
        "ttl": ttl_seconds_after_finished,
        "queue": queue,
        "exit_container": builder.exit_container,
        "annotations": builder.pod_annotations,
    }
    manifests: list[dict[str, Any]] = []
    if engine == "jobs":
        plan_units = []
        for unit, unit_ns in units:
            job_name = _short_name(name, unit)
            pod = builder.pod_spec(common, {"UNIT": unit, "NAMESPACES": unit_words(unit_ns)})
            manifests.append(_job(job_name, job_namespace, {**base_labels, LABEL_UNIT: unit}, pod, **job_opts))
            plan_units.append(FleetUnit(unit, unit_ns, job_name, f"{store_root}/{unit}", targets(unit_ns)))
    elif engine == "indexed":
        cm_name = _short_name(name, "units")
        manifests.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": cm_name, "namespace": job_namespace, "labels": dict(base_labels)},
                "data": {f"unit-{i}": f"{unit} {unit_words(unit_ns)}\n" for i, (unit, unit_ns) in enumerate(units)},
            }
        )
        job = _job(
            name,
            job_namespace,
            base_labels,
            builder.pod_spec(common, {}, units_configmap=cm_name),
            per_index=True,
            **job_opts,
        )
        job["spec"].update(
            {
                "completionMode": "Indexed",
                "completions": len(units),
                "parallelism": min(parallelism or len(units), len(units)),
            }
        )
        manifests.append(job)
        plan_units = [
            FleetUnit(unit, unit_ns, f"{name}#{i}", f"{store_root}/{unit}", targets(unit_ns))
            for i, (unit, unit_ns) in enumerate(units)
        ]
    else:
        items = [{"unit": unit, "namespaces": unit_words(unit_ns)} for unit, unit_ns in units]
        manifests.append(
            _workflow(
                name,
                job_namespace,
                base_labels,
                builder,
                common,
                items,
                parallelism=parallelism,
                backoff_limit=backoff_limit,
                deadline=active_deadline_seconds,
                ttl=ttl_seconds_after_finished,
            )
        )
        plan_units = [
            FleetUnit(unit, unit_ns, f"{name}(unit:{unit})", f"{store_root}/{unit}", targets(unit_ns))
            for unit, unit_ns in units
        ]
    return FleetPlan(
        name=name,
        engine=engine,
        namespace=job_namespace,
        units=plan_units,
        manifests=manifests,
        store=store,
        target_provider=to_provider,
        metrics_port=metrics_port,
    )


@attrs.frozen
class _PodBuilder:
    """Builds the pod spec of a unit (shared by the three engines)."""

    image: str
    sync_image: str
    name: str
    workspace_pvc: str | None
    bundle_store: str | None
    s3_secret: str | None
    s3_endpoint: str | None
    source_secret: str
    target_secret: str
    kubeconfig_key: str
    rules_configmap: str | None
    resources: Mapping[str, Any] | None
    service_account: str | None
    image_pull_secrets: list[str]
    key_secret: str | None = None
    key_secret_key: str = "key"
    metrics_port: int | None = None

    @property
    def pod_annotations(self) -> dict[str, str]:
        """The annotations of a unit's pod: where Prometheus scrapes its metrics (the common convention)."""
        if self.metrics_port is None:
            return {}
        return {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(self.metrics_port),
            "prometheus.io/path": "/metrics",
        }

    @property
    def exit_container(self) -> str:
        """The container whose exit code is the unit's."""
        return "upload" if self.bundle_store else "migrate"

    def env(self, unit_env: Mapping[str, str], *, units: bool, s3: bool = False) -> list[dict[str, Any]]:
        """The containers' environment: the unit, where things are mounted, the store."""
        env = [{"name": k, "value": v} for k, v in unit_env.items()]
        env += [
            {"name": "WORKSPACE", "value": f"{WORKSPACE}/{self.name}"},
            {"name": "SOURCE_KUBECONFIG", "value": f"{SOURCE_DIR}/{self.kubeconfig_key}"},
            {"name": "TARGET_KUBECONFIG", "value": f"{TARGET_DIR}/{self.kubeconfig_key}"},
            {"name": "PYTHONUNBUFFERED", "value": "1"},
        ]
        if units:
            env.append({"name": "UNITS_DIR", "value": UNITS_DIR})
        if self.metrics_port is not None and not s3:
            env.append({"name": "METRICS", "value": "1"})
        if s3:
            env.append({"name": "BUNDLE_STORE", "value": f"{str(self.bundle_store).rstrip('/')}/{self.name}"})
            if self.s3_endpoint:
                env.append({"name": "AWS_ENDPOINT_URL", "value": self.s3_endpoint})
        return env

    def volumes(self, units_configmap: str | None) -> list[dict[str, Any]]:
        """The pod's volumes: workspace, the two kubeconfig Secrets, the units and rules ConfigMaps."""

        def kubeconfig(volume: str, secret: str) -> dict[str, Any]:
            # 0444: readable by whatever user the image runs as; the mount is private to the pod
            return {
                "name": volume,
                "secret": {
                    "secretName": secret,
                    "defaultMode": 0o444,
                    "items": [{"key": self.kubeconfig_key, "path": self.kubeconfig_key}],
                },
            }

        volumes: list[dict[str, Any]] = [
            {"name": "workspace", "persistentVolumeClaim": {"claimName": self.workspace_pvc}}
            if self.workspace_pvc
            else {"name": "workspace", "emptyDir": {}},
            kubeconfig("source-kubeconfig", self.source_secret),
            kubeconfig("target-kubeconfig", self.target_secret),
        ]
        if units_configmap:
            volumes.append({"name": "units", "configMap": {"name": units_configmap}})
        if self.rules_configmap:
            volumes.append({"name": "rules", "configMap": {"name": self.rules_configmap}})
        if self.key_secret:
            volumes.append(
                {
                    "name": "bundle-key",
                    "secret": {
                        "secretName": self.key_secret,
                        "defaultMode": 0o444,  # like the kubeconfigs: any image user; private to the pod
                        "items": [{"key": self.key_secret_key, "path": self.key_secret_key}],
                    },
                }
            )
        return volumes

    def containers(
        self, args: Sequence[str], unit_env: Mapping[str, str], *, units: bool
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """``(init containers, containers)`` of a unit's pod."""
        workspace = {"name": "workspace", "mountPath": WORKSPACE}
        unit_mounts = [{"name": "units", "mountPath": UNITS_DIR, "readOnly": True}] if units else []
        mounts = [
            workspace,
            {"name": "source-kubeconfig", "mountPath": SOURCE_DIR, "readOnly": True},
            {"name": "target-kubeconfig", "mountPath": TARGET_DIR, "readOnly": True},
            *unit_mounts,
        ]
        if self.rules_configmap:
            mounts.append({"name": "rules", "mountPath": RULES_DIR, "readOnly": True})
        if self.key_secret:
            mounts.append({"name": "bundle-key", "mountPath": KEY_DIR, "readOnly": True})
        security = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
        migrate = {
            "name": "migrate",
            "image": self.image,
            "command": ["/bin/sh", "-c"],
            "args": [SCRIPTS["migrate-then-upload" if self.bundle_store else "migrate"], "portkit-fleet", *args],
            "env": self.env(unit_env, units=units),
            "volumeMounts": mounts,
            "resources": {k: dict(v) for k, v in (self.resources or DEFAULT_RESOURCES).items()},
            "securityContext": security,
        }
        if self.metrics_port is not None:
            migrate["ports"] = [{"name": "metrics", "containerPort": self.metrics_port, "protocol": "TCP"}]
        if not self.bundle_store:
            return [], [migrate]
        s3 = {
            "image": self.sync_image,
            "command": ["/bin/sh", "-c"],
            "env": self.env(unit_env, units=units, s3=True),
            "envFrom": [{"secretRef": {"name": self.s3_secret}}],
            "volumeMounts": [workspace, *unit_mounts],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
            "securityContext": security,
        }
        restore = {"name": "restore", **s3, "args": [SCRIPTS["restore"], "portkit-fleet"]}
        upload = {"name": "upload", **s3, "args": [SCRIPTS["upload"], "portkit-fleet"]}
        return [restore, migrate], [upload]

    def pod_spec(
        self, args: Sequence[str], unit_env: Mapping[str, str], *, units_configmap: str | None = None
    ) -> dict[str, Any]:
        """The pod spec running one unit (``unit_env``: UNIT and NAMESPACES; empty for an Indexed Job)."""
        init, main = self.containers(args, unit_env, units=units_configmap is not None)
        spec: dict[str, Any] = {"restartPolicy": "Never", "automountServiceAccountToken": False}
        if self.service_account:
            spec["serviceAccountName"] = self.service_account
        if self.image_pull_secrets:
            spec["imagePullSecrets"] = [{"name": s} for s in self.image_pull_secrets]
        if init:
            spec["initContainers"] = init
        spec["containers"] = main
        spec["volumes"] = self.volumes(units_configmap)
        return spec


def _job(
    name: str,
    namespace: str,
    labels: Mapping[str, str],
    pod: dict[str, Any],
    *,
    backoff_limit: int,
    deadline: int | None,
    ttl: int | None,
    queue: str | None,
    exit_container: str,
    annotations: Mapping[str, str] | None = None,
    per_index: bool = False,
) -> dict[str, Any]:
    meta_labels = dict(labels)
    if queue:
        meta_labels["kueue.x-k8s.io/queue-name"] = queue
    spec: dict[str, Any] = {
        # exit 2 is a usage error (retrying cannot help); evictions and preemptions do not count as failures
        "podFailurePolicy": {
            "rules": [
                {
                    "action": "FailIndex" if per_index else "FailJob",
                    "onExitCodes": {"containerName": exit_container, "operator": "In", "values": [2]},
                },
                {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
            ]
        },
        "template": {
            "metadata": {"labels": dict(labels), **({"annotations": dict(annotations)} if annotations else {})},
            "spec": pod,
        },
    }
    spec["backoffLimitPerIndex" if per_index else "backoffLimit"] = backoff_limit
    if deadline is not None:
        spec["activeDeadlineSeconds"] = deadline
    if ttl is not None:
        spec["ttlSecondsAfterFinished"] = ttl
    if queue:
        spec["suspend"] = True  # Kueue admits (unsuspends) it
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": meta_labels},
        "spec": spec,
    }


def _workflow(
    name: str,
    namespace: str,
    labels: Mapping[str, str],
    builder: _PodBuilder,
    args: Sequence[str],
    items: list[dict[str, str]],
    *,
    parallelism: int | None,
    backoff_limit: int,
    deadline: int | None,
    ttl: int | None,
) -> dict[str, Any]:
    """An Argo Workflow: one DAG task fanned out over the units (``withItems``), one unit template."""
    init, main = builder.containers(
        args, {"UNIT": "{{inputs.parameters.unit}}", "NAMESPACES": "{{inputs.parameters.namespaces}}"}, units=False
    )
    unit_template: dict[str, Any] = {
        "name": "unit",
        "inputs": {"parameters": [{"name": "unit"}, {"name": "namespaces"}]},
        "metadata": {"labels": {**labels, LABEL_UNIT: "{{inputs.parameters.unit}}"}},
        # retry failures and errors, but not a usage error (exit 2)
        "retryStrategy": {
            "limit": str(backoff_limit),
            "retryPolicy": "Always",
            "expression": "asInt(lastRetry.exitCode) != 2",
        },
        "container": main[0],
    }
    if init:
        unit_template["initContainers"] = init
    fan_out = {
        "name": "unit",
        "template": "unit",
        "arguments": {
            "parameters": [
                {"name": "unit", "value": "{{item.unit}}"},
                {"name": "namespaces", "value": "{{item.namespaces}}"},
            ]
        },
        "withItems": items,
    }
    spec: dict[str, Any] = {
        "entrypoint": "migrate",
        "podMetadata": {
            "labels": dict(labels),
            **({"annotations": builder.pod_annotations} if builder.pod_annotations else {}),
        },
        "volumes": builder.volumes(None),
        "templates": [{"name": "migrate", "dag": {"tasks": [fan_out]}}, unit_template],
    }
    if parallelism is not None:
        spec["parallelism"] = parallelism
    if builder.service_account:
        spec["serviceAccountName"] = builder.service_account
    if builder.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": s} for s in builder.image_pull_secrets]
    if deadline is not None:
        spec["activeDeadlineSeconds"] = deadline
    if ttl is not None:
        spec["ttlStrategy"] = {"secondsAfterCompletion": ttl}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": spec,
    }
