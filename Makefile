# tollgate - eBPF egress monitor and governor for hosts that run AI agents.
#
#   make            build build/tollgate (BPF objects, skeleton, user space)
#   sudo make run   install missing packages, build, run `tollgate run` host-wide
#   sudo make test  install missing packages, build, run unit and integration tests
#   make unit       cmocka unit tests only (no privileges), under ASan/UBSan
#   make replay-tests  detector replay scenarios only (no privileges)
#   V=1             show full commands
.DELETE_ON_ERROR:
.SUFFIXES:

BUILD    ?= build
DESTDIR  ?=
SYSCONFDIR ?= /etc
UNITDIR  ?= $(PREFIX)/lib/systemd/system
HOOKSDIR ?= $(PREFIX)/share/containers/oci/hooks.d
DOCDIR   ?= $(PREFIX)/share/doc/tollgate
DATADIR  ?= $(PREFIX)/share/tollgate
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
PREFIX   ?= /usr/local
RUN_ARGS ?=

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN      := -Wall -Wextra -Werror
# snprintf cuts long paths and strings on purpose; the bound is the point
CWARN     := -Wno-format-truncation
CFLAGS    ?= -O2 -g
# user/ has one folder per pipeline stage (README "Layout"); every folder is on the
# include path.
USER_DIRS := $(patsubst %/,%,$(sort $(dir $(wildcard user/*/*.c user/*/*.h))))
USER_INC  := $(addprefix -I,$(USER_DIRS))
CFLAGS    += -std=c11 -D_GNU_SOURCE $(WARN) $(CWARN) -MMD -MP -Iinclude $(USER_INC) -I$(BUILD) \
             -I/usr/include/capstone
LDLIBS    := -lbpf -lelf -lz -lcrypto -lyaml -ljansson -lcapstone -lmicrohttpd -lnghttp2 -lm
BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 $(WARN) -Wno-unused-function \
              -Wno-unused-parameter \
              -MMD -MP -Iinclude -I$(BUILD)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
