# SPDX-License-Identifier: GPL-2.0
#
# make                 build kmod/nf_lemonade.ko and tool/lemonctl
# make kmod|tool       build one of them
# make deps            install the build dependencies (Debian 12, as root)
# make KVER=<release>  build the module for that kernel's /lib/modules/<release>/build
# make KDIR=<dir>      ... or for the kernel build tree in <dir>
# make check           run the whole test suite in a QEMU guest (as root)
# make check-debug     the same on a debug kernel (KASAN, lockdep, kmemleak,
#                      fault injection; built once: hours), plus the
#                      stress, fault-injection and kernel netfilter selftests
# make check-stress    the stress selftests on the 6.1 kernel
# make fuzz-long       parser libFuzzer and netlink fuzzer in the debug VM,
#                      FUZZ_LONG_TIME (600) seconds each
# make demo            the demonstration gateway (as root)
# make install         module into /lib/modules/KVER/updates, tool, man page, uapi header
# make dkms-install    sources into /usr/src/nf_lemonade-VERSION for DKMS
# make dkms-uninstall  dkms remove nf_lemonade/VERSION --all, and those sources
# make install-boot    lemonade.service and the example files in /etc (kept if present)
# make deb             Debian packages nf-lemonade-dkms and lemonctl into build/deb/
# make style           checkpatch over the module sources
# make bench           every measurement of Documentation/performance.rst
#                      (the parser on the host, the module in a QEMU guest;
#                      as root, 30-45 minutes)

