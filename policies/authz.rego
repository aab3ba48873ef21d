# moat's default authorization policy.
#
# Evaluated on every API request with `data.moat.authz.decision`. Input:
#   subject: { user, uid, local (bool: the CLI or the unix socket on this host), groups }
#   method, path, action, params, body (the validated request)
#   facts: (run and create, and in the same shapes start and exec: image, run, spec, process, host)
#     image: { ref (as typed), reference (what it resolved to), names, repo_digests, repositories,
#              id, digest (manifest), signers (verified identities; empty = unverified),
#              signature: { accepted, verified, signatures, attestations: [{ predicate_type,
#                           predicate, signer, source }] (verified ones only), error },
#              scan: { critical, high, medium, low, fixable, secrets, hazards, permissions, config,
#                      packages, db: { version, age_days } | null, findings: [{ kind, rule,
#                      severity, path, package, fixed }] }   (run and create; see "scan thresholds") }
#     run:   { privileged, cap_add, mounts: [{ type (bind|volume), source (canonical), raw_source, destination,
#                                          readonly, name, anonymous (volumes) }],
#              network_mode (none|slirp4netns|pasta), ports: [{ host_ip, host_port (0: any free), container_port,
#              protocol }], dns, user, read_only_rootfs, limits,
#              seccomp: { profile, file, digest, default_action, rule_count, looser_than_default, loosened },
#              apparmor_profile (the profile runc applies; "unconfined" when asked for none; null: none),
#              landlock: { enabled, abi, mode (default|off|strict), writable, writable_files,
#                          net: { bind, connect } (TCP ports allowed, sorted; null: not restricted) } }
#     spec:  the complete OCI runtime spec about to run (start, exec and every other container
#            route: the container's stored spec)
#     process: { user (the UID as text), raw_user (exec -u as typed), uid, gid, additional_gids,
#                cmd, env, workdir, tty, capabilities, no_new_privileges }
#            the process about to run: the container's own (run, create, start), exec's command (exec)
#     container: { id, name, image, image_id, status, created, command, options, limits }
#            the container's record (every route that acts on an existing container)
#     host:  { protected_paths, protected_parents, protected_parents_rw,   (moat's own, computed at run time)
#              runtime: { name, version, package, unfixed }, supplementary_groups_reach_containers }
#     host_paths: [{ path (canonical), raw, use: read|write|mount, readonly }]   (every host path a request names;
#                 cp and export -o: the host side of the copy)
#     limits: { memory, memorySwap, pids, cpus, cpuQuota, cpuPeriod, cpusetCpus }   (bytes, CPUs, µs)
#            (container.update: the cgroup limits the container would have after the update)
#     containers: [ container records as in `container` ]   (container.prune: the ones it would remove)
#     target: { registry, repository, tag, digest, reference }   (image.pull, image.push)
#     listen, tls   (system.service)
#     apparmor.generate: a container's record and spec (CONTAINER), or the image and the spec a run
#            would get (--image: spec, planned), or nothing (--default)
#
# Stance: a local user may do anything to their own containers, except the things that hand out
# the host or moat itself (privileged, SYS_ADMIN and friends, host system paths, moat's state and
# the container engines' sockets, host network, a seccomp profile looser than moat's) unless an
# administrator excepts the image by digest in data.moat.exceptions. Remote (mutual TLS) subjects
# must be listed in data.moat.remote_users and get what this policy grants, not the owner's
# account: no host paths but bind mounts under data.moat.remote_mount_dirs. Tune with data.
package moat.authz

import rego.v1

