package moat.authz_test

import data.moat.authz
import rego.v1

hex64(c) := concat("", [x | some _ in numbers.range(1, 64); x := c])

digest := concat("", ["sha256:", hex64("a")])

image_id := concat("", ["sha256:", hex64("b")])

other_digest := concat("", ["sha256:", hex64("c")])

# What moat's facts say for an ordinary user whose runtime directory is $XDG_RUNTIME_DIR/moat.
host := {
	"protected_paths": [
		"/home/alice/.config/moat",
		"/home/alice/.local/share/moat",
		"/run/docker.sock",
		"/run/user/1000/moat",
		"/run/user/1000/moat/moat.sock",
		"/run/user/1000/podman",
	],
	"protected_parents": ["/run/docker.sock", "/run/user/1000/moat", "/run/user/1000/moat/moat.sock", "/run/user/1000/podman"],
	"protected_parents_rw": ["/home/alice/.config/moat", "/home/alice/.local/share/moat"],
}

base := {
	"subject": {"user": "alice", "uid": 1000, "local": true},
	"method": "POST",
	"path": "/containers/run",
	"action": "container.run",
	"facts": {
		"image": {
			"ref": "docker.io/library/alpine:3",
			"reference": "docker.io/library/alpine:3",
			"names": ["docker.io/library/alpine:3"],
			"repo_digests": [concat("@", ["docker.io/library/alpine", digest])],
			"repositories": ["docker.io/library/alpine"],
			"id": image_id,
			"digest": digest,
			"signers": [],
			"signature": {"verified": true},
			"scan": {"critical": 0, "high": 2},
		},
		"run": {"privileged": false, "cap_add": [], "mounts": [], "network_mode": "private", "user": "1000"},
		"host": host,
	},
}

remote := {"user": "ci", "uid": -1, "local": false}

with_spec(patch) := object.union(base, {"facts": {"run": object.union(base.facts.run, patch)}})

with_image(patch) := object.union(base, {"facts": {"image": object.union(base.facts.image, patch)}})

mount(raw, canonical, ro) := {"source": canonical, "raw_source": raw, "destination": "/m", "readonly": ro}

with_mount(raw, canonical, ro) := with_spec({"mounts": [mount(raw, canonical, ro)]})

as_remote(inp) := object.union(inp, {"subject": remote})

test_local_user_allowed if authz.allow with input as base

test_remote_user_denied if {
	not authz.allow with input as object.union(base, {"subject": {"user": "mallory", "local": false}})
}

test_remote_user_listed_allowed if {
	authz.allow with input as as_remote(base) with data.moat.remote_users as ["ci"]
}

test_privileged_denied if {
	"privileged containers are not allowed" in authz.deny with input as with_spec({"privileged": true})
}

test_sys_admin_denied if {
	"capability SYS_ADMIN is not allowed" in authz.deny with input as with_spec({"cap_add": ["CAP_SYS_ADMIN"]})
}

test_harmless_cap_allowed if authz.allow with input as with_spec({"cap_add": ["NET_BIND_SERVICE"]})

test_host_network_denied if {
	not authz.allow with input as with_spec({"network_mode": "host"})
}

# ---- exceptions match identities no user can create ------------------------------------------

privileged := with_spec({"privileged": true})

test_exception_by_manifest_digest if {
	authz.allow with input as privileged with data.moat.exceptions.privileged as [digest]
}

test_exception_by_image_id if {
	authz.allow with input as privileged with data.moat.exceptions.privileged as [image_id]
}

test_exception_by_pinned_reference if {
	authz.allow with input as privileged
		with data.moat.exceptions.privileged as [concat("@", ["registry.example.com/ops/tool", digest])]
}

test_exception_by_verified_signer if {
	authz.allow with input as object.union(privileged, {"facts": {"image": {"signers": ["ops@example.com"]}}})
		with data.moat.exceptions.privileged as [{"signer": "ops@example.com"}]
}

test_exception_signer_needs_verification if {
	# signers: [] means unverified, never trusted.
	not authz.allow with input as privileged with data.moat.exceptions.privileged as [{"signer": "ops@example.com"}]
}

test_exception_other_digest_denied if {
	not authz.allow with input as privileged with data.moat.exceptions.privileged as [other_digest]
	not authz.allow with input as privileged
		with data.moat.exceptions.privileged as [concat("@", ["docker.io/library/alpine", other_digest])]
}

test_exception_by_name_never_grants if {
	# Glob or exact names grant nothing: anyone can `moat tag` an image into an allow-listed name.
	tagged := object.union(privileged, {"facts": {"image": {
		"ref": "registry.example.com/ops/tool:1",
		"reference": "registry.example.com/ops/tool:1",
		"names": ["registry.example.com/ops/tool:1", "localhost/mine:latest"],
		"repositories": ["registry.example.com/ops/tool", "localhost/mine"],
	}}})
	not authz.allow with input as tagged with data.moat.exceptions.privileged as ["registry.example.com/ops/*"]
	not authz.allow with input as tagged with data.moat.exceptions.privileged as ["registry.example.com/ops/tool:1"]
	not authz.allow with input as tagged with data.moat.exceptions.privileged as ["*"]
}

# ---- blocklists match every name and digest ---------------------------------------------------

evil := with_image({
	"ref": "localhost/mine:1",
	"reference": "localhost/mine:1",
	"names": ["localhost/mine:1", "docker.io/evil/x:1"],
	"repo_digests": [],
	"repositories": ["localhost/mine", "docker.io/evil/x"],
})

blocked_reason(inp) := [r | some r in authz.deny with input as inp with data.moat.blocked_images as ["docker.io/evil/*"]; startswith(r, "image ")]

test_blocked_under_another_tag if {
	blocked_reason(evil) == ["image localhost/mine:1 is not allowed (blocked: docker.io/evil/*)"]
}

test_blocked_under_its_id if {
	by_id := object.union(evil, {"facts": {"image": {"ref": image_id, "reference": image_id}}})
	count(blocked_reason(by_id)) == 1
	by_prefix := object.union(evil, {"facts": {"image": {"ref": "bbbbbb", "reference": image_id}}})
	count(blocked_reason(by_prefix)) == 1
}

test_blocked_by_repo_digest_after_untag if {
	untagged := object.union(with_image({"names": ["localhost/mine:1"], "repositories": ["localhost/mine", "docker.io/evil/x"]}), {"facts": {"image": {"repo_digests": [concat("@", ["docker.io/evil/x", digest])]}}})
	count(blocked_reason(untagged)) == 1
}

test_blocked_by_digest_or_id if {
	every d in [digest, image_id] {
		not authz.allow with input as base with data.moat.blocked_images as [d]
	}
}

test_blocked_container_start if {
	start := {"subject": base.subject, "action": "container.start", "facts": {"image": {"ref": "evil-ish", "id": image_id, "signers": []}}}
	not authz.allow with input as start with data.moat.blocked_images as [image_id]
	authz.allow with input as start with data.moat.blocked_images as [other_digest]
}

test_blocked_pull if {
	pull := {"subject": base.subject, "action": "image.pull", "facts": {"target": {"registry": "docker.io", "repository": "evil/x", "tag": "1", "reference": "docker.io/evil/x:1"}}}
	"image docker.io/evil/x:1 is not allowed (blocked: docker.io/evil/*)" in authz.deny with input as pull
		with data.moat.blocked_images as ["docker.io/evil/*"]
	authz.allow with input as pull with data.moat.blocked_images as ["docker.io/other/*"]
}

