# moat's default authorization policy.
#
# Evaluated on every API request with `data.moat.authz.decision`. Input:
#   subject: { user, uid, local (bool: unix-socket peer on this host), groups }
#   method, path, body (the validated request)
#   facts: { image: { ref, digest, id, names, signature: { verified }, scan: { critical, high } },
#            run:   { privileged, cap_add: [..], mounts: [{ source, destination, readonly }],
#                     network_mode, user, read_only_rootfs, limits, ... }   (the user's choices)
#            spec:  the complete OCI runtime spec about to run }
#
# Stance: a local user may do anything to their own containers, except the handful of things that
# hand out the host (privileged, SYS_ADMIN and friends, mounting host system paths, host network)
# unless an administrator allow-lists the image in data.moat.exceptions. Remote (TCP) subjects
# must be listed in data.moat.remote_users. Tune with data, not by editing this file.
package moat.authz

import rego.v1

# Capabilities that are equivalent to root on the host.
dangerous_caps := {"SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "SYS_BOOT", "NET_ADMIN", "DAC_READ_SEARCH", "BPF", "ALL"}

# Host paths that must never be bind-mounted.
protected_paths := ["/", "/etc", "/proc", "/sys", "/dev", "/boot", "/root", "/var/run/docker.sock", "/run/containerd"]

default allow := false

allow if {
	subject_allowed
	count(deny) == 0
}

decision := {"allow": allow, "deny": deny}

subject_allowed if input.subject.local == true

subject_allowed if {
	input.subject.local != true
	input.subject.user in data.moat.remote_users
}

# The image may be excepted by glob, e.g. "registry.example.com/ops/*".
excepted(kind) if {
	some pattern in data.moat.exceptions[kind]
	glob.match(pattern, ["/"], input.facts.image.ref)
}

spec := object.get(input, ["facts", "run"], {})

deny contains "remote subject not allowed" if not subject_allowed

deny contains "privileged containers are not allowed" if {
	spec.privileged == true
	not excepted("privileged")
}

deny contains sprintf("capability %s is not allowed", [cap]) if {
	some c in object.get(spec, "cap_add", [])
	cap := trim_prefix(upper(c), "CAP_")
	cap in dangerous_caps
	not excepted("capabilities")
}

deny contains sprintf("mounting host path %s is not allowed", [m.source]) if {
	some m in object.get(spec, "mounts", [])
	clean := trim_suffix(m.source, "/")
	some p in protected_paths
	protected(clean, p)
	not excepted("mounts")
}

protected(src, p) if src == trim_suffix(p, "/")

protected(src, p) if {
	p != "/"
	startswith(src, concat("", [p, "/"]))
}

protected("", "/")

deny contains "host network is not allowed" if {
	spec.network_mode == "host"
	not excepted("host_network")
}

deny contains "running as root inside the container requires an exception" if {
	data.moat.require_non_root == true
	spec.user in {"", "0", "root"}
	not excepted("root")
}

# Rootless runc never calls setgroups: the caller's supplementary groups reach the container.
# List groups that must not (e.g. disk, docker, shadow) in data.moat.forbidden_groups.
deny contains sprintf("supplementary group %d of the caller would reach the container", [g]) if {
	input.action in {"container.run", "container.create", "container.start", "container.exec"}
	some g in object.get(input.subject, "groups", [])
	g in data.moat.forbidden_groups
}

deny contains "image signature could not be verified" if {
	data.moat.require_signature == true
	input.facts.image.signature.verified != true
}

deny contains sprintf("image has %d critical vulnerabilities (max %d)", [n, max_critical]) if {
	n := object.get(input, ["facts", "image", "scan", "critical"], 0)
	n > max_critical
}

default max_critical := 0

max_critical := data.moat.max_critical

deny contains sprintf("image reference %s is not allowed", [input.facts.image.ref]) if {
	some pattern in data.moat.blocked_images
	glob.match(pattern, ["/"], input.facts.image.ref)
}

deny contains sprintf("image digest %s is malformed", [d]) if {
	d := input.facts.image.digest
	not regex.match(`^sha256:[a-f0-9]{64}$`, d)
}
