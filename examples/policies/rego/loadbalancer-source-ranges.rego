# A LoadBalancer Service must say who may reach it: spec.loadBalancerSourceRanges (or the
# service.beta.kubernetes.io/load-balancer-source-ranges annotation). Without it, a target provider's
# load balancer is open to the whole internet. Rego v1 syntax, conftest's default package `main`.
package main

lb_annotation := "service.beta.kubernetes.io/load-balancer-source-ranges"

deny_open_loadbalancer contains msg if {
	input.kind == "Service"
	input.spec.type == "LoadBalancer"
	count(object.get(input.spec, "loadBalancerSourceRanges", [])) == 0
	not input.metadata.annotations[lb_annotation]
	msg := sprintf(
		"Service %s/%s is a LoadBalancer open to everyone: set spec.loadBalancerSourceRanges to the networks that may reach it",
		[input.metadata.namespace, input.metadata.name],
	)
}

warn_wide_source_range contains msg if {
	input.kind == "Service"
	input.spec.type == "LoadBalancer"
	some cidr in input.spec.loadBalancerSourceRanges
	cidr in {"0.0.0.0/0", "::/0"}
	msg := sprintf("Service %s/%s allows %s: that is everyone", [input.metadata.namespace, input.metadata.name, cidr])
}