test_not_blocked_allowed if {
	authz.allow with input as base with data.moat.blocked_images as ["docker.io/evil/*", other_digest]
}

test_bad_digest_denied if {
	not authz.allow with input as with_image({"digest": "sha256:xyz"})
}

# ---- host paths: canonical sources, system paths, moat's own files -----------------------------

test_host_etc_mount_denied if {
	"mounting host path /etc is not allowed" in authz.deny with input as with_mount("/etc", "/etc", true)
}

test_root_mount_denied if {
	"mounting host path / is not allowed" in authz.deny with input as with_mount("/", "/", false)
}

test_home_subdir_mount_allowed if {
	authz.allow with input as with_mount("/home/alice/src", "/home/alice/src", false)
}

test_non_canonical_raw_judged_by_canonical_source if {
	# What the client typed beside what it resolves to: the canonical source decides.
	every pair in [["//etc", "/etc"], ["/./proc", "/proc"], ["/tmp/../proc", "/proc"], ["/.", "/"], ["/etc/", "/etc"]] {
		reason := sprintf("mounting host path %s (%s) is not allowed", pair)
		reason in authz.deny with input as with_mount(pair[0], pair[1], true)
	}
}

test_symlink_judged_by_target if {
	"mounting host path /home/alice/link (/proc) is not allowed" in authz.deny with input as with_mount("/home/alice/link", "/proc", true)
}

test_non_canonical_source_denied if {
	# A source that is not canonical did not come from moat's facts: refused, whatever it names.
	every src in ["//etc", "/./proc", "/tmp/../proc", "/.", "/home/alice/src/", "relative", "/home/alice/.."] {
		sprintf("mount source %s is not a canonical absolute path", [src]) in authz.deny with input as with_spec({"mounts": [{"source": src, "destination": "/m"}]})
	}
}

test_engine_sockets_denied if {
	every pair in [["/var/run/docker.sock", "/run/docker.sock"], ["/run/containerd/containerd.sock", "/run/containerd/containerd.sock"]] {
		not authz.allow with input as with_mount(pair[0], pair[1], true)
		# Without moat's host facts, the policy's own list still holds.
		not authz.allow with input as object.union(with_mount(pair[0], pair[1], true), {"facts": {"host": {}}})
	}
}

test_moat_state_denied if {
	every p in [
		"/home/alice/.local/share/moat",
		"/home/alice/.local/share/moat/containers",
		"/home/alice/.config/moat/policy",
		"/run/user/1000/moat",
		"/run/user/1000/moat/moat.sock",
		"/run/user/1000/podman/podman.sock",
	] {
		sprintf("mounting host path %s is not allowed", [p]) in authz.deny with input as with_mount(p, p, true)
	}
}

test_parent_of_runtime_dir_denied_even_read_only if {
	"mounting host path /run/user/1000 is not allowed: it contains /run/user/1000/moat and 2 more" in authz.deny with input as with_mount("/run/user/1000", "/run/user/1000", true)
	not authz.allow with input as with_mount("/run", "/run", true)
	not authz.allow with input as with_mount("/var/run", "/run", true)
}

test_parent_of_state_read_write_denied if {
	"mounting host path /home/alice read-write is not allowed: it contains /home/alice/.config/moat and 1 more (mount it read-only)" in authz.deny with input as with_mount("/home/alice", "/home/alice", false)
	not authz.allow with input as with_mount("/home/alice/.local", "/home/alice/.local", false)
	not authz.allow with input as with_mount("/home/alice/../alice", "/home/alice", false)
}

test_parent_of_one_protected_path if {
	"mounting host path /home/alice/.local read-write is not allowed: it contains /home/alice/.local/share/moat (mount it read-only)" in authz.deny with input as with_mount("/home/alice/.local", "/home/alice/.local", false)
}

test_parent_of_state_read_only_allowed if {
	# Docker and podman let $HOME be mounted; read-only, moat's data and config cannot be changed.
	authz.allow with input as with_mount("/home/alice", "/home/alice", true)
}

test_sibling_of_protected_path_allowed if {
	authz.allow with input as with_mount("/home/alice/.config/moat-other", "/home/alice/.config/moat-other", false)
	authz.allow with input as with_mount("/run/user/1000/moatx", "/run/user/1000/moatx", false)
}

test_mount_exception_by_digest if {
	authz.allow with input as with_mount("/run/docker.sock", "/run/docker.sock", false)
		with data.moat.exceptions.mounts as [digest]
	not authz.allow with input as with_mount("/run/docker.sock", "/run/docker.sock", false)
		with data.moat.exceptions.mounts as ["docker.io/library/*"]
}

# ---- seccomp ------------------------------------------------------------------------------------

loose := {
	"profile": "custom",
	"file": "/home/alice/p.json",
	"raw_file": "/home/alice/./p.json",
	"digest": other_digest,
	"default_action": "SCMP_ACT_ALLOW",
	"rule_count": 1,
	"looser_than_default": true,
	"loosened": ["defaultAction"],
}

test_seccomp_default_allowed if {
	authz.allow with input as with_spec({"seccomp": {"profile": "default", "looser_than_default": false}})
}

test_seccomp_looser_denied if {
	reason := sprintf("seccomp profile /home/alice/./p.json lets through what the default profile blocks (defaultAction); to allow it, list its digest %s in data.moat.seccomp_exceptions", [other_digest])
	reason in authz.deny with input as with_spec({"seccomp": loose})
}

test_seccomp_looser_excepted_by_digest if {
	authz.allow with input as with_spec({"seccomp": loose}) with data.moat.seccomp_exceptions as [other_digest]
	not authz.allow with input as with_spec({"seccomp": loose}) with data.moat.seccomp_exceptions as [digest]
	authz.allow with input as with_spec({"seccomp": loose}) with data.moat.exceptions.seccomp as [digest]
}

test_seccomp_narrower_custom_allowed if {
	authz.allow with input as with_spec({"seccomp": object.union(loose, {"looser_than_default": false, "loosened": []})})
}

test_seccomp_unknown_or_unconfined_denied if {
	# A summary that does not say whether it is looser is taken as looser (fail closed).
	not authz.allow with input as with_spec({"seccomp": {"profile": "/home/alice/p.json"}})
	not authz.allow with input as with_spec({"seccomp": {"profile": "unconfined", "looser_than_default": true}})
}

# ---- cp: the host side is judged as a mount source is ------------------------------------------

copy(action, use, p) := {"subject": base.subject, "action": action, "facts": {"host_paths": [{"path": p, "raw": p, "use": use}]}}

test_copy_to_and_from_protected_host_paths_denied if {
	every c in [
		["container.copy_from", "write", "/etc/cron.d/x"],
		["container.copy_from", "write", "/"],
		["container.export", "write", "/root/rootfs.tar"],
		["container.copy_to", "read", "/etc/shadow"],
		["container.copy_to", "read", "/proc/self/environ"],
	] {
		not authz.allow with input as copy(c[0], c[1], c[2])
	}
	"copying to host path /etc/cron.d/x is not allowed" in authz.deny with input as copy("container.copy_from", "write", "/etc/cron.d/x")
}

test_copy_into_moat_state_denied if {
	inp := object.union(copy("container.copy_from", "write", "/home/alice/.local/share/moat/policy.rego"), {"facts": {"host": {"protected_paths": ["/home/alice/.local/share/moat"]}}})
	not authz.allow with input as inp
}

