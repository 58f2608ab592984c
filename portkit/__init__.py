"""portkit: move Kubernetes workloads between clusters on different providers.

The public API is what ``__all__`` lists; everything else is internal and may change.
"""

from portkit import fleet
from portkit._version import __version__
from portkit.bundle import Bundle
from portkit.cluster import ApiResource, Cluster
from portkit.errors import (
    ApiError,
    ApplyError,
    BundleError,
    ClusterUnreachableError,
    ConfigurationError,
    ConflictError,
    ForbiddenError,
    GoneError,
    InvalidError,
    LocalClusterError,
    NotFoundError,
    PlanError,
    PortkitError,
    ServerError,
    ThrottledError,
    TranslationError,
    VolumeMoveError,
)
from portkit.export import ExportReport, export
from portkit.migration import Migration, MigrationEvent, MigrationReport
from portkit.model import ObjectRef
from portkit.profiles import Profile, providers
from portkit.replay import ApplyResult, Plan, VerifyResult, WaitResult, apply, plan, rollback, verify
from portkit.translate import (
    Change,
    ManualAction,
    Translation,
    TranslationWarning,
    Translator,
    register_translator,
    translate,
)
from portkit.volumes.verify import DataVerifyError, DataVerifyResult, verify_data

__all__ = [
    "ApiError",
    "ApiResource",
    "ApplyError",
    "ApplyResult",
    "Bundle",
    "BundleError",
    "Change",
    "Cluster",
    "ClusterUnreachableError",
    "ConfigurationError",
    "ConflictError",
    "DataVerifyError",
    "DataVerifyResult",
    "ExportReport",
    "ForbiddenError",
    "GoneError",
    "InvalidError",
    "LocalClusterError",
    "ManualAction",
    "Migration",
    "MigrationEvent",
    "MigrationReport",
    "NotFoundError",
    "ObjectRef",
    "Plan",
    "PlanError",
    "PortkitError",
    "Profile",
    "ServerError",
    "ThrottledError",
    "Translation",
    "TranslationError",
    "TranslationWarning",
    "Translator",
    "VerifyResult",
    "VolumeMoveError",
    "WaitResult",
    "__version__",
    "apply",
    "export",
    "fleet",
    "plan",
    "providers",
    "register_translator",
    "rollback",
    "translate",
    "verify",
    "verify_data",
]
