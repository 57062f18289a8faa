# sipdialog C core: unit tests, sanitizer builds, valgrind.
#   make test-c        build and run tests/c/test_*.c against the core (plain -O2 -g)
#   make asan          the same under AddressSanitizer + UndefinedBehaviorSanitizer (clang)
#   make tsan          the same under ThreadSanitizer (clang)
#   make valgrind      the plain build under valgrind --leak-check=full --error-exitcode=1
#   make test-c-scalar the plain build without the SSE2/SSSE3 code paths
#   make sanitize      asan + tsan + valgrind + scalar (what CI runs)
CC ?= cc
CLANG ?= clang
CSTD = -std=c11 -D_GNU_SOURCE
WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
INC = -Icsrc/include -Icsrc
CORE_SRC = $(sort $(wildcard csrc/base/*.c csrc/msg/*.c csrc/validate/*.c csrc/dialog/*.c csrc/store/*.c))
TEST_SRC = $(sort $(wildcard tests/c/test_*.c))
BUILD = build/c

.PHONY: test-c test-c-scalar asan tsan valgrind sanitize clean-c
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

asan: $(BUILD)/asan/run_tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 $(BUILD)/asan/run_tests
tsan: $(BUILD)/tsan/run_tests
	TSAN_OPTIONS=halt_on_error=1 $(BUILD)/tsan/run_tests
valgrind: $(BUILD)/plain/run_tests
	valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=1 $(BUILD)/plain/run_tests
test-c-scalar: $(BUILD)/scalar/run_tests
	$(BUILD)/scalar/run_tests
sanitize: asan tsan valgrind test-c-scalar
clean-c:
	rm -rf $(BUILD)