test_copy_ordinary_host_paths_allowed if {
	authz.allow with input as copy("container.copy_from", "write", "/home/alice/out")
	authz.allow with input as copy("container.copy_to", "read", "/home/alice/src")
	authz.allow with input as copy("container.export", "write", "/tmp/rootfs.tar")
}

# ---- remote subjects get what the policy grants ------------------------------------------------

remote_listed(inp) := as_remote(inp)

test_remote_host_paths_denied if {
	every c in [
		["policy.eval", "read", "/home/alice/.ssh/id_ed25519", "/home/alice/./.ssh/id_ed25519"],
		["image.save", "write", "/home/alice/.bashrc", "/home/alice/.bashrc"],
		["image.load", "read", "/home/alice/x.tar", "/tmp/../home/alice/x.tar"],
		["image.import", "read", "/home/alice/x.tar", "/home/alice/x.tar"],
	] {
		inp := {"subject": remote, "action": c[0], "facts": {"host_paths": [{"path": c[2], "raw": c[3], "use": c[1]}]}}
		not authz.allow with input as inp with data.moat.remote_users as ["ci"]
		# Local subjects may.
		authz.allow with input as object.union(inp, {"subject": base.subject})
	}
}

test_remote_denial_shows_what_was_sent if {
	inp := {"subject": remote, "action": "image.save", "facts": {"host_paths": [{"path": "/home/alice/.bashrc", "raw": "/tmp/link", "use": "write"}]}}
	"remote subject ci may not write to host path /tmp/link" in authz.deny with input as inp with data.moat.remote_users as ["ci"]
}

test_remote_local_only_actions if {
	every a in ["policy.eval", "policy.test", "policy.check", "system.service"] {
		sprintf("%s is for local subjects only", [a]) in authz.deny with input as {"subject": remote, "action": a, "facts": {}}
			with data.moat.remote_users as ["ci"]
	}
}

test_remote_owner_credentials if {
	every a in ["image.push", "registry.login", "registry.logout"] {
		inp := {"subject": remote, "action": a, "facts": {}}
		not authz.allow with input as inp with data.moat.remote_users as ["ci"]
		authz.allow with input as inp with data.moat.remote_users as ["ci"] with data.moat.remote_actions as [a]
	}
}

remote_mount(raw, canonical) := object.union(as_remote(with_mount(raw, canonical, false)), {"facts": {"host_paths": [{"path": canonical, "raw": raw, "use": "mount", "readonly": false}]}})

test_remote_mount_outside_allowed_dirs_denied if {
	inp := remote_mount("/home/alice/.ssh", "/home/alice/.ssh")
	["remote subject ci may not mount host path /home/alice/.ssh"] == [r | some r in authz.deny with input as inp with data.moat.remote_users as ["ci"]]
	not authz.allow with input as inp with data.moat.remote_users as ["ci"] with data.moat.remote_mount_dirs as ["/srv/shared"]
}

test_remote_mount_inside_allowed_dirs if {
	authz.allow with input as remote_mount("/srv/shared/ci", "/srv/shared/ci")
		with data.moat.remote_users as ["ci"] with data.moat.remote_mount_dirs as ["/srv/shared/"]
}

test_remote_mount_escaping_allowed_dir_denied if {
	# The canonical path decides: .. and symlinks out of the allowed directory do not count as inside.
	every pair in [["/srv/shared/../../home/alice/.ssh", "/home/alice/.ssh"], ["/srv/shared/link", "/home/alice/.ssh"], ["/srv/sharedx", "/srv/sharedx"]] {
		not authz.allow with input as remote_mount(pair[0], pair[1])
			with data.moat.remote_users as ["ci"] with data.moat.remote_mount_dirs as ["/srv/shared"]
	}
}

test_remote_mount_without_host_path_facts_denied if {
	not authz.allow with input as as_remote(with_mount("/home/alice/.ssh", "/home/alice/.ssh", true))
		with data.moat.remote_users as ["ci"]
}

test_remote_protected_path_not_revealed if {
	reasons := authz.deny with input as remote_mount("/run/user/1000", "/run/user/1000")
		with data.moat.remote_users as ["ci"] with data.moat.remote_mount_dirs as ["/run"]
	"mounting host path /run/user/1000 is not allowed: it contains files moat protects" in reasons
}

# ---- the service ------------------------------------------------------------------------------

service(listen, tls) := {"subject": base.subject, "action": "system.service", "facts": object.union({"listen": listen}, tls)}

test_service_unix_allowed if {
	authz.allow with input as service({"transport": "unix", "address": "/run/user/1000/moat/moat.sock"}, {})
}

test_service_tcp_needs_client_certificates if {
	tcp := {"transport": "tcp", "address": "0.0.0.0:2376", "host": "0.0.0.0", "port": 2376, "loopback": false}
	authz.allow with input as service(tcp, {"tls": {"enabled": true, "client_cert_required": true, "ca_subjects": ["CN=ca"]}})
	"the API over TCP must require client certificates (mutual TLS)" in authz.deny with input as service(tcp, {"tls": {"enabled": true, "client_cert_required": false}})
	not authz.allow with input as service(tcp, {})
}

# ---- the caller -------------------------------------------------------------------------------

# ---- scan thresholds ---------------------------------------------------------------------------
# A scan summary as run and create carry it (facts.image.scan), with a database 3 days old.
scanned(patch) := with_image({"scan": object.union(
	{
		"critical": 0, "high": 0, "medium": 0, "low": 0, "fixable": 0, "secrets": 0, "hazards": 0,
		"permissions": 0, "config": 0, "packages": 12,
		"db": {"version": "sha256:ab", "age_days": 3}, "findings": [],
	},
	patch,
)})

critical_scan := scanned({"critical": 2, "findings": [
	{"kind": "vulnerability", "rule": "CVE-2024-1", "severity": "critical", "package": "openssl@3.0.1", "fixed": "3.0.2"},
	{"kind": "vulnerability", "rule": "CVE-2024-2", "severity": "critical", "package": "zlib@1.2"},
]})

secret_scan := scanned({"secrets": 1, "findings": [{"kind": "secret", "rule": "secret.aws-access-key", "severity": "high", "path": "app/.env"}]})

test_scan_unset_data_no_rule_applies if {
	# today's stance: findings alone deny nothing, and an unscanned run is not refused
	authz.allow with input as critical_scan
	authz.allow with input as secret_scan
	authz.allow with input as scanned({"db": null})
	authz.allow with input as base
	authz.allow with input as with_image({"scan": null})
}

test_max_critical if {
	"image has 2 critical vulnerabilities (max 0)" in authz.deny with input as critical_scan with data.moat.max_critical as 0
	authz.allow with input as critical_scan with data.moat.max_critical as 2
	authz.allow with input as scanned({}) with data.moat.max_critical as 0
	# non-canonical: a float threshold, a count missing from the summary
	not authz.allow with input as critical_scan with data.moat.max_critical as 1.5
	authz.allow with input as with_image({"scan": {"db": {"version": "v", "age_days": 1}}}) with data.moat.max_critical as 0
}

test_critical_vulns_threshold if {
	authz.allow with input as object.union(base, {"facts": {"image": {"scan": {"critical": 3, "db": {"version": "v", "age_days": 0}}}}})
		with data.moat.max_critical as 5
}

