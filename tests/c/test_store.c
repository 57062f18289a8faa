/*
 * test_store.c - the sharded dialog store through its public API: each
 * look-up path, re-keying on the first tagged response, forks, both tag
 * orientations, the live view (ended dialogs leave at once, tombstones
 * for their IDs), the bounds (max_dialogs, max_per_call) at their exact
 * edges, remove, close, and the table invariants after growth and
 * deletions.
 */
#include "sipdialog/store.h"
#include "store_util.h"
#include "tcheck.h"

typedef struct fclock {
    int64_t t;
} fclock;

static int64_t fclock_now(void *ctx)
{
    return ((fclock *)ctx)->t;
}

typedef struct removed_log {
    int n;
    sd_dialog *last;
} removed_log;

static void on_removed(void *ctx, sd_dialog *d)
{
    removed_log *r = ctx;
    r->n++;
    r->last = d;
}

static sd_store *new_store(fclock *c, removed_log *r, unsigned shards, size_t max)
{
    sd_store_opts o;
    sd_store_opts_default(&o);
    o.shards = shards;
    if (max) o.max_dialogs = max;
    if (c) {
        o.now = fclock_now;
        o.now_ctx = c;
    }
    if (r) {
        o.on_removed = on_removed;
        o.removed_ctx = r;
    }
    sd_store *s = NULL;
    sd_error e;
    if (sd_store_new(&o, &s, &e) != SD_OK) abort();
    return s;
}

static void check_invariants(sd_store *s)
{
    sd_error e;
    sd_err rc = sd_store_check(s, &e);
    if (rc != SD_OK) fprintf(stderr, "store invariant: %s\n", e.reason);
    CHECK(rc == SD_OK);
}

TEST(store_options_checked)
{
    sd_store_opts o;
    sd_store *s = NULL;
    sd_error e;
    sd_store_opts_default(&o);
    o.shards = 48;
    CHECK(sd_store_new(&o, &s, &e) == SD_EINVAL);
    CHECK(strstr(e.reason, "power of two") != NULL);
    o.shards = 8192;
    CHECK(sd_store_new(&o, &s, &e) == SD_EINVAL);
    o.shards = 1;
    o.max_dialogs = 0;
    CHECK(sd_store_new(&o, &s, &e) == SD_EINVAL);
    o.max_dialogs = 1;
    CHECK(sd_store_new(&o, &s, &e) == SD_OK);
    sd_store_unref(s);
}

/* RFC 3261 12: the dialog ID is Call-ID, local tag, remote tag. */
TEST(store_get_by_id)
{
    sd_dlg_env env;
    sd_dlg_env_default(&env);
    sd_store *s = new_store(NULL, NULL, 64, 0);
    sd_dialog *d = s_uac_confirmed(&env, "call-1@atlanta", "a1", "b1");
    sd_error e;
    CHECK(sd_store_add(s, d, &e) == SD_OK);
    CHECK(sd_store_len(s) == 1);
    sd_dialog *g = sd_store_get(s, s_str("call-1@atlanta"), s_str("a1"), s_str("b1"));
    CHECK(g == d);
    sd_dialog_unref(g);
    CHECK(sd_store_get(s, s_str("call-1@atlanta"), s_str("b1"), s_str("a1")) == NULL); /* orientation matters */
    CHECK(sd_store_get(s, s_str("call-1@atlanta"), s_str("a1"), s_str("")) == NULL);
    CHECK(sd_store_get(s, s_str("call-1@atlantA"), s_str("a1"), s_str("b1")) == NULL); /* Call-ID is case-sensitive */
    CHECK(sd_store_get(s, s_str("call-2@atlanta"), s_str("a1"), s_str("b1")) == NULL);
    /* adding it again, or another dialog with its ID, is refused */
    CHECK(sd_store_add(s, d, &e) == SD_EEXIST);
    sd_dialog *twin = s_uac_confirmed(&env, "call-1@atlanta", "a1", "b1");
    CHECK(sd_store_add(s, twin, &e) == SD_EEXIST);
    CHECK(sd_store_len(s) == 1);
    check_invariants(s);
    sd_dialog_unref(twin);
    sd_dialog_unref(d);
    sd_store_unref(s);
}

