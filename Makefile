# SPDX-License-Identifier: GPL-2.0
#
# make                 build kmod/nf_lemonade.ko and tool/lemonctl
# make kmod|tool       build one of them
# make KVER=<release>  build the module for that kernel's /lib/modules/<release>/build
# make KDIR=<dir>      ... or for the kernel build tree in <dir>
# make check           run the whole test suite in a QEMU guest (as root)
# make demo            the demonstration gateway (as root)
# make install         module into /lib/modules/KVER/updates, tool, man page, uapi header
# make dkms-install    sources into /usr/src/nf_lemonade-VERSION for DKMS
# make style           checkpatch over the module sources

VERSION := $(shell cat VERSION)
KVER ?= $(shell uname -r)
KDIR ?= $(or $(wildcard /lib/modules/$(KVER)/build),\
	$(shell ls -1d /lib/modules/*/build 2>/dev/null | sort -V | tail -n 1))
PREFIX ?= /usr
DESTDIR ?=
MODDIR ?= /lib/modules/$(notdir $(patsubst %/build,%,$(KDIR)))/updates

KMAKE = $(MAKE) -C $(KDIR) M=$(CURDIR) LEMONADE_VERSION=$(VERSION) $(KBUILD_EXTRA)

.PHONY: all kmod tool clean install install-kmod install-tool install-uapi \
	dkms-install check demo style

all: kmod tool

kmod:
	@test -n "$(KDIR)" -a -d "$(KDIR)" || { echo "Error: no kernel build tree found (install linux-headers-$(KVER), or pass KVER= or KDIR=)" >&2; exit 2; }
	$(KMAKE) modules

tool:
	$(MAKE) -C tool LEMONADE_VERSION=$(VERSION)

clean:
	-test -n "$(KDIR)" -a -d "$(KDIR)" && $(KMAKE) clean
	$(MAKE) -C tool clean
	rm -rf build

install: install-kmod install-tool install-uapi

install-kmod: kmod
	install -D -m 0644 kmod/nf_lemonade.ko $(DESTDIR)$(MODDIR)/nf_lemonade.ko
	test -n "$(DESTDIR)" || depmod -a $(notdir $(patsubst %/build,%,$(KDIR)))

install-tool: tool
	$(MAKE) -C tool install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)

install-uapi:
	install -D -m 0644 uapi/linux/lemonade.h $(DESTDIR)$(PREFIX)/include/linux/lemonade.h

DKMS_SRC := $(DESTDIR)/usr/src/nf_lemonade-$(VERSION)
dkms-install:
	install -d $(DKMS_SRC)/kmod/compat $(DKMS_SRC)/uapi/linux
	install -m 0644 Kbuild VERSION $(DKMS_SRC)/
	sed 's/@VERSION@/$(VERSION)/' dkms.conf > $(DKMS_SRC)/dkms.conf
	install -m 0644 kmod/Kbuild kmod/*.c kmod/*.h $(DKMS_SRC)/kmod/
	install -m 0644 kmod/compat/compat.h $(DKMS_SRC)/kmod/compat/
	install -m 0755 kmod/compat/probe.sh $(DKMS_SRC)/kmod/compat/
	install -m 0644 uapi/linux/lemonade.h $(DKMS_SRC)/uapi/linux/

check:
	selftests/run.sh

demo:
	selftests/demo.sh

style:
	selftests/checkpatch.sh