test_max_high if {
	"image has 4 high vulnerabilities (max 3)" in authz.deny with input as scanned({"high": 4}) with data.moat.max_high as 3
	authz.allow with input as scanned({"high": 3}) with data.moat.max_high as 3
	# max_high does not count critical ones
	authz.allow with input as critical_scan with data.moat.max_high as 0
}

test_deny_secrets if {
	"image contains 1 secret(s): app/.env (secret.aws-access-key)" in authz.deny with input as secret_scan with data.moat.deny_secrets as true
	authz.allow with input as secret_scan with data.moat.deny_secrets as false
	authz.allow with input as scanned({}) with data.moat.deny_secrets as true
	# secrets need no database
	authz.allow with input as scanned({"db": null}) with data.moat.deny_secrets as true
	# non-canonical: "true" as a string is not true
	authz.allow with input as secret_scan with data.moat.deny_secrets as "true"
}

test_max_db_age_days if {
	"vulnerability database is 3 days old (max 2)" in authz.deny with input as scanned({}) with data.moat.max_db_age_days as 2
	authz.allow with input as scanned({}) with data.moat.max_db_age_days as 3
	"vulnerability database age is unknown (its records have no modified date)" in authz.deny with input as scanned({"db": {"version": "v", "age_days": null}}) with data.moat.max_db_age_days as 30
}

test_no_database_with_a_threshold_denies if {
	r := "no vulnerability database: vulnerabilities were not checked, and the policy sets max_critical"
	r in authz.deny with input as scanned({"db": null}) with data.moat.max_critical as 0
	not authz.allow with input as scanned({"db": null}) with data.moat.max_db_age_days as 30
	not authz.allow with input as scanned({"db": null}) with data.moat.max_high as 100
	# a summary without the db field at all is no database either
	not authz.allow with input as with_image({"scan": {"critical": 0}}) with data.moat.max_critical as 0
}

test_unscanned_run_denied_only_with_a_threshold if {
	inp := with_image({"scan": null})
	"the image was not scanned, and the policy sets deny_secrets, max_critical" in authz.deny with input as inp
		with data.moat.max_critical as 0
		with data.moat.deny_secrets as true
	authz.allow with input as inp
	# other actions carry no scan: no scan rule applies to them
	authz.allow with input as object.union(inp, {"action": "container.inspect"}) with data.moat.max_critical as 0
}

test_scan_threshold_not_a_number if {
	# non-canonical: a number written as a string is a mistake in data, not a pass
	"data.moat.max_critical must be a number, not 0" in authz.deny with input as scanned({}) with data.moat.max_critical as "0"
}

test_unsigned_denied_when_required if {
	not authz.allow with input as object.union(base, {"facts": {"image": {"signature": {"verified": false}}}})
		with data.moat.require_signature as true
}

test_decision_shape if {
	d := authz.decision with input as base
	d == {"allow": true, "deny": set()}
}

test_forbidden_supplementary_group_denied if {
	inp := object.union(base, {"action": "container.run", "subject": {"user": "alice", "uid": 1000, "local": true, "groups": [6, 100]}})
	"supplementary group 6 of the caller would reach the container" in authz.deny with input as inp with data.moat.forbidden_groups as [6]
}

test_supplementary_group_that_does_not_reach_the_container_allowed if {
	inp := object.union(base, {"action": "container.run", "subject": {"user": "alice", "uid": 1000, "local": true, "groups": [6]}, "facts": {"host": {"supplementary_groups_reach_containers": false}}})
	authz.allow with input as inp with data.moat.forbidden_groups as [6]
}

rt(version, unfixed) := object.union(base, {"action": "container.run", "facts": {"host": {"runtime": {"name": "runc", "version": version, "unfixed": unfixed}}}})

test_min_runtime_version if {
	"runtime 1.1.5 is older than the minimum 1.2.8" in authz.deny with input as rt("1.1.5", []) with data.moat.min_runtime_version as "1.2.8"
	authz.allow with input as rt("1.3.3", []) with data.moat.min_runtime_version as "1.2.8"
	authz.allow with input as rt("1.1.5", [])
}

test_min_runtime_version_unknown_is_refused if {
	inp := object.union(base, {"action": "container.start", "facts": {"host": {"runtime": {"name": "runc", "version": null}}}})
	"runtime unknown is older than the minimum 1.2.8" in authz.deny with input as inp with data.moat.min_runtime_version as "1.2.8"
}

ll(landlock) := object.union(base, {"action": "container.run", "facts": {"run": {"landlock": landlock}}})

test_require_landlock if {
	msg := "Landlock is required (data.moat.require_landlock) but this container would run without it"
	msg in authz.deny with input as ll({"enabled": false, "abi": 7, "mode": "off"}) with data.moat.require_landlock as true
	authz.allow with input as ll({"enabled": true, "abi": 7, "mode": "default"}) with data.moat.require_landlock as true
	# A summary that does not say (an older client's, a route without one) counts as without.
	msg in authz.deny with input as object.union(base, {"action": "container.start"}) with data.moat.require_landlock as true
	# Not required: allowed either way.
	authz.allow with input as ll({"enabled": false, "abi": 0, "mode": "default"})
}

test_min_landlock_abi if {
	"Landlock ABI 3 is below the minimum 4 (data.moat.min_landlock_abi)" in authz.deny with input as ll({"enabled": true, "abi": 3}) with data.moat.min_landlock_abi as 4
	authz.allow with input as ll({"enabled": true, "abi": 6}) with data.moat.min_landlock_abi as 4
	# Not applied (landlock=off) is ABI 0, whatever the kernel offers.
	"Landlock ABI 0 is below the minimum 4 (data.moat.min_landlock_abi)" in authz.deny with input as ll({"enabled": false, "abi": 7, "mode": "off"}) with data.moat.min_landlock_abi as 4
}

test_require_landlock_net_bind if {
	msg := "a TCP bind rule is required (data.moat.require_landlock_net_bind) but this container may bind any port"
	msg in authz.deny with input as ll({"enabled": true, "abi": 6, "net": {"bind": null, "connect": null}}) with data.moat.require_landlock_net_bind as true
	authz.allow with input as ll({"enabled": true, "abi": 6, "net": {"bind": [8080], "connect": null}}) with data.moat.require_landlock_net_bind as true
	# An empty list: no TCP bind at all, which is restricted.
	authz.allow with input as ll({"enabled": true, "abi": 6, "net": {"bind": [], "connect": null}}) with data.moat.require_landlock_net_bind as true
	# A summary without `net` (an older container's) counts as not restricted.
	msg in authz.deny with input as ll({"enabled": true, "abi": 6}) with data.moat.require_landlock_net_bind as true
	# Not required: allowed either way.
	authz.allow with input as ll({"enabled": true, "abi": 6, "net": {"bind": null, "connect": null}})
}

test_forbidden_runtime_advisory if {
	"runtime 1.1.5 does not fix CVE-2025-31133" in authz.deny with input as rt("1.1.5", ["CVE-2025-31133"]) with data.moat.forbidden_runtime_advisories as ["CVE-2025-31133"]
	authz.allow with input as rt("1.1.5", ["CVE-2025-52565"]) with data.moat.forbidden_runtime_advisories as ["CVE-2025-31133"]
}

test_unlisted_supplementary_group_allowed if {
	inp := object.union(base, {"action": "container.run", "subject": {"user": "alice", "uid": 1000, "local": true, "groups": [100]}})
	authz.allow with input as inp with data.moat.forbidden_groups as [6]
}