/* A UAC dialog waits in NONE for its first tagged response; it is found by
 * Call-ID and local tag, and the response re-keys it in the store. */
TEST(store_rekey_on_first_tagged_response)
{
    sd_dlg_env env;
    sd_dlg_env_default(&env);
    sd_store *s = new_store(NULL, NULL, 4, 0);
    sd_dialog *d = s_uac_stored(&env, s, "rk@atlanta", "a1");
    sd_dialog *g = sd_store_get(s, s_str("rk@atlanta"), s_str("a1"), s_str(""));
    CHECK(g == d);
    sd_dialog_unref(g);
    smsg *trying = s_response(100, "rk@atlanta", "a1", NULL);
    g = sd_store_find(s, trying->buf, &trying->m); /* untagged 100: still ours */
    CHECK(g == d);
    sd_dialog_unref(g);
    smsg *ringing = s_response(180, "rk@atlanta", "a1", "b1");
    g = sd_store_find(s, ringing->buf, &ringing->m); /* the tag is not known yet */
    CHECK(g == d);
    sd_dialog_unref(g);
    CHECK(s_recv(d, ringing) == SD_OK);
    CHECK(sd_dialog_state(d) == SD_DLG_EARLY);
    CHECK(sd_store_get(s, s_str("rk@atlanta"), s_str("a1"), s_str("")) == NULL);
    g = sd_store_get(s, s_str("rk@atlanta"), s_str("a1"), s_str("b1"));
    CHECK(g == d);
    sd_dialog_unref(g);
    sd_store_stats st;
    sd_store_stats_get(s, &st, NULL);
    CHECK(st.rekeyed == 1);
    CHECK(st.live == 1 && st.per_state[SD_DLG_EARLY] == 1);
    check_invariants(s);
    sfree(trying);
    sfree(ringing);
    sd_dialog_unref(d);
    sd_store_unref(s);
}

/* RFC 3261 12.1.2 / 13.2.2.4: a response with another To tag makes a
 * sibling dialog; in a store, the sibling joins it in the same step and
 * overwrites nothing. */
TEST(store_fork_adds_sibling)
{
    sd_dlg_env env;
    sd_dlg_env_default(&env);
    sd_store *s = new_store(NULL, NULL, 64, 0);
    sd_dialog *d = s_uac_stored(&env, s, "fork@atlanta", "a1");
    sd_error e;
    smsg *r1 = s_response(180, "fork@atlanta", "a1", "b1");
    smsg *r2 = s_response(183, "fork@atlanta", "a1", "c2");
    CHECK(s_recv(d, r1) == SD_OK);
    /* the second branch's tag finds nothing: it names no dialog yet */
    CHECK(sd_store_find(s, r2->buf, &r2->m) == NULL);
    sd_dialog *sib = NULL;
    CHECK(sd_dialog_fork(d, r2->buf, &r2->m, &sib, &e) == SD_OK);
    CHECK(sd_store_len(s) == 2);
    sd_dialog *g = sd_store_find(s, r2->buf, &r2->m);
    CHECK(g == sib);
    sd_dialog_unref(g);
    g = sd_store_find(s, r1->buf, &r1->m);
    CHECK(g == d);
    sd_dialog_unref(g);
    sd_dialog *all[4] = {0};
    CHECK(sd_store_find_call(s, s_str("fork@atlanta"), all, 4) == 2);
    CHECK((all[0] == d && all[1] == sib) || (all[0] == sib && all[1] == d));
    sd_dialog_unref(all[0]);
    sd_dialog_unref(all[1]);
    CHECK(sd_store_find_call(s, s_str("fork@atlanta"), all, 1) == 2); /* count beyond max */
    sd_dialog_unref(all[0]);
    CHECK(sd_store_find_call(s, s_str("nope"), all, 4) == 0);
    /* the sibling is in the store: adding it again is refused */
    CHECK(sd_store_add(s, sib, &e) == SD_EEXIST);
    check_invariants(s);
    sfree(r1);
    sfree(r2);
    sd_dialog_unref(sib);
    sd_dialog_unref(d);
    sd_store_unref(s);
}

