"""GitOps repositories translated in place: only the provider-specific values change.

>>> from portkit.gitops import translate_tree
>>> result = translate_tree("deploy/", source="aws", target="ionos", in_place=True)
>>> print(result.diff())            # a unified diff of every changed file
>>> print(result.to_markdown())     # a pull-request summary: changes, warnings, manual actions per file

Most platform teams keep their manifests in Git and let Argo CD or Flux apply them; for them a migration
is a reviewable change to the repository. :func:`translate_tree` reads every YAML file of a directory
(multi-document files, ``kind: List``, kustomize bases and overlays), translates the objects with the same
translators as :func:`portkit.translate`, and writes back only the values that change: comments, key
order, quoting, indentation, document markers, anchors and untouched files stay byte for byte. Objects
the target has no use for are removed with a comment where they were (or kept with a comment,
``keep_dropped=True``); objects the translation adds go into one new file. Helm charts are not edited:
they are translated through their rendered output (``helm template ... | portkit translate -``).
"""

from portkit.gitops.report import ChartReport, FileReport, TreeTranslation
from portkit.gitops.tree import ADDED_FILE, translate_tree, write_tree

__all__ = ["ADDED_FILE", "ChartReport", "FileReport", "TreeTranslation", "translate_tree", "write_tree"]
