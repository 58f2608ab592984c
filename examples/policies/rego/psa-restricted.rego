# Every namespace enforces the Pod Security Standard "restricted" (Pod Security Admission labels).
# Written in the older Rego v0 syntax on purpose (no `if`/`contains`), the way many existing policy
# libraries are: portkit reads such files the way OPA's --v0-compatible mode does.
package psa

enforce_label := "pod-security.kubernetes.io/enforce"

deny[msg] {
	input.kind == "Namespace"
	not input.metadata.labels[enforce_label]
	msg := sprintf("Namespace %s has no %s label: set it to restricted", [input.metadata.name, enforce_label])
}

deny[msg] {
	input.kind == "Namespace"
	level := input.metadata.labels[enforce_label]
	level != "restricted"
	msg := sprintf("Namespace %s enforces Pod Security %q, not restricted", [input.metadata.name, level])
}

warn[msg] {
	input.kind == "Namespace"
	input.metadata.labels[enforce_label] == "restricted"
	not input.metadata.labels["pod-security.kubernetes.io/enforce-version"]
	msg := sprintf("Namespace %s: pin pod-security.kubernetes.io/enforce-version so a cluster upgrade does not change the rules", [input.metadata.name])
}