# ---- every action that makes a container run: run, create, start, exec ------------------------
# start and exec carry the container's run summary (its recorded options, its stored spec) and the
# process about to run, in the shapes run has: one set of rules judges all four.

proc(uid) := {"user": sprintf("%d", [uid]), "uid": uid, "gid": uid, "additional_gids": [], "cmd": ["sh"], "env": [], "workdir": "/", "tty": false, "capabilities": [], "no_new_privileges": true}

# A request about the container of `inp` (its run summary), made by `action`, running `p`.
acting(inp, action, p) := object.union(inp, {"action": action, "path": "/containers/c1/x", "facts": {"process": p, "container": {"id": "c1", "name": "web"}}})

root_excepted := {"root": [digest]}

test_require_non_root_run_create_start if {
	every action in ["container.run", "container.create", "container.start"] {
		"running as root inside the container requires an exception" in authz.deny with input as acting(with_spec({"user": "0"}), action, proc(0))
			with data.moat.require_non_root as true
		authz.allow with input as acting(with_spec({"user": "0"}), action, proc(0))
			with data.moat.require_non_root as true with data.moat.exceptions as root_excepted
		authz.allow with input as acting(with_spec({"user": "0"}), action, proc(0))
		authz.allow with input as acting(base, action, proc(1000)) with data.moat.require_non_root as true
	}
}

# An input with no process facts (an older caller): the run summary's user counts.
test_require_non_root_without_process_facts if {
	not authz.allow with input as with_spec({"user": "0"}) with data.moat.require_non_root as true
	authz.allow with input as base with data.moat.require_non_root as true
}

# exec -u 0 into a container that runs as 1000: the process exec starts is what counts.
test_exec_as_root_denied_when_non_root_required if {
	as_root := object.union(proc(0), {"raw_user": "0"})
	"running as root inside the container requires an exception" in authz.deny with input as acting(base, "container.exec", as_root)
		with data.moat.require_non_root as true
	authz.allow with input as acting(base, "container.exec", as_root)
	authz.allow with input as acting(base, "container.exec", as_root)
		with data.moat.require_non_root as true with data.moat.exceptions as root_excepted
}

test_exec_as_root_by_name_denied if {
	by_name := object.union(proc(0), {"raw_user": "root:wheel"})
	not authz.allow with input as acting(base, "container.exec", by_name) with data.moat.require_non_root as true

	# A name exec could not resolve, spelled as root: still root.
	unresolved := {"user": "root", "raw_user": "root", "cmd": ["id"], "env": [], "workdir": "/", "tty": false, "capabilities": []}
	not authz.allow with input as acting(base, "container.exec", unresolved) with data.moat.require_non_root as true
}

# exec as a non-root user into a container excepted to run as root is fine; exec as its own user
# (root) needs the same exception run needed.
test_exec_user_of_root_container if {
	root_container := with_spec({"user": "0"})
	authz.allow with input as acting(root_container, "container.exec", object.union(proc(1000), {"raw_user": "1000"}))
		with data.moat.require_non_root as true
	not authz.allow with input as acting(root_container, "container.exec", proc(0)) with data.moat.require_non_root as true
	authz.allow with input as acting(root_container, "container.exec", proc(0))
		with data.moat.require_non_root as true with data.moat.exceptions as root_excepted
}

# What the container was given is judged again at start and exec: created under another policy,
# its mounts, capabilities and seccomp profile still have to pass this one.
test_start_and_exec_judge_what_the_container_has if {
	every action in ["container.start", "container.exec"] {
		"mounting host path /home/alice/p (/proc) is not allowed" in authz.deny with input as acting(with_mount("/home/alice/p", "/proc", true), action, proc(1000))
		"capability SYS_ADMIN is not allowed" in authz.deny with input as acting(with_spec({"cap_add": ["SYS_ADMIN"]}), action, proc(1000))
		"privileged containers are not allowed" in authz.deny with input as acting(with_spec({"privileged": true}), action, proc(1000))
		"host network is not allowed" in authz.deny with input as acting(with_spec({"network_mode": "host"}), action, proc(1000))
		not authz.allow with input as acting(with_spec({"seccomp": {"profile": "custom", "looser_than_default": true, "loosened": ["ptrace"], "digest": other_digest}}), action, proc(1000))
		authz.allow with input as acting(with_spec({"cap_add": ["SYS_ADMIN"]}), action, proc(1000))
			with data.moat.exceptions as {"capabilities": [digest]}
		authz.allow with input as acting(with_mount("/home/alice/src", "/home/alice/src", false), action, proc(1000))
	}
}

# A remote subject may not start or exec into a container that mounts what it could not mount.
test_remote_start_exec_mounts if {
	every action in ["container.start", "container.exec"] {
		inp := as_remote(acting(with_mount("/home/alice/.ssh", "/home/alice/.ssh", false), action, proc(1000)))
		"remote subject ci may not mount host path /home/alice/.ssh" in authz.deny with input as inp with data.moat.remote_users as ["ci"]
		authz.allow with input as inp with data.moat.remote_users as ["ci"] with data.moat.remote_mount_dirs as ["/home/alice"]
	}
}

# Routes that run nothing in the container (stop, kill, rm, logs, inspect, stats, wait) see its
# record and spec, and are not judged on what it was given: a container the policy would no
# longer start can still be stopped, read and removed.
test_other_container_routes_not_judged_on_the_container if {
	every action in ["container.stop", "container.kill", "container.remove", "container.logs", "container.inspect", "container.stats", "container.wait"] {
		authz.allow with input as {"subject": base.subject, "action": action, "facts": {"container": {"id": "c1", "name": "web", "image_id": image_id}, "spec": {"process": {"user": {"uid": 0, "gid": 0}}}}}
			with data.moat.require_non_root as true with data.moat.blocked_images as [image_id]
	}
}

# ---- require_provenance ----------------------------------------------------------------------
builder := "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.0.0"

provenance_v1(id) := {
	"predicate_type": "https://slsa.dev/provenance/v1",
	"predicate": {"buildDefinition": {"buildType": "https://example.com/b/v1"}, "runDetails": {"builder": {"id": id}}},
	"signer": {"kind": "key", "key_id": digest},
	"source": "att",
}

provenance_v02(id) := {
	"predicate_type": "https://slsa.dev/provenance/v0.2",
	"predicate": {"builder": {"id": id}, "buildType": "https://example.com/b/v1"},
	"signer": {"kind": "keyless", "subject": "ci@example.com", "issuer": "https://issuer.example.com"},
	"source": "referrer",
}

# A v1 provenance with this predicate (object.union would merge into the good one's).
with_predicate(p) := {"predicate_type": "https://slsa.dev/provenance/v1", "predicate": p, "signer": {"kind": "key"}, "source": "att"}

with_attestations(as) := with_image({"signature": {"verified": true, "attestations": as}})

test_provenance_not_required_by_default if {
	authz.allow with input as base
	authz.allow with input as with_attestations([])
}

test_provenance_from_allowed_builder if {
	authz.allow with input as with_attestations([provenance_v1(builder)])
		with data.moat.require_provenance as true with data.moat.allowed_builders as [builder]
	authz.allow with input as with_attestations([provenance_v02(builder)])
		with data.moat.require_provenance as true with data.moat.allowed_builders as [builder]

	# one good attestation among others is enough
	authz.allow with input as with_attestations([provenance_v1("https://evil.example/b"), provenance_v1(builder)])
		with data.moat.require_provenance as true with data.moat.allowed_builders as [builder]
}