/* A NONE dialog forked with To tag X (the sibling in the store) then
 * handed a response with tag X: taking the tag would give two live
 * dialogs one ID; receive refuses (SD_EEXIST) and changes nothing. */
TEST(store_rekey_refuses_a_siblings_tag)
{
    sd_dlg_env env;
    sd_dlg_env_default(&env);
    sd_store *s = new_store(NULL, NULL, 1, 0);
    sd_dialog *d = s_uac_stored(&env, s, "dup@atlanta", "a1"), *sib = NULL, *g;
    smsg *r[2] = {s_response(180, "dup@atlanta", "a1", "x1"), s_response(200, "dup@atlanta", "a1", "x1")};
    sd_error e;
    CHECK(sd_dialog_fork(d, r[0]->buf, &r[0]->m, &sib, &e) == SD_OK);
    for (int i = 0; i < 2; i++) {
        CHECK(s_recv(d, r[i]) == SD_EEXIST);
        CHECK(sd_dialog_state(d) == SD_DLG_NONE);
        g = sd_store_find(s, r[i]->buf, &r[i]->m); /* the response is the sibling's */
        CHECK(g == sib);
        sd_dialog_unref(g);
    }
    CHECK(sd_store_len(s) == 2);
    check_invariants(s);
    g = sd_store_get(s, s_str("dup@atlanta"), s_str("a1"), s_str(""));
    CHECK(g == d);
    sd_dialog_unref(g);
    /* out of the store, nothing stops it */
    CHECK(sd_store_remove(s, d) == SD_OK);
    CHECK(s_recv(d, r[1]) == SD_OK);
    CHECK(sd_dialog_state(d) == SD_DLG_CONFIRMED);
    sfree(r[0]);
    sfree(r[1]);
    sd_dialog_unref(sib);
    sd_dialog_unref(d);
    sd_store_unref(s);
}

/* RFC 3891 3 / RFC 4538: Replaces and Target-Dialog name the tags from
 * the sender's side; find_tags tries both orientations. */
TEST(store_find_tags_both_orientations)
{
    sd_dlg_env env;
    sd_dlg_env_default(&env);
    sd_store *s = new_store(NULL, NULL, 64, 0);
    sd_dialog *d = s_uac_confirmed(&env, "rep@atlanta", "a1", "b1");
    sd_error e;
    CHECK(sd_store_add(s, d, &e) == SD_OK);
    sd_dialog *g = sd_store_find_tags(s, s_str("rep@atlanta"), s_str("a1"), s_str("b1"));
    CHECK(g == d);
    sd_dialog_unref(g);
    g = sd_store_find_tags(s, s_str("rep@atlanta"), s_str("b1"), s_str("a1"));
    CHECK(g == d);
    sd_dialog_unref(g);
    CHECK(sd_store_find_tags(s, s_str("rep@atlanta"), s_str("a1"), s_str("a1")) == NULL);
    CHECK(sd_store_find_tags(s, s_str("rep@atlanta"), s_str("b1"), s_str("x")) == NULL);
    sd_dialog_unref(d);
    sd_store_unref(s);
}

/* In-dialog requests carry our tag in To (RFC 3261 12.2.2); a request
 * without To tag (the creating INVITE again, its CANCEL) finds the UAS
 * dialog it created. */
