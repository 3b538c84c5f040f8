# The two set-up commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
CARGO ?= cargo
# Debian packages the tests and the demo need.
APT_PACKAGES := busybox-static bats jq xz-utils squashfs-tools sqlite3 lxc uidmap curl bsdutils python3-venv
DEMO_DIR ?= /tmp/incus-demo

.PHONY: all deps build release test unit bats lint gen demo clean

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
	@# The upstream client (Incus 6.0) is the acceptance test of incus-serve; it comes
	@# from bookworm-backports, added on the mirror of the existing bookworm entry.
	@if ! dpkg-query -W -f='$${Status}' incus-client 2>/dev/null | grep -q "install ok installed"; then \
	  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then \
	    uri=$$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1); \
	    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
	      "$${uri:-http://deb.debian.org/debian}" > /etc/apt/sources.list.d/bookworm-backports.sources; \
	  fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends -t bookworm-backports incus-client; \
	fi
	@# LXC is the oracle of the runtime's confinement test; with newuidmap installed it
	@# needs root's subordinate ids for its user namespace.
	@for f in /etc/subuid /etc/subgid; do \
	  grep -qs '^root:1000000:1000000000$$' $$f || echo 'root:1000000:1000000000' >> $$f; \
	done

build:
	$(CARGO) build --workspace

release:
	$(CARGO) build --workspace --release

# Unit tests, tests/ (integration against the built binaries) and bats suites.
test: deps build
	$(CARGO) test --workspace
	INCUS_BIN_DIR=$(CURDIR)/target/debug PATH="$(CURDIR)/target/debug:$$PATH" bats bats/

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
	if [ -d "$$INCUS_DIR" ]; then incus stop --all -f >/dev/null 2>&1 || true; fi; \
	rm -rf "$(DEMO_DIR)"; mkdir -p "$(DEMO_DIR)"; \
	echo "== incus admin init --minimal (INCUS_DIR=$$INCUS_DIR)"; \
	incus admin init --minimal; \
	echo "== building a busybox image from /bin/busybox (busybox-static)"; \
	image=$$(incus-image build-busybox "$(DEMO_DIR)/image"); \
	echo "== incus image import $$image --alias busybox"; \
	incus image import "$$image" --alias busybox; \
	incus image list; \
	echo "== incus launch busybox c1"; \
	incus launch busybox c1; \
	echo "== incus exec c1 -- cat /proc/self/uid_map /etc/hostname"; \
	incus exec c1 -- cat /proc/self/uid_map /etc/hostname; \
	echo "== incus list"; \
	incus list; \
	echo "== incus list --format json"; \
	incus list --format json | jq .; \
	echo "State is in $$INCUS_DIR; c1 is still running. Try:"; \
	echo "  export INCUS_DIR=$$INCUS_DIR PATH=$(CURDIR)/target/release:\$$PATH"; \
	echo "  incus exec c1 -- ps; incus stop -f c1; incus delete c1"

clean:
	$(CARGO) clean
