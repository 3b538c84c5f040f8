# The two set-up commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
CARGO ?= cargo
# Debian packages the tests and the demo need.
APT_PACKAGES := busybox-static bats jq xz-utils squashfs-tools sqlite3 lxc uidmap btrfs-progs debootstrap \
	dnsmasq-base nftables iproute2 curl bsdutils python3-venv systemd wrk \
	ovmf e2fsprogs
# Debian packages taken from bookworm-backports.
BACKPORTS_PACKAGES := incus-client incus-extra libcowsql-dev libraft-dev qemu-system-x86 qemu-utils
DEMO_DIR ?= /tmp/incus-demo
# pylxd (a second REST client of incus-serve) lives in a venv made by `make deps`, so that
# the tests never reach the package index.
PYLXD_VENV ?= $(CURDIR)/.cache/pylxd-venv

.PHONY: all deps build release test test-slow unit bats lint gen demo bench compare stress clean compat compat-record vm-image agent

all: build

# Installs only what is missing (apt-get update once, only when needed).
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# From bookworm-backports, added on the mirror of the existing bookworm entry: the
	@# upstream client (Incus 6.0), the acceptance test of incus-serve, and libcowsql/libraft
	@# (1.15.8/0.22.1), which the cowsql-client live tests start nodes with.
	@missing=""; for p in $(BACKPORTS_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then \
	    uri=$$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1); \
	    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
	      "$${uri:-http://deb.debian.org/debian}" > /etc/apt/sources.list.d/bookworm-backports.sources; \
	  fi; \
	  echo "Installing from bookworm-backports:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends -t bookworm-backports $$missing; \
	fi
	@# LXC is the oracle of the runtime's confinement test; with newuidmap installed it
	@# needs root's subordinate ids for its user namespace.
	@for f in /etc/subuid /etc/subgid; do \
	  grep -qs '^root:1000000:1000000000$$' $$f || echo 'root:1000000:1000000000' >> $$f; \
	done
	@if ! "$(PYLXD_VENV)/bin/python" -c 'import pylxd' 2>/dev/null; then \
	  echo "Installing pylxd into $(PYLXD_VENV)"; \
	  python3 -m venv "$(PYLXD_VENV)" && "$(PYLXD_VENV)/bin/pip" install -q pylxd; \
	fi

build:
	$(CARGO) build --workspace

# The guest agent of virtual machines, linked statically (its own --target directory, so
# the flag does not rebuild the workspace).
AGENT := target/x86_64-unknown-linux-gnu/release/incus-agent
agent:
	RUSTFLAGS="-C target-feature=+crt-static" $(CARGO) build -q -p incus-agent --release --target x86_64-unknown-linux-gnu

# Test VM images (docs/vm.md), cached: target/vm-images/NAME/{metadata.tar.xz,disk.qcow2}.
VM_IMAGES ?= tiny
vm-image: agent
	@for i in $(VM_IMAGES); do \
	  case $$i in \
	    tiny) scripts/vm-image.sh target/vm-images/tiny $(AGENT) .cache/vm ;; \
	    *) echo "unknown VM image $$i (known: tiny)" >&2; exit 2 ;; \
	  esac; \
	done

release:
	$(CARGO) build --workspace --release

# Unit tests, tests/ (integration against the built binaries) and bats suites.
test: deps build
	INCUS_TEST_PYLXD_VENV="$(PYLXD_VENV)" $(CARGO) test --workspace
	INCUS_BIN_DIR=$(CURDIR)/target/debug PATH="$(CURDIR)/target/debug:$$PATH" bats bats/

# Slow tests, left out of `make test` (shown there as ignored): cloud-init in a Debian 12
# container (the image is built once with debootstrap and cached in /var/cache/incus-tests),
# and lxd-to-incus against a real LXD (Debian's lxd 5.0.2; its package adds a second root:
# line to /etc/subuid and /etc/subgid, so both files are saved and put back).
test-slow: deps build
	@if ! command -v lxd >/dev/null; then \
	  cp /etc/subuid /tmp/.incus-subuid.save; cp /etc/subgid /tmp/.incus-subgid.save; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lxd; \
	  cp /tmp/.incus-subuid.save /etc/subuid; cp /tmp/.incus-subgid.save /etc/subgid; \
	fi
	$(CARGO) test -p incus-tests --test cloudinit -- --ignored
	$(CARGO) test -p incus-tests --test lxd_to_incus -- --ignored

# The differential driver (tests/tests/compat_diff.rs) live: the same command lines
# through the upstream client against upstream's daemon (the oracle,
# ../shared/oracle/upstream-incus.sh install|start|init) and against ours, through the
# upstream client and our own CLI, and backups exported and imported both ways with the
# oracle. `make test` runs the driver against the recorded answers;
# `make compat-record` re-records them from the oracle.
compat: deps build
	INCUS_COMPAT=live $(CARGO) test -p incus-tests --test compat_diff -- --nocapture
	$(CARGO) test -p incus-tests --test backup -- --ignored