VERSION := $(shell cat VERSION)
KVER ?= $(shell uname -r)
# Without KVER: the running kernel's build tree, else the newest installed.
# With KVER: that kernel's, or an error (never another kernel's).
ifeq ($(origin KVER),file)
KDIR ?= $(or $(wildcard /lib/modules/$(KVER)/build),\
	$(shell ls -1d /lib/modules/*/build 2>/dev/null | sort -V | tail -n 1))
else
KDIR ?= $(wildcard /lib/modules/$(KVER)/build)
endif
PREFIX ?= /usr
DESTDIR ?=
MODDIR ?= /lib/modules/$(notdir $(patsubst %/build,%,$(KDIR)))/updates

KMAKE = $(MAKE) -C $(KDIR) M=$(CURDIR) LEMONADE_VERSION=$(VERSION) $(KBUILD_EXTRA)

# Goals that build the module say in one line what is missing, before
# anything runs (not a compiler error half-way).
KMOD_GOALS := all kmod install install-kmod
ifneq ($(filter $(KMOD_GOALS),$(or $(MAKECMDGOALS),all)),)
ifeq ($(wildcard $(KDIR)/Makefile),)
$(error no kernel build tree for $(KVER)$(if $(KDIR), in $(KDIR)): install the headers (Debian: apt-get install linux-headers-$(KVER), or make deps), or pass KVER=<installed release> or KDIR=<build tree>)
endif
endif

.PHONY: all kmod tool clean install install-kmod install-tool install-uapi \
	dkms-install dkms-uninstall install-boot deb check demo style deps

all: kmod tool

kmod:
	$(KMAKE) modules

tool:
	$(MAKE) -C tool LEMONADE_VERSION=$(VERSION)

# What "make" needs on Debian 12 (as root): a compiler, libnl for lemonctl
# and the headers of the kernel to build for. A running kernel whose
# headers left the archive gets a one-line hint instead.
BUILD_DEPS := make gcc pkg-config libnl-3-dev libnl-genl-3-dev
deps:
	apt-get install -y $(BUILD_DEPS)
	apt-get install -y linux-headers-$(KVER) || \
		{ echo "Error: linux-headers-$(KVER) is not in the archive any more: apt-get install linux-headers-amd64, then build with KVER=<its release> (ls /lib/modules) or boot that kernel" >&2; exit 1; }

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

# The DKMS source tree: Kbuild, VERSION, dkms.conf, kmod/ and uapi/; never
# the tool, the tests or build products (kmod/*.mod.c is generated).
DKMS_SRC := $(DESTDIR)/usr/src/nf_lemonade-$(VERSION)
DKMS_KMOD_SRC := $(filter-out %.mod.c,$(wildcard kmod/*.c)) $(wildcard kmod/*.h)
dkms-install:
	install -d $(DKMS_SRC)/kmod/compat $(DKMS_SRC)/uapi/linux
	install -m 0644 Kbuild VERSION $(DKMS_SRC)/
	sed 's/@VERSION@/$(VERSION)/' dkms.conf > $(DKMS_SRC)/dkms.conf
	install -m 0644 kmod/Kbuild $(DKMS_KMOD_SRC) $(DKMS_SRC)/kmod/
	install -m 0644 $(wildcard kmod/compat/*.h) $(DKMS_SRC)/kmod/compat/
	install -m 0755 kmod/compat/probe.sh $(DKMS_SRC)/kmod/compat/
	install -m 0644 uapi/linux/lemonade.h $(DKMS_SRC)/uapi/linux/

dkms-uninstall:
	if dkms status -m nf_lemonade -v $(VERSION) 2>/dev/null | grep -q .; then \
		dkms remove -m nf_lemonade -v $(VERSION) --all; fi
	rm -rf /usr/src/nf_lemonade-$(VERSION)

# Boot-time configuration for installs from source (the Debian packages ship
# the same files): the systemd unit, pointed at $(PREFIX)/sbin/lemonctl, and
# the commented example files, which never replace existing ones.
UNITDIR ?= /lib/systemd/system
BOOT_EXAMPLES := lemonade.conf modprobe.d/nf_lemonade.conf modules-load.d/nf_lemonade.conf
install-boot:
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|/usr/sbin/lemonctl|$(PREFIX)/sbin/lemonctl|g' packaging/lemonade.service \
		> $(DESTDIR)$(UNITDIR)/lemonade.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/lemonade.service
	for f in $(BOOT_EXAMPLES); do \
		test -e $(DESTDIR)/etc/$$f || \
		install -D -m 0644 packaging/etc/$$f $(DESTDIR)/etc/$$f || exit; \
	done
	test -n "$(DESTDIR)" || ! test -d /run/systemd/system || systemctl daemon-reload

deb:
	packaging/build-debs.sh

check:
	selftests/run.sh

.PHONY: check-debug check-stress fuzz-long
check-debug:
	LEMONADE_KERNEL=debug selftests/run.sh

check-stress:
	LEMONADE_STRESS=1 selftests/run.sh $(notdir $(wildcard selftests/stress_*.sh))

FUZZ_LONG_TIME ?= 600
fuzz-long:
	$(MAKE) fuzz FUZZ_TIME=$(FUZZ_LONG_TIME)
	selftests/fuzz_long.sh $(FUZZ_LONG_TIME)

# The module on Debian's 5.10, 6.1, 6.12 and 7.2 kernels, the whole guest
# suite on each under QEMU (as root); the result goes to README.md.
.PHONY: matrix
matrix:
	selftests/matrix.sh

demo:
	selftests/demo.sh

.PHONY: bench
bench:
	selftests/bench/run.sh

style:
	selftests/checkpatch.sh

# The negotiation parser (kmod/parse.c) compiled for userspace; outputs in
# build/parser/ (selftests/parser/README.md):
#   make parser-test     unit tests with ASan+UBSan on the transcripts, then a
#                        FUZZ_SHORT (30) second libFuzzer run; fails on any error
#   make fuzz            libFuzzer for FUZZ_TIME seconds (3600), both needing clang
#   make fuzz-diff       libFuzzer comparing parse.c with the byte-at-a-time
#                        reference (selftests/parser/ref/) for FUZZ_TIME seconds
#   make parser-bench    throughput over the transcripts (-O2, no sanitizers)
PARSER_T := selftests/parser
PARSER_B := build/parser
PARSER_DEPS := kmod/parse.c kmod/parse.h $(PARSER_T)/kcompat.h
PARSER_CC ?= gcc
FUZZ_CC ?= clang
PARSER_CFLAGS := -std=gnu11 -g -Wall -Wextra -Werror -Ikmod -include $(PARSER_T)/kcompat.h
PARSER_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_TIME ?= 3600
FUZZ_SHORT ?= 30
FUZZ_FLAGS ?= -max_len=12288 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-dict=$(PARSER_T)/fuzz.dict -artifact_prefix=$(PARSER_B)/
.PHONY: parser-test parser-bench fuzz fuzz-diff
$(PARSER_B)/test_parse: $(PARSER_T)/test_parse.c $(PARSER_T)/dlg.h $(PARSER_DEPS)
	@mkdir -p $(PARSER_B)
	$(PARSER_CC) $(PARSER_CFLAGS) -O1 $(PARSER_SAN) -o $@ $(PARSER_T)/test_parse.c kmod/parse.c
$(PARSER_B)/fuzz_parse: $(PARSER_T)/fuzz_parse.c $(PARSER_DEPS)
	@mkdir -p $(PARSER_B)
	$(FUZZ_CC) $(PARSER_CFLAGS) -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -o $@ $(PARSER_T)/fuzz_parse.c kmod/parse.c
# the reference (the byte-at-a-time parser of commit fdbe643), renamed ref_*
PARSER_REF := -Dlp_init=ref_lp_init -Dlp_feed=ref_lp_feed \
	-Dlp_note_command=ref_lp_note_command -Dlp_stop=ref_lp_stop \
	-Dlp_done=ref_lp_done -Dlp_offset=ref_lp_offset -Dlp_state=ref_lp_state
$(PARSER_B)/fuzz_diff: $(PARSER_T)/fuzz_diff.c $(PARSER_T)/ref/parse.c $(PARSER_T)/ref/parse.h $(PARSER_DEPS)
	@mkdir -p $(PARSER_B)
	$(FUZZ_CC) $(PARSER_CFLAGS) -O1 -fsanitize=fuzzer-no-link,address,undefined \
		-fno-sanitize-recover=all $(PARSER_REF) -c -o $(PARSER_B)/ref_parse.o $(PARSER_T)/ref/parse.c
	$(FUZZ_CC) $(PARSER_CFLAGS) -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -o $@ $(PARSER_T)/fuzz_diff.c kmod/parse.c $(PARSER_B)/ref_parse.o
$(PARSER_B)/bench_parse: $(PARSER_T)/bench_parse.c $(PARSER_T)/dlg.h $(PARSER_DEPS)
	@mkdir -p $(PARSER_B)
	$(PARSER_CC) $(PARSER_CFLAGS) -O2 -o $@ $(PARSER_T)/bench_parse.c kmod/parse.c
parser-test: $(PARSER_B)/test_parse $(PARSER_B)/fuzz_parse
	$(PARSER_B)/test_parse $(PARSER_T)/transcripts
	@mkdir -p $(PARSER_B)/corpus
	$(PARSER_B)/fuzz_parse $(FUZZ_FLAGS) -max_total_time=$(FUZZ_SHORT) \
		$(PARSER_B)/corpus $(PARSER_T)/corpus
fuzz: $(PARSER_B)/fuzz_parse
	@mkdir -p $(PARSER_B)/corpus
	$(PARSER_B)/fuzz_parse $(FUZZ_FLAGS) -max_total_time=$(FUZZ_TIME) \
		$(PARSER_B)/corpus $(PARSER_T)/corpus
fuzz-diff: $(PARSER_B)/fuzz_diff
	@mkdir -p $(PARSER_B)/corpus-diff
	$(PARSER_B)/fuzz_diff $(FUZZ_FLAGS) -max_total_time=$(FUZZ_TIME) \
		$(PARSER_B)/corpus-diff $(PARSER_T)/corpus
parser-bench: $(PARSER_B)/bench_parse
	$(PARSER_B)/bench_parse $(PARSER_T)/transcripts
