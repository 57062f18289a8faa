/* test_base.c - error records and limits. */
#include "tcheck.h"
#include "sipdialog/base.h"

TEST(test_error_set)
{
    sd_error e;
    CHECK_EQ_INT(sd_error_set(&e, SD_EPARSE, 7, "bad %s", "thing"), SD_EPARSE);
    CHECK_EQ_INT(e.offset, 7);
    CHECK(strcmp(e.reason, "bad thing") == 0);
    CHECK_EQ_INT(sd_error_set(NULL, SD_ELIMIT, 0, "x"), SD_ELIMIT);
}

TEST(test_limits_default)
{
    sd_limits l;
    sd_limits_default(&l);
    CHECK_EQ_INT(l.max_message, 65535);
    CHECK_EQ_INT(l.max_tag, 256);
    CHECK_EQ_INT(l.max_via, 64);
}
