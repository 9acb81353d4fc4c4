"""The Kubernetes API as the check and the actions use it, the way kubectl uses it.

- ``kubeconfig``: which cluster, user and namespace kubectl would pick (its merge rules);
- ``credentials``: exec plugins run here, failing loudly; no credential over plain HTTP;
- ``client``: the shared connection, a timeout on every call, errors in words;
- ``deployments``: kubectl's rules on Deployments and ReplicaSets (rollback.go);
- ``quantity``: resource quantities compared by value, as apimachinery does.
"""

from warroom.kube.client import (
    DEFAULT_NAMESPACE,
    DEFAULT_TIMEOUT,
    KubeClient,
    import_client,
    is_loopback,
    request_words,
    single_context,
    status_message,
)
from warroom.kube.deployments import (
    DIFF_LINES,
    REVISION,
    SKIPPED_ANNOTATIONS,
    TEMPLATE_HASH,
    NoRevision,
    Obj,
    choose_revision,
    controller_of,
    digest,
    image_text,
    images,
    revision_of,
    rollback_annotations,
    rollback_patch,
    same_template,
    selector_query,
    template_diff,
    without_hash,
)
from warroom.kube.kubeconfig import IN_CLUSTER_HOST, KubeUnavailable, Target, kubeconfig_files, locate

__all__ = [
    "DEFAULT_NAMESPACE", "DEFAULT_TIMEOUT", "DIFF_LINES", "IN_CLUSTER_HOST", "REVISION", "SKIPPED_ANNOTATIONS",
    "TEMPLATE_HASH", "KubeClient", "KubeUnavailable", "NoRevision", "Obj", "Target", "choose_revision",
    "controller_of", "digest", "image_text", "images", "import_client", "is_loopback", "kubeconfig_files",
    "locate", "request_words", "revision_of", "rollback_annotations", "rollback_patch", "same_template",
    "selector_query", "single_context", "status_message", "template_diff", "without_hash",
]