# Capabilities that are equivalent to root on the host.
dangerous_caps := {"SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "SYS_BOOT", "NET_ADMIN", "DAC_READ_SEARCH", "BPF", "ALL"}

# Host paths that must never be bind-mounted, nor anything inside them (moat adds its own, and the
# container engines' sockets, as facts.host.protected_paths).
protected_paths := [
	"/", "/etc", "/proc", "/sys", "/dev", "/boot", "/root",
	"/run/docker.sock", "/var/run/docker.sock", "/run/containerd", "/var/run/containerd",
]

# Requests that act on the host as its owner: never for remote subjects.
local_only_actions := {"policy.eval", "policy.test", "policy.check", "system.service", "system.fsck", "image.sign", "image.attest", "key.generate"}

# Requests that use the owner's registry credentials: remote subjects only when granted in
# data.moat.remote_actions.
owner_account_actions := {"registry.login", "registry.logout", "image.push"}

default allow := false

allow if {
	subject_allowed
	count(deny) == 0
}

decision := {"allow": allow, "deny": deny}

local if input.subject.local == true

subject_allowed if local

subject_allowed if {
	not local
	input.subject.user in data.moat.remote_users
}

# What the container gets: the run summary of the container a request makes run. run and create
# describe the one about to be made, start and exec the one they act on (its recorded options and
# stored spec), so every rule below about what the container gets holds for all four actions: a
# container created under a looser policy is judged again when it starts or is exec'd into.
spec := object.get(input, ["facts", "run"], {})

# The process a request makes run: the container's own for run, create and start, the command
# exec starts for exec (exec -u 0 is a process as root). An input without it: the run summary.
process := object.get(input, ["facts", "process"], spec)

image := object.get(input, ["facts", "image"], {})

host := object.get(input, ["facts", "host"], {})

mounts := object.get(spec, "mounts", [])

# Bind mounts name host paths. Volume mounts name moat's volumes: directories under moat's data
# directory that moat makes from the volume's name (no client gives their path), so the host-path
# rules below judge binds only. A mount without a type is a bind (fail closed).
bind_mounts := [m | some m in mounts; object.get(m, "type", "bind") != "volume"]

deny contains "remote subject not allowed" if not subject_allowed

# ---- image identity ------------------------------------------------------------------------
# Exceptions name identities no user can create: a digest (the manifest digest or the image ID),
# a pinned reference NAME@sha256:… (its digest is what counts), or {"signer": ID} for a verified
# signer. Never a name: anyone can `moat tag` an image into an allow-listed name.
excepted(kind) if {
	some e in data.moat.exceptions[kind]
	exception_matches(e)
}

exception_matches(e) if {
	is_string(e)
	image_digests[digest_of(e)]
}

exception_matches(e) if {
	is_object(e)
	e.signer in object.get(image, "signers", [])
}

digest_of(e) := substring(e, indexof(e, "@") + 1, -1) if contains(e, "@")

digest_of(e) := e if not contains(e, "@")

image_digests contains d if {
	some k in ["digest", "id"]
	d := image[k]
	startswith(d, "sha256:")
}

# Every name and digest the image has: a blocklist matches any of them, so a blocked image is
# blocked under its ID, its sha256: form and every other tag.
deny contains sprintf("image %s is not allowed (blocked: %s)", [object.get(image, "ref", object.get(image, "id", "")), pattern]) if {
	some pattern in data.moat.blocked_images
	blocked(pattern)
}

blocked(pattern) if glob.match(pattern, ["/"], image.ref)

blocked(pattern) if glob.match(pattern, ["/"], image.id)

blocked(pattern) if glob.match(pattern, ["/"], image.digest)

blocked(pattern) if {
	some n in image.names
	glob.match(pattern, ["/"], n)
}

blocked(pattern) if {
	some n in image.repo_digests
	glob.match(pattern, ["/"], n)
}

blocked(pattern) if {
	some n in image.repositories
	glob.match(pattern, ["/"], n)
}

deny contains sprintf("image %s is not allowed (blocked: %s)", [t.reference, pattern]) if {
	input.action == "image.pull"
	t := input.facts.target
	some pattern in data.moat.blocked_images
	some n in [t.reference, concat("/", [t.registry, t.repository])]
	glob.match(pattern, ["/"], n)
}

deny contains sprintf("image digest %s is malformed", [d]) if {
	d := image.digest
	not regex.match(`^sha256:[a-f0-9]{64}$`, d)
}

# ---- what the container gets ---------------------------------------------------------------
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

deny contains "host network is not allowed" if {
	spec.network_mode == "host"
	not excepted("host_network")
}

deny contains "running as root inside the container requires an exception" if {
	data.moat.require_non_root == true
	as_root(process)
	not excepted("root")
}

# UID 0, or a user named as root and not resolved to a UID.
as_root(p) if p.uid == 0

as_root(p) if p.user in {"", "0", "root"}

# data.moat.require_apparmor: a container runs only under an AppArmor profile (facts.run's
# apparmor_profile: the profile in its OCI spec, process.apparmorProfile — moat-default where the
# host has it loaded, or --security-opt apparmor=NAME). None, or "unconfined", is refused unless
# the image is excepted for "apparmor". data.moat.allowed_apparmor_profiles (a list of names), when
# set, also names the only profiles a container may run under. Judged where a request makes a
# container run (facts.run: run, create, start, exec). The data flag is tested first: off, the
# rule costs one lookup.
deny contains "an AppArmor profile is required (data.moat.require_apparmor): load one on the host and run with --security-opt apparmor=NAME, or load moat-default" if {
	data.moat.require_apparmor == true
	input.facts.run
	not apparmor_confined
	not excepted("apparmor")
}

deny contains sprintf("AppArmor profile %s is not one of data.moat.allowed_apparmor_profiles", [p]) if {
	allowed := data.moat.allowed_apparmor_profiles
	is_array(allowed)
	input.facts.run
	apparmor_confined
	p := spec.apparmor_profile
	not p in allowed
	not excepted("apparmor")
}

apparmor_confined if {
	p := spec.apparmor_profile
	is_string(p)
	p != ""
	p != "unconfined"
}

# A custom seccomp profile that lets through anything moat's default profile blocks (for the same
# capabilities): refused unless its file's digest is in data.moat.seccomp_exceptions (or the image
# is excepted for "seccomp"). A summary that does not say is taken as looser.
deny contains sprintf("seccomp profile %s lets through what the default profile blocks (%s); to allow it, list its digest %s in data.moat.seccomp_exceptions", [object.get(sc, "raw_file", sc.profile), concat(", ", object.get(sc, "loosened", [])), object.get(sc, "digest", "(none)")]) if {
	sc := spec.seccomp
	seccomp_looser(sc)
	not seccomp_excepted(sc)
}

seccomp_looser(sc) if sc.looser_than_default == true

seccomp_looser(sc) if {
	sc.profile != "default"
	not is_boolean(sc.looser_than_default)
}

seccomp_excepted(sc) if sc.digest in data.moat.seccomp_exceptions

seccomp_excepted(_) if excepted("seccomp")

# A learning run (moat seccomp learn) lets every call through to record it: the owner's own tool
# for making a profile, on their machine. It writes the learned profile to a host path the
# request names, so it is for local subjects only.
seccomp_excepted(sc) if {
	sc.profile == "learning"
	local
}

deny contains "seccomp learning (moat seccomp learn, --seccomp-learn) is for local subjects only" if {
	not local
	spec.seccomp.profile == "learning"
}

# ---- host paths ----------------------------------------------------------------------------
# Mount sources are canonical (realpath); one that is not (//etc, /./proc, /tmp/../proc) did not
# come from moat's facts and is refused.
deny contains sprintf("mount source %s is not a canonical absolute path", [m.source]) if {
	some m in mounts
	not canonical(m.source)
}

canonical(p) if {
	startswith(p, "/")
	not contains(p, "//")
	not contains(p, "/./")
	not contains(p, "/../")
	not endswith(p, "/.")
	not endswith(p, "/..")
	not trailing_slash(p)
}

trailing_slash(p) if {
	p != "/"
	endswith(p, "/")
}

deny contains sprintf("mounting host path %s is not allowed", [shown_source(m)]) if {
	some m in bind_mounts
	protected_source(m.source)
	not excepted("mounts")
}

protected_source(src) if {
	some p in protected_paths
	startswith(src, p)
	inside(src, p)
}

protected_source(src) if {
	some p in host.protected_paths
	startswith(src, p)
	inside(src, p)
}

# A parent of moat's runtime directory or of a socket exposes it, even read-only (a unix socket
# in a read-only mount still connects).
deny contains sprintf("mounting host path %s is not allowed: it contains %s", [shown_source(m), shown_paths(inner)]) if {
	some m in bind_mounts
	parent_of_any(m.source, host.protected_parents)
	inner := [p | some p in host.protected_parents; parent_of(m.source, p)]
	not protected_source(m.source) # said above
	not excepted("mounts")
}

# A parent of moat's data, configuration or policy, read-write, lets the container rewrite them.
deny contains sprintf("mounting host path %s read-write is not allowed: it contains %s (mount it read-only)", [shown_source(m), shown_paths(inner)]) if {
	some m in bind_mounts
	m.readonly != true
	parent_of_any(m.source, host.protected_parents_rw)
	inner := [p | some p in host.protected_parents_rw; parent_of(m.source, p)]
	not protected_source(m.source) # said above
	not excepted("mounts")
}

# `src` is `p` or inside it (both canonical: moat's facts are).
inside(src, p) if src == p

inside(src, p) if {
	startswith(src, p)
	p != "/"
	substring(src, count(p), 1) == "/"
}

# `src` is a directory above `p`.
parent_of(src, p) if {
	startswith(p, src)
	src != p
	parent_boundary(src, p)
}

parent_boundary("/", _)

parent_boundary(src, p) if substring(p, count(src), 1) == "/"

# Some path of `ps` is below `src` (stops at the first).
parent_of_any(src, ps) if {
	some p in ps
	startswith(p, src)
	parent_of(src, p)
}

# Local subjects see what a path resolved to; remote ones only what they sent.
shown_source(m) := m.source if {
	local
	object.get(m, "raw_source", m.source) == m.source
}

shown_source(m) := sprintf("%s (%s)", [m.raw_source, m.source]) if {
	local
	m.raw_source != m.source
}

shown_source(m) := object.get(m, "raw_source", m.source) if not local

shown_paths(ps) := "files moat protects" if not local

shown_paths(ps) := ps[0] if {
	local
	count(ps) == 1
}

shown_paths(ps) := sprintf("%s and %d more", [min(ps), count(ps) - 1]) if {
	local
	count(ps) > 1
}

# ---- copies between a container and the host ------------------------------------------------
# cp writes a container's files to a host path (container.copy_from, and export -o) or reads a
# host path into a container (container.copy_to): what a bind mount may not name (the system's
# directories, moat's own, the container engines' sockets) is neither copied to nor from.
copy_actions := {"container.copy_from", "container.copy_to", "container.export"}

deny contains sprintf("copying %s host path %s is not allowed", [copy_way(h.use), shown_host_path(h)]) if {
	input.action in copy_actions
	some h in object.get(input, ["facts", "host_paths"], [])
	protected_source(h.path)
}

copy_way("write") := "to"

copy_way("read") := "from"

shown_host_path(h) := h.path if {
	local
	h.raw == h.path
}

shown_host_path(h) := sprintf("%s (%s)", [h.raw, h.path]) if {
	local
	h.raw != h.path
}

shown_host_path(h) := h.raw if not local

# ---- remote subjects -------------------------------------------------------------------------
deny contains reason if {
	not local
	some reason in remote_denials
}

remote_denials contains sprintf("%s is for local subjects only", [input.action]) if {
	input.action in local_only_actions
}

remote_denials contains sprintf("%s uses the owner's registry credentials: not for remote subjects unless listed in data.moat.remote_actions", [input.action]) if {
	input.action in owner_account_actions
	not input.action in data.moat.remote_actions
}

# Remote subjects name no host path (a file to read or write), and bind-mount only directories
# under data.moat.remote_mount_dirs (canonical paths; none by default).
remote_denials contains sprintf("remote subject %s may not %s host path %s", [input.subject.user, verb(h.use), h.raw]) if {
	some h in object.get(input, ["facts", "host_paths"], [])
	not remote_granted(h.use, h.path)
}

# Remote subjects publish ports on loopback addresses only: a port on every address (0.0.0.0) or
# a public one opens the host's network to the container, which only an exception grants.
remote_denials contains sprintf("remote subject %s may not publish port %d on %s: loopback addresses only (data.moat.exceptions.publish)", [input.subject.user, p.host_port, p.host_ip]) if {
	some p in object.get(spec, "ports", [])
	not loopback(p.host_ip)
	not excepted("publish")
}

loopback(ip) if startswith(ip, "127.")

# A network made with allow_host_loopback=true lets its containers reach the host's 127.0.0.1 (the
# owner's local services, moat's API on a loopback port): making one is the owner's choice, and a
# remote subject runs on one only with an exception for the image.
remote_denials contains sprintf("remote subject %s may not make a network that reaches the host's loopback (allow_host_loopback): local subjects only", [input.subject.user]) if {
	input.action == "network.create"
	object.get(input, ["body", "options", "allow_host_loopback"], "false") == "true"
}

remote_denials contains sprintf("remote subject %s may not run on network %s, which reaches the host's loopback (data.moat.exceptions.host_loopback)", [input.subject.user, spec.network_mode]) if {
	object.get(spec, "network_host_loopback", false) == true
	not excepted("host_loopback")
}

loopback("::1")

# apparmor=unconfined takes the container out of the profile it would have had (moat-default
# where loaded): the owner's choice; a remote subject's only with an exception for the image.
remote_denials contains sprintf("remote subject %s may not run a container unconfined by AppArmor (apparmor=unconfined): data.moat.exceptions.apparmor", [input.subject.user]) if {
	spec.apparmor_profile == "unconfined"
	not excepted("apparmor")
}

remote_denials contains sprintf("remote subject %s may not mount host path %s", [input.subject.user, object.get(m, "raw_source", m.source)]) if {
	some m in bind_mounts
	not remote_granted("mount", m.source)
}

verb("mount") := "mount"

verb("read") := "read"

verb("write") := "write to"

remote_granted("mount", p) if {
	some d in data.moat.remote_mount_dirs
	inside(p, trim_suffix(d, "/"))
}

# ---- the caller --------------------------------------------------------------------------------
# The caller's supplementary groups reach the container only where the host says so
# (facts.host.supplementary_groups_reach_containers: the single-ID mapping; with a subordinate
# range runc's setgroups drops them). Without the fact, assume they do (fail closed).
# List groups that must not (e.g. disk, docker, shadow) in data.moat.forbidden_groups.
deny contains sprintf("supplementary group %d of the caller would reach the container", [g]) if {
	forbidden := data.moat.forbidden_groups
	input.action in {"container.run", "container.create", "container.start", "container.exec"}
	object.get(input, ["facts", "host", "supplementary_groups_reach_containers"], true) != false
	some g in object.get(input.subject, "groups", [])
	g in forbidden
}

# ---- the runtime -------------------------------------------------------------------------------
# facts.host.runtime: { name, version, package, unfixed: [advisory ids] } (moat info shows them).
# data.moat.min_runtime_version: refuse to run containers on an older runc; an unknown version
# counts as older. data.moat.forbidden_runtime_advisories: refuse while one of them is unfixed.
deny contains sprintf("runtime %s is older than the minimum %s", [runtime_version, data.moat.min_runtime_version]) if {
	input.action in {"container.run", "container.create", "container.start", "container.exec"}
	is_string(data.moat.min_runtime_version)
	not runtime_at_least(data.moat.min_runtime_version)
}

deny contains sprintf("runtime %s does not fix %s", [runtime_version, a]) if {
	forbidden := data.moat.forbidden_runtime_advisories
	input.action in {"container.run", "container.create", "container.start", "container.exec"}
	some a in object.get(input, ["facts", "host", "runtime", "unfixed"], [])
	a in forbidden
}

# ---- Landlock -----------------------------------------------------------------------------------
# facts.run.landlock: whether moat-init confines the container's writes with Landlock (off with
# --security-opt landlock=off, or where the kernel lacks it). data.moat.require_landlock: refuse a
# container without it; data.moat.min_landlock_abi: one applied with a lower ABI, or not applied
# (ABI 0 then). A summary that does not say counts as without.
deny contains "Landlock is required (data.moat.require_landlock) but this container would run without it" if {
	data.moat.require_landlock == true
	input.action in {"container.run", "container.create", "container.start", "container.exec"}
	object.get(spec, ["landlock", "enabled"], false) != true
}

deny contains sprintf("Landlock ABI %v is below the minimum %v (data.moat.min_landlock_abi)", [abi, data.moat.min_landlock_abi]) if {
	is_number(data.moat.min_landlock_abi)
	input.action in {"container.run", "container.create", "container.start", "container.exec"}
	abi := landlock_abi
	abi < data.moat.min_landlock_abi
}

# data.moat.require_landlock_net_bind: refuse a container that may bind any TCP port (no
# --security-opt landlock-bind= nor landlock=strict, a kernel below Landlock ABI 4, or
# landlock=off). Which ports it may bind is facts.run.landlock.net.bind, e.g. to allow only some:
#   deny contains "..." if { some p in input.facts.run.landlock.net.bind; not p in {80, 443} }
deny contains "a TCP bind rule is required (data.moat.require_landlock_net_bind) but this container may bind any port" if {
	data.moat.require_landlock_net_bind == true
	input.action in {"container.run", "container.create", "container.start", "container.exec"}
	object.get(spec, ["landlock", "net", "bind"], null) == null
}

landlock_abi := object.get(spec, ["landlock", "abi"], 0) if object.get(spec, ["landlock", "enabled"], false) == true
else := 0

runtime_version := v if {
	v := input.facts.host.runtime.version
	is_string(v)
} else := "unknown"

runtime_at_least(min) if {
	semver.is_valid(runtime_version)
	semver.compare(runtime_version, min) >= 0
}

deny contains "image signature could not be verified" if {
	data.moat.require_signature == true
	input.facts.image.signature.verified != true
}

# ---- provenance ------------------------------------------------------------------------------
# data.moat.require_provenance: the image must carry a verified SLSA provenance attestation
# (v1 or v0.2) whose builder ID is listed in data.moat.allowed_builders (exact strings; none
# listed: no builder is allowed). facts.image.signature.attestations holds only attestations
# that verified under the trust policy's requirement for the image (signed by the same keys or
# identities as its signatures, about its manifest digest); a predicate over moat's size cap
# arrives as null and counts for nothing.
slsa_provenance_types := {"https://slsa.dev/provenance/v1", "https://slsa.dev/provenance/v0.2"}

deny contains sprintf("image has no verified SLSA provenance from an allowed builder (%s)", [provenance_seen(sig)]) if {
	data.moat.require_provenance == true
	sig := input.facts.image.signature
	not allowed_provenance(sig)
}

allowed_provenance(sig) if {
	some a in sig.attestations
	a.predicate_type in slsa_provenance_types
	some id in builder_ids(a.predicate)
	id in data.moat.allowed_builders
}

# v1: predicate.runDetails.builder.id; v0.2: predicate.builder.id.
builder_ids(p) := {id |
	is_object(p)
	some path in [["runDetails", "builder", "id"], ["builder", "id"]]
	id := object.get(p, path, null)
	is_string(id)
}

provenance_seen(sig) := sprintf("builders: %s", [concat(", ", sort(ids))]) if {
	ids := {id |
		some a in object.get(sig, "attestations", [])
		a.predicate_type in slsa_provenance_types
		some id in builder_ids(a.predicate)
	}
	count(ids) > 0
} else := "no verified provenance"

# ---- scan thresholds -------------------------------------------------------------------------
# facts.image.scan (run and create): the scan report recorded for the image under the scan
# setting in force (see README, "the scan input"): { critical, high, medium, low, fixable,
# secrets, hazards, permissions, config, packages, db: { version, age_days } | null, findings }.
# Counts leave out findings a VEX document suppressed. Each threshold applies only when set in
# data (unset: no scan rule applies):
#   data.moat.max_critical / max_high: most critical / high vulnerabilities allowed (numbers)
#   data.moat.deny_secrets: true: any secret found in the image denies
#   data.moat.max_db_age_days: the vulnerability database's newest record must be this recent
# A vulnerability threshold (max_critical, max_high, max_db_age_days) with no database denies:
# "no vulnerability database" (moat check exits 6 on it); the counts would be a silent zero.
scan_actions := {"container.run", "container.create"}

scan := object.get(image, "scan", null)

# By name, never data.moat[k]: a variable key would read this package too (data.moat.authz).
threshold_value("max_critical") := data.moat.max_critical

threshold_value("max_high") := data.moat.max_high

threshold_value("max_db_age_days") := data.moat.max_db_age_days

vuln_thresholds := {k |
	some k in ["max_critical", "max_high", "max_db_age_days"]
	threshold_value(k) != null
}

scan_thresholds := vuln_thresholds | {"deny_secrets" | data.moat.deny_secrets == true}

scan_count(k) := n if {
	n := scan[k]
	is_number(n)
} else := 0

deny contains sprintf("image has %d critical vulnerabilities (max %d)", [n, data.moat.max_critical]) if {
	is_number(data.moat.max_critical)
	n := scan_count("critical")
	n > data.moat.max_critical
}

deny contains sprintf("image has %d high vulnerabilities (max %d)", [n, data.moat.max_high]) if {
	is_number(data.moat.max_high)
	n := scan_count("high")
	n > data.moat.max_high
}

deny contains sprintf("image contains %d secret(s): %s", [n, concat(", ", secret_paths)]) if {
	data.moat.deny_secrets == true
	n := scan_count("secrets")
	n > 0
}

secret_paths := sort({sprintf("%s (%s)", [object.get(f, "path", "image config"), f.rule]) |
	some f in object.get(scan, "findings", [])
	f.kind == "secret"
})

deny contains sprintf("vulnerability database is %d days old (max %d)", [age, data.moat.max_db_age_days]) if {
	is_number(data.moat.max_db_age_days)
	age := scan.db.age_days
	is_number(age)
	age > data.moat.max_db_age_days
}

deny contains "vulnerability database age is unknown (its records have no modified date)" if {
	is_number(data.moat.max_db_age_days)
	is_object(scan.db)
	not is_number(scan.db.age_days)
}

deny contains sprintf("no vulnerability database: vulnerabilities were not checked, and the policy sets %s", [concat(", ", sort(vuln_thresholds))]) if {
	count(vuln_thresholds) > 0
	is_object(scan)
	object.get(scan, "db", null) == null
}

deny contains sprintf("the image was not scanned, and the policy sets %s", [concat(", ", sort(scan_thresholds))]) if {
	input.action in scan_actions
	count(scan_thresholds) > 0
	not is_object(scan)
}

deny contains sprintf("data.moat.%s must be a number, not %v", [k, v]) if {
	some k in vuln_thresholds
	v := threshold_value(k)
	not is_number(v)
}

# ---- the service -------------------------------------------------------------------------------
deny contains "the API over TCP must require client certificates (mutual TLS)" if {
	input.action == "system.service"
	input.facts.listen.transport != "unix"
	object.get(input, ["facts", "tls", "client_cert_required"], false) != true
}

# ---- moat-runtime (oci.create) -----------------------------------------------------------------
# moat-runtime asks before it hands a spec that podman, containerd or CRI-O prepared to runc.
#   facts.spec:   the caller's OCI runtime spec, as given
#   facts.pod:    { source (containerd|cri-o|null), name, namespace, container, sandbox, uid }
#                 from the annotations containerd's CRI plugin (io.kubernetes.cri.sandbox-name, ...)
#                 and CRI-O (io.kubernetes.pod.name, ...) set; all null outside Kubernetes
#   facts.caller: { id, bundle, manager ("libpod": podman), podman: {podman's annotations without
#                 their io.podman.annotations. prefix}, annotations }
#   facts.oci:    { capabilities (every set's, without CAP_), privileged, host_namespaces (of pid,
#                 network, ipc, uts, mount: the types the spec lists none of, shared with the host),
#                 joined_namespaces: [{type, path}], root: {path (canonical), readonly}, bind_mounts: [{source (canonical), raw_source,
#                 destination, readonly}], hooks: [{stage, path}] (run on the host, as the runtime's
#                 user), user: {uid, gid}, no_new_privileges, devices: [{path, device ("c 1:3")}],
#                 device_rules: [{device ("a *:*", "c 136:*"), access}] (allow rules with r or w),
#                 sysctls: [names, dotted], apparmor_profile (null: none asked), seccomp: {present,
#                 default_action, rule_count, kind (none|unconfined|default-allow|custom), looser
#                 (what it lets through that moat's profile blocks: syscall names, defaultAction,
#                 architectures, flags; at most 20), looser_count}, hardening: {mode, changes:
#                 [{field, change}], applied} }
# In enforce mode moat replaces a filter of kind none, unconfined or default-allow with its own
# and narrows a custom one to its own rules for each syscall in looser, so looser says what the
# caller asked for, not what runs; audit and off modes run it as asked.
# Refused: what hands out the host, as for moat's own runs: the capabilities in dangerous_caps,
# a spec with every capability (--privileged), the host's namespaces (allow some with
# data.moat.oci.allowed_host_namespaces, e.g. ["network"]), bind mounts of protected_paths. Pods in
# a namespace listed in data.moat.oci.trusted_namespaces (CNI, CSI and other node agents in
# kube-system need these) are not refused by these rules.
oci := object.get(input, ["facts", "oci"], {})

oci_request if input.action == "oci.create"

oci_trusted if {
	ns := input.facts.pod.namespace
	is_string(ns)
	ns in data.moat.oci.trusted_namespaces
}

deny contains sprintf("capability %s is not allowed (the container's spec asks for it)", [cap]) if {
	oci_request
	not oci_trusted
	some cap in object.get(oci, "capabilities", [])
	cap in dangerous_caps
	not oci_namespace_capability(cap)
}

# Per Kubernetes namespace: data.moat.oci.namespace_capabilities maps a namespace to the
# capabilities its pods may ask for beyond the default ones (without CAP_, e.g.
# {"monitoring": ["SYS_PTRACE"], "net-tools": ["NET_ADMIN", "NET_RAW"]}); narrower than
# trusted_namespaces, which lifts every rule. For enforce mode to keep them, oci.json's
# namespaceCapabilities must name them too (the hardening's allow-list).
oci_namespace_capability(cap) if {
	ns := input.facts.pod.namespace
	is_string(ns)
	some c in data.moat.oci.namespace_capabilities[ns]
	upper(trim_prefix(c, "CAP_")) == cap
}

deny contains "privileged containers are not allowed (the spec asks for every capability)" if {
	oci_request
	not oci_trusted
	oci.privileged == true
}

deny contains sprintf("the host's %s namespace is not allowed (the spec asks for none of its own)", [ns]) if {
	oci_request
	not oci_trusted
	some ns in object.get(oci, "host_namespaces", [])
	not oci_host_namespace_allowed(ns)
}

deny contains sprintf("mounting host path %s is not allowed", [m.source]) if {
	oci_request
	not oci_trusted
	some m in object.get(oci, "bind_mounts", [])
	oci_protected(m.source)
}

deny contains sprintf("the container's root filesystem may not be the host's %s", [oci.root.path]) if {
	oci_request
	not oci_trusted
	oci.root.path in oci_protected_paths
}

# Host devices: the device nodes the spec has runc create (facts.oci.devices) and the device
# cgroup's allow rules that open devices for reading or writing (facts.oci.device_rules), each
# named as the device cgroup names it ("c 1:3", "b 8:*", "a *:*"). Allowed: the devices every
# container gets (null, zero, full, random, urandom, tty, console, ptmx, the pseudo-terminals
# c 136:* and tun c 10:200) and those listed in data.moat.oci.allowed_devices (e.g. ["c 10:229"]
# for /dev/fuse). A rule that allows every device (type a, or any major number) is refused as such.
deny contains sprintf("host device %s (%s) is not allowed (the spec adds it)", [d.path, d.device]) if {
	oci_request
	not oci_trusted
	some d in object.get(oci, "devices", [])
	not oci_device_allowed(d.device)
}

deny contains sprintf("the device cgroup rule %q (%s) gives the container every host device (the spec asks for it)", [r.device, r.access]) if {
	oci_request
	not oci_trusted
	some r in object.get(oci, "device_rules", [])
	oci_any_device(r.device)
	not oci_device_allowed(r.device)
}

deny contains sprintf("the device cgroup rule %q (%s) opens a host device outside the default set", [r.device, r.access]) if {
	oci_request
	not oci_trusted
	some r in object.get(oci, "device_rules", [])
	not oci_any_device(r.device)
	not oci_device_allowed(r.device)
}

oci_default_devices := {"c 1:3", "c 1:5", "c 1:7", "c 1:8", "c 1:9", "c 5:0", "c 5:1", "c 5:2", "c 136:*", "c 10:200"}

oci_device_allowed(d) if d in oci_default_devices

oci_device_allowed(d) if d in data.moat.oci.allowed_devices

oci_any_device(d) if startswith(d, "a ")

oci_any_device(d) if contains(d, " *:")

# Sysctls: only the namespaced ones Kubernetes calls safe (isolated from other containers on the
# node), and those in data.moat.oci.allowed_sysctls (e.g. ["kernel.msgmax"], or a prefix ending
# in "*": ["net.ipv4.conf.*"]).
deny contains sprintf("sysctl %s is not allowed (not one of the safe namespaced sysctls)", [name]) if {
	oci_request
	not oci_trusted
	some name in object.get(oci, "sysctls", [])
	not name in oci_safe_sysctls
	not oci_sysctl_allowed(name)
}

oci_safe_sysctls := {
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.ip_local_reserved_ports",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.ping_group_range",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_fin_timeout",
}

oci_sysctl_allowed(name) if name in data.moat.oci.allowed_sysctls

oci_sysctl_allowed(name) if {
	some p in data.moat.oci.allowed_sysctls
	endswith(p, "*")
	startswith(name, trim_suffix(p, "*"))
}

# AppArmor: a spec that asks to run unconfined (process.apparmorProfile "unconfined"), unless
# data.moat.oci.allowed_apparmor_profiles lists "unconfined".
deny contains "AppArmor profile unconfined is not allowed (the spec asks for it)" if {
	oci_request
	not oci_trusted
	object.get(oci, "apparmor_profile", null) == "unconfined"
	not "unconfined" in data.moat.oci.allowed_apparmor_profiles
}

# ---- moat-runtime (oci.update) -----------------------------------------------------------------
# `runc update` changes a running container's cgroup limits; moat-runtime asks before it does.
#   facts.update: { id, resources (what runc is to apply, as it reads it: LinuxResources),
#                   pids_limit (asked for: null leaves it as it is, -1 removes it), memory_limit
#                   (the same), current: {pids_limit, memory_limit} (moat's copy of the spec the
#                   container was created with; null: not found, or a limit it does not have),
#                   default_pids_limit (oci.json's pidsLimit; 0: none) }
#   facts.pod, facts.caller: { id, bundle, annotations } as for oci.create, from that copy
# Refused: removing the pids limit, or raising it above the larger of the configured default and
# the container's current limit (data.moat.oci.max_pids_limit, a number, raises that ceiling),
# where a default is configured. Pods in data.moat.oci.trusted_namespaces are not refused.
oci_update if input.action == "oci.update"

oci_update_trusted if {
	ns := input.facts.pod.namespace
	is_string(ns)
	ns in data.moat.oci.trusted_namespaces
}

oci_pids_ceiling := data.moat.oci.max_pids_limit if is_number(data.moat.oci.max_pids_limit)

else := max({input.facts.update.default_pids_limit, object.get(input.facts.update, ["current", "pids_limit"], 0)}) if {
	is_number(object.get(input.facts.update, ["current", "pids_limit"], 0))
}

else := input.facts.update.default_pids_limit

deny contains sprintf("removing container %s's pids limit is not allowed (the update asks for none)", [input.facts.update.id]) if {
	oci_update
	not oci_update_trusted
	input.facts.update.default_pids_limit > 0
	input.facts.update.pids_limit == -1
}

deny contains sprintf("raising container %s's pids limit to %d is not allowed (at most %d)", [input.facts.update.id, n, oci_pids_ceiling]) if {
	oci_update
	not oci_update_trusted
	input.facts.update.default_pids_limit > 0
	n := input.facts.update.pids_limit
	is_number(n)
	n > oci_pids_ceiling
}

oci_protected_paths := array.concat(
	[p | some p in protected_paths; not p in {"/run/containerd", "/var/run/containerd"}],
	["/run/containerd/containerd.sock", "/var/run/containerd/containerd.sock", "/run/containerd/containerd.sock.ttrpc"],
)

# By name, never object.get(data, ["moat", ...]): that would read this package too.
oci_host_namespace_allowed(ns) if ns in data.moat.oci.allowed_host_namespaces

oci_protected(src) if src in oci_protected_paths

oci_protected(src) if {
	some p in oci_protected_paths
	p != "/"
	startswith(src, concat("", [p, "/"]))
}
