/* SIGHUP in an agent (agent_int.h). */
#define PK_LOG_MODULE "agent"
#include "agent_int.h"
#include "log.h"
#include "pcktr.h"

#include <string.h>

/* RELAY_CURVE_SECRETKEY names a file (rather than holding the key itself, as load_key tells). */
static int
secret_key_is_file(const char *value)
{
    char key[PK_KEY_Z85_LEN + 1], why[PK_ERRBUF_SIZE];

    if (value == NULL || value[0] == '\0')
        return 0;
    return strlen(value) != PK_KEY_Z85_LEN ||
           pk_keys_parse_text(value, "secret-key", key, why) != 0;
}

/*
 * SIGHUP (systemctl reload): one line, and capture goes on (the signal only wakes the loop).
 * Logs go to stderr, so there is no log file to re-open. A RELAY_CURVE_SECRETKEY file is read
 * again to say whether it still holds a usable key; a key that changed applies from the next
 * start: libzmq copies a socket's CURVE keys into each connection when zmq_connect sets it up,
 * and its reconnects reuse that copy (session_base_t owns an options_t), so a live socket
 * cannot take a new key without a disconnect that would drop the messages queued on it.
 */
void
pk_agent_on_hup(void *data)
{
    struct agent *a = data;
    const char *path = a->cfg->relay_curve_secretkey;
    struct pk_log_fields ev = {.event = "reload"};
    struct pk_curve_keys fresh;
    char errbuf[PK_ERRBUF_SIZE];

    if (!a->keys->enabled || !secret_key_is_file(path)) {
        pk_info_with(&ev, "SIGHUP: nothing to reload (no RELAY_CURVE_SECRETKEY file; logs go to "
                          "stderr); capturing on");
        return;
    }
    if (pk_keys_load(a->cfg, &fresh, errbuf) != 0) {
        ev.event = "key_reload_failed";
        pk_warn_with(&ev, "SIGHUP: %s; the key in force stays (public key %s); capturing on",
                     errbuf, a->keys->public_key);
    } else if (strcmp(fresh.public_key, a->keys->public_key) == 0) {
        pk_info_with(&ev,
                     "SIGHUP: RELAY_CURVE_SECRETKEY=\"%s\" read again: the same key (public "
                     "key %s); capturing on",
                     path, a->keys->public_key);
    } else {
        ev.event = "key_changed";
        pk_warn_with(&ev,
                     "SIGHUP: RELAY_CURVE_SECRETKEY=\"%s\" now holds another key (public key "
                     "%s); it applies from the agent's next start (libzmq keeps a "
                     "connection's keys across reconnects): this run keeps public key %s; "
                     "capturing on",
                     path, fresh.public_key, a->keys->public_key);
    }
    pk_keys_free(&fresh);
}