TEST(store_find_requests)
{
    sd_dlg_env env;
    sd_dlg_env_default(&env);
    sd_store *s = new_store(NULL, NULL, 64, 0);
    sd_dialog *d = s_uac_confirmed(&env, "req@atlanta", "a1", "b1");
    sd_error e;
    CHECK(sd_store_add(s, d, &e) == SD_OK);
    smsg *bye = s_bye_from_bob("req@atlanta", "a1", "b1");
    sd_dialog *g = sd_store_find(s, bye->buf, &bye->m);
    CHECK(g == d);
    sd_dialog_unref(g);
    smsg *stray = s_bye_from_bob("req@atlanta", "zz", "b1");
    CHECK(sd_store_find(s, stray->buf, &stray->m) == NULL);
    /* UAS side */
    smsg *inv = s_invite("uas@atlanta", "f9");
    sd_dialog *u = NULL;
    CHECK(sd_dialog_new_uas(&env, inv->buf, &inv->m, s_str("sip:bob@192.0.2.4"), s_str("t9"), &u, &e) == SD_OK);
    CHECK(sd_store_add(s, u, &e) == SD_OK);
    g = sd_store_find(s, inv->buf, &inv->m);
    CHECK(g == u);
    sd_dialog_unref(g);
    g = sd_store_get(s, s_str("uas@atlanta"), s_str("t9"), s_str("f9"));
    CHECK(g == u);
    sd_dialog_unref(g);
    sd_store_stats st;
    sd_store_stats_get(s, &st, NULL);
    CHECK(st.misses == 1);
    CHECK(st.lookups >= 4);
    sfree(bye);
    sfree(stray);
    sfree(inv);
    sd_dialog_unref(u);
    sd_dialog_unref(d);
    sd_store_unref(s);
}

/* A dialog that terminates leaves the live view in the same step; its ID
 * is remembered for tombstone_ns (64*T1), then forgotten. */
TEST(store_terminated_leave_and_tombstone)
{
    fclock c = {1000};
    removed_log r = {0, NULL};
    sd_dlg_env env;
    sd_dlg_env_default(&env);
    sd_store *s = new_store(&c, &r, 8, 0);
    sd_dialog *d = s_uac_confirmed(&env, "end@atlanta", "a1", "b1");
    sd_error e;
    CHECK(sd_store_add(s, d, &e) == SD_OK);
    smsg *bye = s_bye_from_bob("end@atlanta", "a1", "b1");
    sd_buf reply;
    sd_buf_init(&reply);
    CHECK(sd_dialog_receive(d, bye->buf, &bye->m, SD_RECV_AUTO_ANSWER, &reply, &e) == SD_OK);
    CHECK(sd_dialog_state(d) == SD_DLG_TERMINATED);
    CHECK(sd_store_len(s) == 0);
    CHECK(r.n == 1 && r.last == d);
    CHECK(sd_store_get(s, s_str("end@atlanta"), s_str("a1"), s_str("b1")) == NULL);
    CHECK(sd_store_find(s, bye->buf, &bye->m) == NULL);
    sd_store_ended_info info;
    CHECK(sd_store_ended(s, s_str("end@atlanta"), s_str("b1"), s_str("a1"), &info) == 1);
    CHECK(info.how == SD_DE_BYE_RECEIVED && info.state == SD_DLG_TERMINATED && info.method == SD_M_BYE);
    CHECK(sd_store_ended(s, s_str("end@atlanta"), s_str("a1"), s_str("b1"), NULL) == 1);
    CHECK(sd_store_ended(s, s_str("end@atlanta"), s_str("a1"), s_str("x"), NULL) == 0);
    /* a terminated dialog cannot come back */
    CHECK(sd_store_add(s, d, &e) == SD_ESTATE);
    check_invariants(s);
    c.t += 32LL * 1000000000LL - 1;
    CHECK(sd_store_ended(s, s_str("end@atlanta"), s_str("a1"), s_str("b1"), NULL) == 1);
    c.t += 1;
    CHECK(sd_store_ended(s, s_str("end@atlanta"), s_str("a1"), s_str("b1"), NULL) == 0);
    /* the next write on the shard drops it from the table */
    sd_dialog *d2 = s_uac_confirmed(&env, "end@atlanta", "a2", "b2");
    CHECK(sd_store_add(s, d2, &e) == SD_OK);
    sd_store_stats st;
    sd_store_stats_get(s, &st, NULL);
    CHECK(st.tombstones == 0 && st.live == 1);
    check_invariants(s);
    /* close ends it too, with a tombstone */
    sd_dialog_close(d2);
    CHECK(sd_store_len(s) == 0 && r.n == 2);
    CHECK(sd_store_ended(s, s_str("end@atlanta"), s_str("a2"), s_str("b2"), &info) == 1 && info.how == SD_DE_CLOSE);
    sd_buf_free(&reply);
    sfree(bye);
    sd_dialog_unref(d2);
    sd_dialog_unref(d);
    sd_store_unref(s);
}

