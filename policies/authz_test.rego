package moat.authz_test

import data.moat.authz
import rego.v1

digest := concat("", ["sha256:", concat("", [x | some _ in numbers.range(1, 64); x := "a"])])

base := {
	"subject": {"user": "alice", "uid": 1000, "local": true},
	"method": "POST",
	"path": "/containers",
	"facts": {
		"image": {"ref": "docker.io/library/alpine:3", "digest": digest, "signature": {"verified": true}, "scan": {"critical": 0, "high": 2}},
		"run": {"privileged": false, "cap_add": [], "mounts": [], "network_mode": "private", "user": "1000"},
	},
}

with_spec(patch) := object.union(base, {"facts": {"run": object.union(base.facts.run, patch)}})

test_local_user_allowed if authz.allow with input as base

test_remote_user_denied if {
	not authz.allow with input as object.union(base, {"subject": {"user": "mallory", "local": false}})
}

test_remote_user_listed_allowed if {
	authz.allow with input as object.union(base, {"subject": {"user": "ci", "local": false}})
		with data.moat.remote_users as ["ci"]
}

test_privileged_denied if {
	"privileged containers are not allowed" in authz.deny with input as with_spec({"privileged": true})
}

test_privileged_exception if {
	authz.allow with input as with_spec({"privileged": true})
		with data.moat.exceptions.privileged as ["docker.io/library/*"]
}

test_sys_admin_denied if {
	"capability SYS_ADMIN is not allowed" in authz.deny with input as with_spec({"cap_add": ["CAP_SYS_ADMIN"]})
}

test_harmless_cap_allowed if authz.allow with input as with_spec({"cap_add": ["NET_BIND_SERVICE"]})

test_host_etc_mount_denied if {
	not authz.allow with input as with_spec({"mounts": [{"source": "/etc/", "destination": "/host-etc"}]})
}

test_home_mount_allowed if {
	authz.allow with input as with_spec({"mounts": [{"source": "/home/alice/src", "destination": "/src"}]})
}

test_root_mount_denied if {
	"mounting host path / is not allowed" in authz.deny with input as with_spec({"mounts": [{"source": "/", "destination": "/host"}]})
}

test_host_network_denied if {
	not authz.allow with input as with_spec({"network_mode": "host"})
}

test_critical_vulns_denied if {
	not authz.allow with input as object.union(base, {"facts": {"image": {"scan": {"critical": 3}}}})
}

test_critical_vulns_threshold if {
	authz.allow with input as object.union(base, {"facts": {"image": {"scan": {"critical": 3}}}})
		with data.moat.max_critical as 5
}

test_unsigned_denied_when_required if {
	not authz.allow with input as object.union(base, {"facts": {"image": {"signature": {"verified": false}}}})
		with data.moat.require_signature as true
}

test_bad_digest_denied if {
	not authz.allow with input as object.union(base, {"facts": {"image": {"digest": "sha256:xyz"}}})
}

test_decision_shape if {
	d := authz.decision with input as base
	d == {"allow": true, "deny": set()}
}

test_forbidden_supplementary_group_denied if {
	inp := object.union(base, {"action": "container.run", "subject": {"user": "alice", "uid": 1000, "local": true, "groups": [6, 100]}})
	"supplementary group 6 of the caller would reach the container" in authz.deny with input as inp with data.moat.forbidden_groups as [6]
}

test_unlisted_supplementary_group_allowed if {
	inp := object.union(base, {"action": "container.run", "subject": {"user": "alice", "uid": 1000, "local": true, "groups": [100]}})
	authz.allow with input as inp with data.moat.forbidden_groups as [6]
}
