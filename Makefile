# sipdialog C core: unit tests, sanitizer builds, valgrind.
#   make test-c        build and run tests/c/test_*.c against the core (plain -O2 -g)
#   make asan          the same under AddressSanitizer + UndefinedBehaviorSanitizer (clang)
#   make tsan          the same under ThreadSanitizer (clang)
#   make valgrind      the plain build under valgrind --leak-check=full --error-exitcode=1
#   make test-c-scalar the plain build without the SSE2/SSSE3 code paths
#   make tsan-lockorder  a program that takes a dialog lock before its shard lock: passes when
#                      ThreadSanitizer reports the lock-order-inversion (our locks are annotated)
#   make sanitize      asan + tsan + tsan-lockorder + valgrind + scalar (what CI runs)
CC ?= cc
CLANG ?= clang
CSTD = -std=c11 -D_GNU_SOURCE
WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
INC = -Icsrc/include -Icsrc
CORE_SRC = $(sort $(wildcard csrc/base/*.c csrc/msg/*.c csrc/validate/*.c csrc/dialog/*.c csrc/store/*.c))
TEST_SRC = $(sort $(wildcard tests/c/test_*.c))
BUILD = build/c

.PHONY: test-c test-c-scalar asan tsan tsan-lockorder valgrind sanitize clean-c
test-c: $(BUILD)/plain/run_tests
	$(BUILD)/plain/run_tests

$(BUILD)/%/run_tests: $(CORE_SRC) $(TEST_SRC) tests/c/tmain.c $(wildcard tests/c/*.h csrc/*/*.h csrc/include/sipdialog/*.h)
	@mkdir -p $(dir $@)
	$(CCX) $(CSTD) $(WARN) $(INC) $(FLAGS) -o $@ $(CORE_SRC) $(TEST_SRC) tests/c/tmain.c -lpthread

$(BUILD)/plain/run_tests: CCX = $(CC)
$(BUILD)/plain/run_tests: FLAGS = -O2 -g
$(BUILD)/scalar/run_tests: CCX = $(CC)
$(BUILD)/scalar/run_tests: FLAGS = -O2 -g -U__SSE2__
$(BUILD)/asan/run_tests: CCX = $(CLANG)
$(BUILD)/asan/run_tests: FLAGS = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
$(BUILD)/tsan/run_tests: CCX = $(CLANG)
$(BUILD)/tsan/run_tests: FLAGS = -O1 -g -fsanitize=thread

$(BUILD)/tsan/lockorder: $(CORE_SRC) tests/c/tsan_lockorder.c $(wildcard csrc/*/*.h csrc/include/sipdialog/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(CSTD) $(WARN) $(INC) -O1 -g -fsanitize=thread -o $@ $(CORE_SRC) tests/c/tsan_lockorder.c -lpthread

asan: $(BUILD)/asan/run_tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 $(BUILD)/asan/run_tests
tsan: $(BUILD)/tsan/run_tests
	TSAN_OPTIONS=halt_on_error=1 $(BUILD)/tsan/run_tests
tsan-lockorder: $(BUILD)/tsan/lockorder
	@out=$$(TSAN_OPTIONS=halt_on_error=0:exitcode=0 $< 2>&1); \
	if printf '%s\n' "$$out" | grep -q 'WARNING: ThreadSanitizer: lock-order-inversion'; then \
		echo "tsan-lockorder: ThreadSanitizer reports the lock-order-inversion, as it must"; \
	else printf '%s\n' "$$out"; echo "tsan-lockorder: ThreadSanitizer reported no lock-order-inversion"; exit 1; fi
valgrind: $(BUILD)/plain/run_tests
	valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=1 $(BUILD)/plain/run_tests
test-c-scalar: $(BUILD)/scalar/run_tests
	$(BUILD)/scalar/run_tests
sanitize: asan tsan tsan-lockorder valgrind test-c-scalar
clean-c:
	rm -rf $(BUILD)
