"""Move PersistentVolume data between clusters: the volume-mover protocol and the Velero driver.

```python
from portkit.volumes import VeleroMover
mover = VeleroMover(src, dst, data_path="fs-backup", source_provider="aws", target_provider="ionos")
result = mover.move(["shop"], namespace_map={"shop": "shop-eu"}, storage=translation)   # or a dict
result.volumes   # each claim: source class/size → target class/size, phase
```
"""

from portkit.volumes.base import (
    DATA_PATHS,
    ClaimChange,
    DataPath,
    ProgressCallback,
    StorageMapping,
    VolumeMover,
    VolumeProgress,
    claim_changes,
    storage_class_mapping,
)
from portkit.volumes.migrate import CLAIM_RESOURCES, migrate_volumes
from portkit.volumes.result import VolumeMoveResult, VolumeRow
from portkit.volumes.velero import VeleroCLI, VeleroMover, VeleroOperationError, parse_objects, refresh_volumes
from portkit.volumes.verify import DEFAULT_IMAGE, ClaimCheck, DataVerifyError, DataVerifyResult, verify_data

__all__ = [
    "CLAIM_RESOURCES",
    "DATA_PATHS",
    "DEFAULT_IMAGE",
    "ClaimChange",
    "ClaimCheck",
    "DataPath",
    "DataVerifyError",
    "DataVerifyResult",
    "ProgressCallback",
    "StorageMapping",
    "VeleroCLI",
    "VeleroMover",
    "VeleroOperationError",
    "VolumeMoveResult",
    "VolumeMover",
    "VolumeProgress",
    "VolumeRow",
    "claim_changes",
    "migrate_volumes",
    "parse_objects",
    "refresh_volumes",
    "storage_class_mapping",
    "verify_data",
]