LIB_SRCS  := $(filter-out user/cli/main.c,$(wildcard user/*/*.c))
LIB_OBJS  := $(patsubst user/%.c,$(BUILD)/user/%.o,$(LIB_SRCS))
SAN_OBJS  := $(patsubst user/%.c,$(BUILD)/san/user/%.o,$(LIB_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
SKEL      := $(BUILD)/tollgate.skel.h

.PHONY: all deps run test unit integration replay-tests clean install
all: $(BUILD)/tollgate

deps:
	$(Q)scripts/deps.sh

$(BUILD)/vmlinux.h:
	$(call msg,BTF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/tollgate.bpf.o: $(BPF_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(SKEL): $(BUILD)/tollgate.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name tollgate_bpf > $@

# The skeleton is generated before any user object is compiled; -MMD records which
# objects really include it.
$(BUILD)/user/%.o: user/%.c | $(SKEL)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libtollgate.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/tollgate: $(BUILD)/user/cli/main.o $(BUILD)/libtollgate.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# ---- fuzzing and benchmarks ----
#   make fuzz        libFuzzer targets (tests/fuzz/), FUZZ_LONG_SECONDS each
#   make fuzz-smoke  the same, FUZZ_SECONDS each (part of `make test`)
#   make bench       the benchmark programs (scripts/bench-*.sh build and run them)
.PHONY: fuzz fuzz-smoke bench

# libFuzzer targets tests/fuzz/fuzz_NAME.c, seeds in tests/fuzz/corpus/NAME/.
# The library sources are rebuilt with clang, coverage instrumentation, ASan and UBSan.
# A new target is one new tests/fuzz/fuzz_NAME.c plus its seed directory (see
# tests/fuzz/README.md); nothing here needs to change.
FUZZ_SECONDS      ?= 20
FUZZ_LONG_SECONDS ?= 600
FUZZ_CFLAGS := -O1 -g -std=c11 -D_GNU_SOURCE $(WARN) -MMD -MP -Iinclude $(USER_INC) -I$(BUILD) \
               -I/usr/include/capstone -Itests/fuzz -fno-omit-frame-pointer \
               -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_OBJS := $(patsubst user/%.c,$(BUILD)/fuzz/user/%.o,$(LIB_SRCS))

$(BUILD)/fuzz/user/%.o: user/%.c | $(SKEL)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/libtollgate.a: $(FUZZ_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/fuzz/libtollgate.a
	$(call msg,CC-FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/fuzz/libtollgate.a $(LDLIBS)

fuzz-smoke: $(FUZZ_BINS)
	$(Q)scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	$(Q)scripts/fuzz.sh $(FUZZ_LONG_SECONDS) $(FUZZ_BINS)

# ---- benchmarks (scripts/bench-pipeline.sh, scripts/bench-overhead.sh run them) ----
$(BUILD)/bench-pipeline: tests/bench/bench_pipeline.c $(BUILD)/libtollgate.a
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libtollgate.a $(LDLIBS) -lhttp_parser

bench: $(BUILD)/bench-pipeline

-include $(wildcard $(BUILD)/fuzz/*.d $(BUILD)/fuzz/user/*/*.d $(BUILD)/bench-pipeline.d)

# Unit tests: the same sources, built with ASan and UBSan.
$(BUILD)/san/user/%.o: user/%.c | $(SKEL)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(BUILD)/san/libtollgate.a: $(SAN_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/san/libtollgate.a
	$(call msg,CC-TEST,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) -Itests/unit -o $@ $< $(BUILD)/san/libtollgate.a \
		$(LDLIBS) -lcmocka

# Detector benchmark (scripts/bench-detect.sh): optimized, no sanitizers.
$(BUILD)/bench-detect: tests/bench/bench_detect.c $(BUILD)/libtollgate.a
	$(call msg,CC-BENCH,$@)
	$(Q)$(CC) $(CFLAGS) -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc -o $@ $< \
		$(BUILD)/libtollgate.a $(LDLIBS)

unit: $(UNIT_BINS)
	$(Q)set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

integration: $(BUILD)/tollgate
	$(Q)python3 -m unittest discover -s tests/integration -p 'test_*.py' -v

# The detector replay scenarios alone: no root, no BPF.
replay-tests: $(BUILD)/tollgate
	$(Q)python3 -m unittest discover -s tests/integration -p 'test_replay_*.py' -v

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(BUILD)/tollgate run $(RUN_ARGS)

test: deps
	$(Q)$(MAKE) --no-print-directory all unit
	$(Q)$(MAKE) --no-print-directory integration
	$(Q)$(MAKE) --no-print-directory fuzz-smoke

# Binary, default policy (kept if one is there), Prometheus rules, Grafana dashboard,
# systemd unit, OCI hooks.d entry, logrotate snippet, README.
install: $(BUILD)/tollgate
	install -D -m 0755 $(BUILD)/tollgate $(DESTDIR)$(PREFIX)/bin/tollgate
	install -D -m 0644 scripts/deploy/prometheus-rules.yml $(DESTDIR)$(DATADIR)/prometheus-rules.yml
	install -D -m 0644 scripts/deploy/grafana-dashboard.json $(DESTDIR)$(DATADIR)/grafana-dashboard.json
	install -D -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/tollgate
	test -e $(DESTDIR)$(SYSCONFDIR)/tollgate/policy.yaml || \
		$(BUILD)/tollgate policy show > $(DESTDIR)$(SYSCONFDIR)/tollgate/policy.yaml
	install -d -m 0755 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(HOOKSDIR)
	sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		-e 's|@DOCDIR@|$(DOCDIR)|g' scripts/deploy/tollgate.service \
		> $(DESTDIR)$(UNITDIR)/tollgate.service
	sed -e 's|@BINDIR@|$(PREFIX)/bin|g' scripts/deploy/oci-hook.json \
		> $(DESTDIR)$(HOOKSDIR)/tollgate.json
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/logrotate.d
	sed -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' scripts/deploy/logrotate \
		> $(DESTDIR)$(SYSCONFDIR)/logrotate.d/tollgate

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/bpf/*.d $(BUILD)/user/*/*.d $(BUILD)/san/user/*/*.d $(BUILD)/tests/*.d \
		     $(BUILD)/*.d)
