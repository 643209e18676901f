# corebox: `make` builds the release binary, `make test` runs everything CI runs.
SWIFT ?= swift
PREFIX ?= /usr
DESTDIR ?=
# The debootstrap cache and the image live outside the repository.
COREBOX_CACHE ?= /var/tmp/corebox
export COREBOX_CACHE

# The Swift runtime is linked statically: the binary needs no libswift*.
RELEASE = $(SWIFT) build -c release --static-swift-stdlib --disable-local-rpath
BIN = .build/release/corebox

.PHONY: all setup build debug check test vmtest image boot demo bench install clean

all: build

setup:
	@scripts/setup

# The shipped binary carries no debug info (a third of its pages); it stays
# beside it in corebox.debug, found by gdb through the debug link.
build: setup
	$(RELEASE) --product corebox
	objcopy --only-keep-debug $(BIN) $(BIN).debug
	objcopy --strip-debug --strip-unneeded --add-gnu-debuglink=$(BIN).debug $(BIN)

debug: setup
	$(SWIFT) build

# Unit and host integration tests (a private dbus-daemon, loopback HTTP, the
# release binary as it ships).
check: build
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Everything: unit, integration and the VM tests in QEMU.
test: check vmtest

vmtest: image
	scripts/vm-test Tests/VM/*.sh

image: build
	scripts/build-image

boot: image
	scripts/boot

demo: image
	scripts/demo

bench: build
	bench/startup
	bench/kvd
	bench/cloud-init
	bench/container

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/corebox
	find symlinks -maxdepth 1 -type l -exec cp -P -t $(DESTDIR)$(PREFIX)/bin/ {} +
	cp -a rootfs/. $(DESTDIR)/

clean:
	rm -rf .build