compat-record: deps build
	INCUS_COMPAT=record $(CARGO) test -p incus-tests --test compat_diff -- --nocapture

unit: build
	$(CARGO) test --workspace --lib --bins

bats: deps build
	INCUS_BIN_DIR=$(CURDIR)/target/debug PATH="$(CURDIR)/target/debug:$$PATH" bats bats/

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Regenerates man pages, completions and common/db/schema.sql.
gen:
	$(CARGO) xtask gen

# A fresh installation in $(DEMO_DIR), a busybox image made from Debian's
# busybox-static, one instance, listed as JSON.
demo: deps release
	@set -euo pipefail; \
	export PATH="$(CURDIR)/target/release:$$PATH" INCUS_DIR="$(DEMO_DIR)/state"; \
	if [ -d "$$INCUS_DIR" ]; then \
	  incus stop --all -f >/dev/null 2>&1 || true; \
	  for i in $$(incus list -c n -f csv 2>/dev/null); do incus delete -f "$$i" >/dev/null 2>&1 || true; done; \
	  for n in $$(incus network list -f csv 2>/dev/null | cut -d, -f1); do \
	    incus network detach-profile "$$n" default >/dev/null 2>&1 || true; \
	    incus network delete "$$n" >/dev/null 2>&1 || true; \
	  done; \
	fi; \
	rm -rf "$(DEMO_DIR)"; mkdir -p "$(DEMO_DIR)"; \
	echo "== incus admin init --minimal --network (INCUS_DIR=$$INCUS_DIR)"; \
	incus admin init --minimal --network; \
	incus network list; \
	echo "== building a busybox image from /bin/busybox (busybox-static)"; \
	image=$$(incus-image build-busybox "$(DEMO_DIR)/image"); \
	echo "== incus image import $$image --alias busybox"; \
	incus image import "$$image" --alias busybox; \
	incus image list; \
	echo "== incus launch busybox c1"; \
	incus launch busybox c1; \
	echo "== incus exec c1 -- cat /proc/self/uid_map /etc/hostname"; \
	incus exec c1 -- cat /proc/self/uid_map /etc/hostname; \
	echo "== waiting for c1's DHCP lease (the image runs udhcpc at boot; dnsmasq answers)"; \
	for i in $$(seq 1 80); do \
	  ip4=$$(incus list c1 -f json | jq -r '.[0].state.network.eth0.addresses[]? | select(.family=="inet") | .address'); \
	  [ -n "$$ip4" ] && break; sleep 0.25; \
	done; \
	echo "c1 has $${ip4:-no address yet}"; \
	echo "== incus snapshot create c1 snap0 (running: a consistent copy)"; \
	incus snapshot create c1 snap0; \
	incus snapshot list c1; \
	echo "== incus list"; \
	incus list; \
	echo "== incus list --format json"; \
	incus list --format json | jq .; \
	echo "State is in $$INCUS_DIR; c1 is still running. Try:"; \
	echo "  export INCUS_DIR=$$INCUS_DIR PATH=$(CURDIR)/target/release:\$$PATH"; \
	echo "  incus exec c1 -- ps; incus network list-leases incusbr0; incus stop -f c1; incus delete c1"

# The reliability suite at full size: 20 processes x 50 mixed operations, and
# 20000 random tarballs and 20000 random keys/names for the property tests.
stress: deps build
	STRESS_WORKERS=20 STRESS_OPS=50 KILL_ROUNDS=400 $(CARGO) test -p incus-tests --test reliability -- --nocapture
	PROPTEST_CASES=20000 $(CARGO) test -p incus-imagefmt --test it fuzz
	PROPTEST_CASES=20000 $(CARGO) test -p incus-api -p incus-core --lib
	FUZZ_REST_ROUNDS=2000 $(CARGO) test -p incus-tests --test serve random_json -- --nocapture

# The standard benchmark set (medians beside the budgets of docs/architecture.md); a few minutes.
# COUNT=50 LIST_COUNT=200 REPORT=file.csv override the defaults.
bench: deps release
	INCUS_BIN_DIR=$(CURDIR)/target/release scripts/bench.sh

# Upstream's daemon (INCUS_DIR=/var/lib/incus, when installed and running) against ours on
# the same chain of operations, interleaved A B / B A; medians and ratios upstream/ours.
# ROUNDS=15 by default. See docs/performance.md.
compare: release
	INCUS_BIN_DIR=$(CURDIR)/target/release scripts/compare.sh

clean:
	$(CARGO) clean
