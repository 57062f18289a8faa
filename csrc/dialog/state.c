/*
 * state.c - every dialog state transition, in one table.
 *
 * Rules (RFC 3261):
 *  - A dialog is created by a 101-199 response with a To tag (early) or a
 *    2xx (confirmed) to the creating request (12.1). Until then it is
 *    "none": a UAC that sent the request, or a UAS that received it.
 *  - More provisional responses keep an early dialog early (12.1.2 allows
 *    several, e.g. 180 then 183); a 2xx confirms it (13.2.2.4).
 *  - A 3xx-6xx final response to the creating request terminates a none or
 *    early dialog (12.3, 13.2.2.3). It cannot end a confirmed one: the
 *    creating transaction is over by then.
 *  - Sending BYE moves an early or confirmed dialog to terminating (15.1.1:
 *    the caller may BYE an early dialog); its final response, whatever the
 *    code, terminates it. Receiving a valid BYE terminates at once (15.1.2).
 *  - A 481 or 408 to any in-dialog request terminates it (12.2.1.2).
 *  - A timer that gives up, or close(), terminates from any live state.
 *  - Nothing leaves terminated, and nothing moves back.
 */
#include "sipdialog/dialog.h"

#define N SD_DLG_NONE
#define E SD_DLG_EARLY
#define C SD_DLG_CONFIRMED
#define G SD_DLG_TERMINATING
#define T SD_DLG_TERMINATED
#define X (-1)

/* next[event][state] */
static const signed char next[SD_DE__NEVENTS][SD_DLG__NSTATES] = {
    /*                      none early confirmed terminating terminated */
    [SD_DE_PROVISIONAL]  = {E,   E,    X,        X,          X},
    [SD_DE_SUCCESS]      = {C,   C,    C,        X,          X},
    [SD_DE_FAILURE]      = {T,   T,    X,        X,          X},
    [SD_DE_BYE_SENT]     = {X,   G,    G,        X,          X},
    [SD_DE_BYE_RECEIVED] = {X,   T,    T,        T,          X},
    [SD_DE_BYE_DONE]     = {X,   X,    X,        T,          X},
    [SD_DE_ENDED]        = {X,   T,    T,        T,          X},
    [SD_DE_TIMEOUT]      = {T,   T,    T,        T,          X},
    [SD_DE_CLOSE]        = {T,   T,    T,        T,          X},
};

int sd_dlg_next_state(sd_dlg_state from, sd_dlg_event event)
{
    if ((unsigned)from >= SD_DLG__NSTATES || (unsigned)event >= SD_DE__NEVENTS) return -1;
    return next[event][from];
}

const char *sd_dlg_state_name(sd_dlg_state s)
{
    static const char *const names[SD_DLG__NSTATES] = {"none", "early", "confirmed", "terminating", "terminated"};
    return (unsigned)s < SD_DLG__NSTATES ? names[s] : "invalid";
}

const char *sd_dlg_event_name(sd_dlg_event e)
{
    static const char *const names[SD_DE__NEVENTS] = {
        "provisional", "success", "failure", "bye-sent", "bye-received",
        "bye-done", "ended", "timeout", "close"};
    return (unsigned)e < SD_DE__NEVENTS ? names[e] : "invalid";
}
