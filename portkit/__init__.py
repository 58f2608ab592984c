"""portkit: move Kubernetes workloads between clusters on different providers.

The public API is what ``__all__`` lists; everything else is internal and may change.
"""

from portkit._version import __version__
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
from portkit.model import ObjectRef

__all__ = [
    "ApiError",
    "ApiResource",
    "ApplyError",
    "BundleError",
    "Cluster",
    "ClusterUnreachableError",
    "ConfigurationError",
    "ConflictError",
    "ForbiddenError",
    "GoneError",
    "InvalidError",
    "LocalClusterError",
    "NotFoundError",
    "ObjectRef",
    "PlanError",
    "PortkitError",
    "ServerError",
    "ThrottledError",
    "TranslationError",
    "VolumeMoveError",
    "__version__",
]
