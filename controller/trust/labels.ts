// ECK's labels on client-certificate Secrets (kept verbatim for compatibility).

export const CLIENT_CERTIFICATE_LABEL = "eck.k8s.elastic.co/client-certificate";
export const OWNER_NAME_LABEL = "eck.k8s.elastic.co/owner-name";
export const OWNER_NAMESPACE_LABEL = "eck.k8s.elastic.co/owner-namespace";
export const OWNER_KIND_LABEL = "eck.k8s.elastic.co/owner-kind";
/** Only owners from ECK's API groups (elasticsearch.k8s.elastic.co, kibana.k8s.elastic.co, ...) count. */
export const ECK_API_GROUP_SUFFIX = ".k8s.elastic.co";