test_provenance_required_and_missing if {
	d := authz.decision with input as with_attestations([])
		with data.moat.require_provenance as true with data.moat.allowed_builders as [builder]
	not d.allow
	"image has no verified SLSA provenance from an allowed builder (no verified provenance)" in d.deny

	# no attestations field at all, or no signature facts: denied too
	not authz.allow with input as with_image({"signature": {"verified": true}})
		with data.moat.require_provenance as true with data.moat.allowed_builders as [builder]
}

test_provenance_from_another_builder_denied if {
	d := authz.decision with input as with_attestations([provenance_v1("https://evil.example/b")])
		with data.moat.require_provenance as true with data.moat.allowed_builders as [builder]
	not d.allow
	"image has no verified SLSA provenance from an allowed builder (builders: https://evil.example/b)" in d.deny

	# no builder allowed: nothing passes
	not authz.allow with input as with_attestations([provenance_v1(builder)])
		with data.moat.require_provenance as true
}

# Non-canonical inputs: near-miss builder IDs and predicate types, the builder ID in the wrong
# place or of the wrong type, a dropped (null) predicate, attestations that are not a list.
test_provenance_non_canonical_inputs_denied if {
	near_misses := [
		provenance_v1(concat("", [builder, "/"])),
		provenance_v1(concat("", [builder, ".evil"])),
		provenance_v1(upper(builder)),
		provenance_v1(concat("", [" ", builder])),
		object.union(provenance_v1(builder), {"predicate_type": "https://slsa.dev/provenance/v1/"}),
		object.union(provenance_v1(builder), {"predicate_type": "HTTPS://SLSA.DEV/PROVENANCE/V1"}),
		object.union(provenance_v1(builder), {"predicate_type": "https://spdx.dev/Document"}),
		with_predicate(null),
		with_predicate({"runDetails": {"builder": {"id": [builder]}}}),
		with_predicate({"runDetails": {"builder": builder}}),
		with_predicate({"builderId": builder}),
		with_predicate({"runDetails": {"builderId": builder}}),
	]
	every a in near_misses {
		not authz.allow with input as with_attestations([a])
			with data.moat.require_provenance as true with data.moat.allowed_builders as [builder]
	}
	not authz.allow with input as with_attestations({"predicate_type": "https://slsa.dev/provenance/v1"})
		with data.moat.require_provenance as true with data.moat.allowed_builders as [builder]
	not authz.allow with input as with_attestations("https://slsa.dev/provenance/v1")
		with data.moat.require_provenance as true with data.moat.allowed_builders as [builder]

	# require_provenance must be exactly true to apply
	authz.allow with input as with_attestations([]) with data.moat.require_provenance as "true"
}

test_attest_is_local_only if {
	inp := object.union(as_remote(base), {"action": "image.attest", "path": "/images/attest"})
	d := authz.decision with input as inp with data.moat.remote_users as ["ci"]
	"image.attest is for local subjects only" in d.deny
}

# ---- volumes ---------------------------------------------------------------------------------
volume_mount(name, ro) := {
	"type": "volume",
	"name": name,
	"anonymous": false,
	"source": sprintf("/home/alice/.local/share/moat/volumes/%s/_data", [name]),
	"raw_source": name,
	"destination": "/data",
	"readonly": ro,
}

test_volume_under_moat_data_allowed if {
	# A volume's directory is inside moat's data directory, which no bind may name.
	authz.allow with input as with_spec({"mounts": [volume_mount("db", false)]})
	authz.allow with input as as_remote(with_spec({"mounts": [volume_mount("db", false)]})) with data.moat.remote_users as ["ci"]
}

test_bind_of_volume_directory_denied if {
	# The same directory named as a host path is a bind: moat's state, refused.
	p := "/home/alice/.local/share/moat/volumes/db/_data"
	sprintf("mounting host path %s is not allowed", [p]) in authz.deny with input as with_mount(p, p, false)
}

test_mount_without_type_is_a_bind if {
	m := object.remove(volume_mount("db", false), ["type"])
	not authz.allow with input as with_spec({"mounts": [m]})
}

test_volume_beside_protected_bind_still_denied if {
	inp := with_spec({"mounts": [volume_mount("db", false), mount("/etc", "/etc", true)]})
	"mounting host path /etc is not allowed" in authz.deny with input as inp
}

# ---- seccomp learning ----------------------------------------------------------------------------
learning := {"profile": "learning", "default_action": "SCMP_ACT_ALLOW", "looser_than_default": true, "loosened": ["every call (a learning run records them)"], "learn_file": "/home/u/p.json"}

test_local_owner_learns_a_seccomp_profile if {
	authz.allow with input as with_spec({"seccomp": learning})
}

test_remote_subject_may_not_learn if {
	inp := as_remote(with_spec({"seccomp": learning}))
	"seccomp learning (moat seccomp learn, --seccomp-learn) is for local subjects only" in authz.deny with input as inp with data.moat.remote_users as ["ci"]
	not authz.allow with input as inp with data.moat.remote_users as ["ci"]
}

# ---- networks reaching the host's loopback ---------------------------------------------------------
test_remote_subject_makes_no_network_reaching_host_loopback if {
	hl := as_remote(object.union(base, {"action": "network.create", "body": {"name": "n", "options": {"allow_host_loopback": "true"}}}))
	["remote subject ci may not make a network that reaches the host's loopback (allow_host_loopback): local subjects only"] == [r | some r in authz.deny with input as hl with data.moat.remote_users as ["ci"]]
	plain := as_remote(object.union(base, {"action": "network.create", "body": {"name": "n", "options": {}}}))
	count([r | some r in authz.deny with input as plain with data.moat.remote_users as ["ci"]]) == 0
	authz.allow with input as object.union(hl, {"subject": {"local": true}})
}

test_remote_subject_runs_on_host_loopback_network_only_excepted if {
	inp := as_remote(with_spec({"network_mode": "devnet", "network_host_loopback": true}))
	["remote subject ci may not run on network devnet, which reaches the host's loopback (data.moat.exceptions.host_loopback)"] == [r | some r in authz.deny with input as inp with data.moat.remote_users as ["ci"]]
	authz.allow with input as inp with data.moat.remote_users as ["ci"] with data.moat.exceptions as {"host_loopback": [digest]}
	authz.allow with input as with_spec({"network_mode": "devnet", "network_host_loopback": true})
}

# ---- published ports ---------------------------------------------------------------------------
port(ip, p) := {"host_ip": ip, "host_port": p, "container_port": 80, "protocol": "tcp"}

test_local_owner_publishes_anywhere if {
	authz.allow with input as with_spec({"network_mode": "slirp4netns", "ports": [port("0.0.0.0", 8080)]})
}

test_remote_subject_publishes_on_loopback_only if {
	authz.allow with input as as_remote(with_spec({"network_mode": "slirp4netns", "ports": [port("127.0.0.1", 8080)]})) with data.moat.remote_users as ["ci"]
	inp := as_remote(with_spec({"network_mode": "slirp4netns", "ports": [port("0.0.0.0", 8080)]}))
	["remote subject ci may not publish port 8080 on 0.0.0.0: loopback addresses only (data.moat.exceptions.publish)"] == [r | some r in authz.deny with input as inp with data.moat.remote_users as ["ci"]]
	not authz.allow with input as as_remote(with_spec({"ports": [port("192.0.2.1", 80)]})) with data.moat.remote_users as ["ci"]
	authz.allow with input as inp with data.moat.remote_users as ["ci"] with data.moat.exceptions as {"publish": [digest]}
}