/* A final non-2xx to the creating INVITE terminates a NONE dialog: it
 * leaves the store. */
TEST(store_failed_call_leaves)
{
    sd_dlg_env env;
    sd_dlg_env_default(&env);
    removed_log r = {0, NULL};
    sd_store *s = new_store(NULL, &r, 64, 0);
    sd_dialog *d = s_uac(&env, "busy@atlanta", "a1");
    sd_error e;
    CHECK(sd_store_add(s, d, &e) == SD_OK);
    smsg *busy = s_response(486, "busy@atlanta", "a1", "b1");
    CHECK(s_recv(d, busy) == SD_OK);
    CHECK(sd_dialog_state(d) == SD_DLG_TERMINATED);
    CHECK(sd_store_len(s) == 0 && r.n == 1);
    check_invariants(s);
    sfree(busy);
    sd_dialog_unref(d);
    sd_store_unref(s);
}

TEST(store_max_dialogs_exact)
{
    sd_dlg_env env;
    sd_dlg_env_default(&env);
    sd_store *s = new_store(NULL, NULL, 2, 3);
    sd_dialog *d[4];
    char cid[32];
    sd_error e;
    for (int i = 0; i < 4; i++) {
        snprintf(cid, sizeof cid, "max-%d", i);
        d[i] = s_uac_confirmed(&env, cid, "a", "b");
    }
    for (int i = 0; i < 3; i++) CHECK(sd_store_add(s, d[i], &e) == SD_OK);
    CHECK(sd_store_add(s, d[3], &e) == SD_EOVERLOAD);
    CHECK(strstr(e.reason, "maximum of 3") != NULL);
    CHECK(sd_store_len(s) == 3);
    CHECK(sd_store_get(s, s_str("max-3"), s_str("a"), s_str("b")) == NULL); /* nothing changed */
    CHECK(sd_store_remove(s, d[0]) == SD_OK);
    CHECK(sd_store_remove(s, d[0]) == SD_ENOTFOUND);
    CHECK(sd_store_add(s, d[3], &e) == SD_OK);
    sd_store_stats st;
    sd_store_stats_get(s, &st, NULL);
    CHECK(st.rejected_overload == 1 && st.live == 3 && st.added == 4 && st.removed == 1);
    check_invariants(s);
    for (int i = 0; i < 4; i++) sd_dialog_unref(d[i]);
    sd_store_unref(s);
}

TEST(store_max_per_call)
{
    sd_dlg_env env;
    sd_dlg_env_default(&env);
    sd_store_opts o;
    sd_store_opts_default(&o);
    o.max_per_call = 2;
    sd_store *s = NULL;
    sd_error e;
    CHECK(sd_store_new(&o, &s, &e) == SD_OK);
    sd_dialog *a = s_uac_confirmed(&env, "pc", "a", "b1");
    sd_dialog *b = s_uac_confirmed(&env, "pc", "a", "b2");
    sd_dialog *c = s_uac_confirmed(&env, "pc", "a", "b3");
    CHECK(sd_store_add(s, a, &e) == SD_OK);
    CHECK(sd_store_add(s, b, &e) == SD_OK);
    CHECK(sd_store_add(s, c, &e) == SD_ELIMIT);
    CHECK(sd_store_len(s) == 2);
    sd_dialog_unref(a);
    sd_dialog_unref(b);
    sd_dialog_unref(c);
    sd_store_unref(s);
}