# ---- AppArmor -------------------------------------------------------------------------------
aa_required := "an AppArmor profile is required (data.moat.require_apparmor): load one on the host and run with --security-opt apparmor=NAME, or load moat-default"

test_require_apparmor_off_by_default if {
	authz.allow with input as base
	authz.allow with input as with_spec({"apparmor_profile": null})
}

test_require_apparmor_denies_runs_without_a_profile if {
	every action in ["container.run", "container.create", "container.start", "container.exec"] {
		aa_required in authz.deny with input as acting(base, action, proc(1000)) with data.moat.require_apparmor as true
		aa_required in authz.deny with input as acting(with_spec({"apparmor_profile": null}), action, proc(1000))
			with data.moat.require_apparmor as true
		aa_required in authz.deny with input as acting(with_spec({"apparmor_profile": "unconfined"}), action, proc(1000))
			with data.moat.require_apparmor as true
		aa_required in authz.deny with input as acting(with_spec({"apparmor_profile": ""}), action, proc(1000))
			with data.moat.require_apparmor as true
		authz.allow with input as acting(with_spec({"apparmor_profile": "moat-default"}), action, proc(1000))
			with data.moat.require_apparmor as true
	}
}

test_require_apparmor_exception_by_digest if {
	authz.allow with input as with_spec({"apparmor_profile": "unconfined"})
		with data.moat.require_apparmor as true with data.moat.exceptions as {"apparmor": [digest]}
	not authz.allow with input as with_spec({"apparmor_profile": "unconfined"})
		with data.moat.require_apparmor as true with data.moat.exceptions as {"apparmor": [other_digest]}
}

# Requests that run nothing (stop, logs, apparmor.generate --default) are not judged by it.
test_require_apparmor_only_where_something_runs if {
	authz.allow with input as {"subject": base.subject, "method": "POST", "path": "/containers/c1/stop", "action": "container.stop", "facts": {}}
		with data.moat.require_apparmor as true
	authz.allow with input as {"subject": base.subject, "method": "POST", "path": "/apparmor/generate", "action": "apparmor.generate", "facts": {}}
		with data.moat.require_apparmor as true
}

test_allowed_apparmor_profiles if {
	authz.allow with input as with_spec({"apparmor_profile": "moat-web"}) with data.moat.allowed_apparmor_profiles as ["moat-web", "moat-default"]
	"AppArmor profile moat-other is not one of data.moat.allowed_apparmor_profiles" in authz.deny with input as with_spec({"apparmor_profile": "moat-other"})
		with data.moat.allowed_apparmor_profiles as ["moat-web"]

	# A list alone does not require a profile: require_apparmor does.
	authz.allow with input as base with data.moat.allowed_apparmor_profiles as ["moat-web"]
	not authz.allow with input as base with data.moat.allowed_apparmor_profiles as ["moat-web"] with data.moat.require_apparmor as true
}

test_remote_subject_runs_unconfined_by_apparmor_only_excepted if {
	inp := as_remote(with_spec({"apparmor_profile": "unconfined"}))
	["remote subject ci may not run a container unconfined by AppArmor (apparmor=unconfined): data.moat.exceptions.apparmor"] == [r | some r in authz.deny with input as inp with data.moat.remote_users as ["ci"]]
	authz.allow with input as inp with data.moat.remote_users as ["ci"] with data.moat.exceptions as {"apparmor": [digest]}
	authz.allow with input as with_spec({"apparmor_profile": "unconfined"})
	authz.allow with input as as_remote(with_spec({"apparmor_profile": "moat-web"})) with data.moat.remote_users as ["ci"]
}

# ---- moat-runtime (oci.create) ----------------------------------------------------------------
oci_base := {
	"subject": {"user": "root", "uid": 0, "local": true, "via": "cli"},
	"method": "POST", "path": "/oci/create", "action": "oci.create",
	"facts": {
		"pod": {"source": null, "namespace": null},
		"oci": {"capabilities": ["CHOWN", "KILL"], "privileged": false, "host_namespaces": [], "bind_mounts": [{"source": "/var/lib/containers/x/hosts", "destination": "/etc/hosts"}]},
	},
}

with_oci(patch) := object.union(oci_base, {"facts": {"oci": object.union(oci_base.facts.oci, patch)}})

test_oci_create_allows_an_ordinary_spec if {
	authz.allow with input as oci_base
}

test_oci_create_refuses_what_hands_out_the_host if {
	"capability SYS_ADMIN is not allowed (the container's spec asks for it)" in authz.deny with input as with_oci({"capabilities": ["CHOWN", "SYS_ADMIN"]})
	"privileged containers are not allowed (the spec asks for every capability)" in authz.deny with input as with_oci({"privileged": true})
	"the host's pid namespace is not allowed (the spec asks for none of its own)" in authz.deny with input as with_oci({"host_namespaces": ["pid"]})
	"mounting host path /etc/shadow is not allowed" in authz.deny with input as with_oci({"bind_mounts": [{"source": "/etc/shadow", "destination": "/x"}]})
	"mounting host path / is not allowed" in authz.deny with input as with_oci({"bind_mounts": [{"source": "/", "destination": "/x"}]})
	# /etcetera is not inside /etc
	authz.allow with input as with_oci({"bind_mounts": [{"source": "/etcetera", "destination": "/x"}]})
	"the container's root filesystem may not be the host's /" in authz.deny with input as with_oci({"root": {"path": "/"}})
	"mounting host path /run/containerd/containerd.sock is not allowed" in authz.deny with input as with_oci({"bind_mounts": [{"source": "/run/containerd/containerd.sock", "destination": "/x"}]})
}

# containerd's CRI plugin keeps a pod's /dev/shm under /run/containerd, and its rootfs too.
test_oci_create_allows_containerd_pod_paths if {
	authz.allow with input as with_oci({
		"root": {"path": "/run/containerd/io.containerd.runtime.v2.task/k8s.io/c1/rootfs"},
		"bind_mounts": [{"source": "/run/containerd/io.containerd.grpc.v1.cri/sandboxes/s1/shm", "destination": "/dev/shm"}],
	})
}

test_oci_create_data_knobs if {
	authz.allow with input as with_oci({"host_namespaces": ["network"]}) with data.moat.oci.allowed_host_namespaces as ["network"]
	in_kube_system := object.union(with_oci({"capabilities": ["SYS_ADMIN"]}), {"facts": {"pod": {"source": "containerd", "namespace": "kube-system"}}})
	authz.allow with input as in_kube_system with data.moat.oci.trusted_namespaces as ["kube-system"]
	not authz.allow with input as in_kube_system
}