TEST(store_close_releases_everything)
{
    sd_dlg_env env;
    sd_dlg_env_default(&env);
    removed_log r = {0, NULL};
    sd_store *s = new_store(NULL, &r, 4, 0);
    enum { N = 300 };
    sd_dialog *d[N];
    char cid[32];
    sd_error e;
    for (int i = 0; i < N; i++) {
        snprintf(cid, sizeof cid, "close-%d", i);
        d[i] = s_uac_confirmed(&env, cid, "a", "b");
        CHECK(sd_store_add(s, d[i], &e) == SD_OK);
    }
    sd_store_close(s);
    CHECK(sd_store_is_closed(s));
    CHECK(r.n == N);
    CHECK(sd_store_len(s) == 0);
    for (int i = 0; i < N; i++) CHECK(sd_dialog_is_closed(d[i]));
    sd_store_close(s); /* idempotent */
    CHECK(r.n == N);
    sd_dialog *late = s_uac_confirmed(&env, "late", "a", "b");
    CHECK(sd_store_add(s, late, &e) == SD_ECLOSED);
    CHECK(sd_store_get(s, s_str("close-1"), s_str("a"), s_str("b")) == NULL);
    check_invariants(s);
    sd_dialog_unref(late);
    for (int i = 0; i < N; i++) sd_dialog_unref(d[i]);
    sd_store_unref(s);
}

/* Growth and backward-shift deletion keep every entry reachable: one
 * shard, 5,000 dialogs (many rehashes), every third removed. */
TEST(store_growth_and_deletion_invariants)
{
    sd_dlg_env env;
    sd_dlg_env_default(&env);
    sd_store *s = new_store(NULL, NULL, 1, 0);
    enum { N = 5000 };
    sd_dialog **d = malloc(sizeof *d * N);
    char cid[32];
    sd_error e;
    for (int i = 0; i < N; i++) {
        snprintf(cid, sizeof cid, "grow-%d@h", i);
        d[i] = s_uac_confirmed(&env, cid, "a", "b");
        CHECK(sd_store_add(s, d[i], &e) == SD_OK);
    }
    check_invariants(s);
    for (int i = 0; i < N; i += 3) CHECK(sd_store_remove(s, d[i]) == SD_OK);
    check_invariants(s);
    int found = 0;
    for (int i = 0; i < N; i++) {
        snprintf(cid, sizeof cid, "grow-%d@h", i);
        sd_dialog *g = sd_store_get(s, s_str(cid), s_str("a"), s_str("b"));
        if (g == d[i]) found++;
        CHECK((g != NULL) == (i % 3 != 0));
        sd_dialog_unref(g);
    }
    CHECK(found == N - (N + 2) / 3);
    CHECK(sd_store_len(s) == (size_t)found);
    sd_dialog **all = NULL;
    size_t n = 0;
    CHECK(sd_store_list(s, &all, &n) == SD_OK);
    CHECK(n == (size_t)found);
    for (size_t i = 0; i < n; i++) sd_dialog_unref(all[i]);
    free(all);
    sd_store_shard_stats sh[1];
    sd_store_stats st;
    sd_store_stats_get(s, &st, sh);
    CHECK(sh[0].dialogs == (size_t)found && sh[0].capacity >= (size_t)found * 4 / 3);
    CHECK(sh[0].longest_probe >= 1);
    for (int i = 0; i < N; i++) sd_dialog_unref(d[i]);
    free(d);
    sd_store_unref(s);
}

/* The store drops its references: after remove and unref, the dialog's
 * only reference is the caller's (ASan/valgrind would see a leak or a
 * double free otherwise). */
TEST(store_remove_keeps_dialog_usable)
{
    sd_dlg_env env;
    sd_dlg_env_default(&env);
    sd_store *s = new_store(NULL, NULL, 64, 0);
    sd_dialog *d = s_uac_confirmed(&env, "keep@atlanta", "a1", "b1");
    sd_error e;
    CHECK(sd_store_add(s, d, &e) == SD_OK);
    sd_store_unref(s); /* the last reference: closes the store, which closes d */
    CHECK(sd_dialog_is_closed(d));
    sd_dlg_snap *snap = NULL;
    CHECK(sd_dialog_snapshot(d, &snap, &e) == SD_OK);
    free(snap);
    sd_dialog_unref(d);
}