test_oci_create_refuses_host_devices_beyond_the_default_set if {
	# the default set, by number, whatever the path
	authz.allow with input as with_oci({
		"devices": [{"path": "/dev/null", "device": "c 1:3"}, {"path": "/dev/tty", "device": "c 5:0"}],
		"device_rules": [{"device": "c 1:3", "access": "rwm"}, {"device": "c 136:*", "access": "rwm"}],
	})
	"host device /dev/sda (b 8:0) is not allowed (the spec adds it)" in authz.deny with input as with_oci({"devices": [{"path": "/dev/sda", "device": "b 8:0"}]})
	# a disk's numbers under a harmless name
	"host device /dev/null (b 8:0) is not allowed (the spec adds it)" in authz.deny with input as with_oci({"devices": [{"path": "/dev/null", "device": "b 8:0"}]})
	"host device /dev/fuse (c 10:229) is not allowed (the spec adds it)" in authz.deny with input as with_oci({"devices": [{"path": "/dev/fuse", "device": "c 10:229"}]})
	authz.allow with input as with_oci({"devices": [{"path": "/dev/fuse", "device": "c 10:229"}]}) with data.moat.oci.allowed_devices as ["c 10:229"]
}

test_oci_create_refuses_device_cgroup_rules_for_every_device if {
	"the device cgroup rule \"a *:*\" (rwm) gives the container every host device (the spec asks for it)" in authz.deny with input as with_oci({"device_rules": [{"device": "a *:*", "access": "rwm"}]})
	"the device cgroup rule \"b *:*\" (rw) gives the container every host device (the spec asks for it)" in authz.deny with input as with_oci({"device_rules": [{"device": "b *:*", "access": "rw"}]})
	"the device cgroup rule \"b 8:*\" (rwm) opens a host device outside the default set" in authz.deny with input as with_oci({"device_rules": [{"device": "b 8:*", "access": "rwm"}]})
	"the device cgroup rule \"c 1:*\" (r) opens a host device outside the default set" in authz.deny with input as with_oci({"device_rules": [{"device": "c 1:*", "access": "r"}]})
	authz.allow with input as with_oci({"device_rules": [{"device": "b 8:*", "access": "rwm"}]}) with data.moat.oci.allowed_devices as ["b 8:*"]
}

test_oci_create_refuses_sysctls_outside_the_safe_set if {
	authz.allow with input as with_oci({"sysctls": ["net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start", "kernel.shm_rmid_forced"]})
	"sysctl kernel.msgmax is not allowed (not one of the safe namespaced sysctls)" in authz.deny with input as with_oci({"sysctls": ["kernel.msgmax"]})
	"sysctl net.ipv4.conf.all.forwarding is not allowed (not one of the safe namespaced sysctls)" in authz.deny with input as with_oci({"sysctls": ["net.ipv4.conf.all.forwarding"]})
	authz.allow with input as with_oci({"sysctls": ["kernel.msgmax"]}) with data.moat.oci.allowed_sysctls as ["kernel.msgmax"]
	authz.allow with input as with_oci({"sysctls": ["net.ipv4.conf.all.forwarding"]}) with data.moat.oci.allowed_sysctls as ["net.ipv4.conf.*"]
	not authz.allow with input as with_oci({"sysctls": ["net.ipv6.conf.all.forwarding"]}) with data.moat.oci.allowed_sysctls as ["net.ipv4.conf.*"]
}

test_oci_create_refuses_apparmor_unconfined if {
	["AppArmor profile unconfined is not allowed (the spec asks for it)"] == [r | some r in authz.deny with input as with_oci({"apparmor_profile": "unconfined"})]
	authz.allow with input as with_oci({"apparmor_profile": "containers-default-0.50.1"})
	authz.allow with input as with_oci({"apparmor_profile": "unconfined"}) with data.moat.oci.allowed_apparmor_profiles as ["unconfined"]
}

test_oci_create_trusted_namespaces_cover_devices_sysctls_apparmor if {
	inp := object.union(
		with_oci({"devices": [{"path": "/dev/sda", "device": "b 8:0"}], "device_rules": [{"device": "a *:*", "access": "rwm"}], "sysctls": ["kernel.msgmax"], "apparmor_profile": "unconfined"}),
		{"facts": {"pod": {"source": "containerd", "namespace": "kube-system"}}},
	)
	authz.allow with input as inp with data.moat.oci.trusted_namespaces as ["kube-system"]
	count(authz.deny) == 4 with input as inp
}

# ---- moat-runtime (oci.update) ----------------------------------------------------------------
oci_update_base := {
	"subject": {"user": "root", "uid": 0, "local": true, "via": "cli"},
	"method": "POST", "path": "/oci/update", "action": "oci.update",
	"facts": {
		"pod": {"source": null, "namespace": null},
		"update": {"id": "c1", "resources": {}, "pids_limit": null, "memory_limit": null, "current": {"pids_limit": 2048, "memory_limit": null}, "default_pids_limit": 2048},
	},
}

with_update(patch) := object.union(oci_update_base, {"facts": {"update": object.union(oci_update_base.facts.update, patch)}})

test_oci_update_allows_what_keeps_the_pids_limit if {
	authz.allow with input as oci_update_base
	authz.allow with input as with_update({"pids_limit": 100, "memory_limit": 67108864})
	authz.allow with input as with_update({"pids_limit": 2048})
	# a container created with a higher limit may keep it
	authz.allow with input as with_update({"pids_limit": 4096, "current": {"pids_limit": 4096}})
	# no default configured: no ceiling
	authz.allow with input as with_update({"pids_limit": -1, "default_pids_limit": 0})
}

test_oci_update_refuses_lifting_the_pids_limit if {
	["removing container c1's pids limit is not allowed (the update asks for none)"] == [r | some r in authz.deny with input as with_update({"pids_limit": -1})]
	["raising container c1's pids limit to 100000 is not allowed (at most 2048)"] == [r | some r in authz.deny with input as with_update({"pids_limit": 100000})]
	# current limit not found: the default is the ceiling
	"raising container c1's pids limit to 4096 is not allowed (at most 2048)" in authz.deny with input as with_update({"pids_limit": 4096, "current": null})
	authz.allow with input as with_update({"pids_limit": 100000}) with data.moat.oci.max_pids_limit as 200000
	in_kube_system := object.union(with_update({"pids_limit": -1}), {"facts": {"pod": {"source": "containerd", "namespace": "kube-system"}}})
	authz.allow with input as in_kube_system with data.moat.oci.trusted_namespaces as ["kube-system"]
}

oci_in_ns(ns, caps) := object.union(with_oci({"capabilities": caps}), {"facts": {"pod": {"source": "containerd", "namespace": ns}}})

test_oci_create_namespace_capabilities if {
	per_ns := {"net-tools": ["NET_ADMIN", "CAP_SYS_PTRACE"]}
	authz.allow with input as oci_in_ns("net-tools", ["CHOWN", "NET_ADMIN", "SYS_PTRACE"]) with data.moat.oci.namespace_capabilities as per_ns
	# only those: SYS_ADMIN is still refused there, NET_ADMIN everywhere else
	["capability SYS_ADMIN is not allowed (the container's spec asks for it)"] == [r | some r in authz.deny with input as oci_in_ns("net-tools", ["NET_ADMIN", "SYS_ADMIN"]) with data.moat.oci.namespace_capabilities as per_ns]
	"capability NET_ADMIN is not allowed (the container's spec asks for it)" in authz.deny with input as oci_in_ns("shop", ["NET_ADMIN"]) with data.moat.oci.namespace_capabilities as per_ns
	# outside Kubernetes there is no namespace to match
	"capability NET_ADMIN is not allowed (the container's spec asks for it)" in authz.deny with input as with_oci({"capabilities": ["NET_ADMIN"]}) with data.moat.oci.namespace_capabilities as per_ns
	"capability NET_ADMIN is not allowed (the container's spec asks for it)" in authz.deny with input as oci_in_ns("net-tools", ["NET_ADMIN"])
}
