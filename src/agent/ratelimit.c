/* RELAY_RATE_LIMIT's token bucket (ratelimit.h). */
#include "ratelimit.h"

void
pk_bucket_init(struct pk_bucket *b, uint64_t rate, uint64_t burst, uint64_t now_ns)
{
    b->rate = rate;
    b->burst = (double)burst;
    b->tokens = b->burst;
    b->last_ns = now_ns;
}

static void
refill(struct pk_bucket *b, uint64_t now_ns)
{
    if (now_ns > b->last_ns) {
        b->tokens += (double)(now_ns - b->last_ns) * (double)b->rate / 1e9;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
    }
    b->last_ns = now_ns;
}

/* What a batch of len bytes lacks now (the burst at most): > 0 when it must wait. */
static double
shortfall(struct pk_bucket *b, uint64_t len, uint64_t now_ns)
{
    refill(b, now_ns);
    return ((double)len < b->burst ? (double)len : b->burst) - b->tokens;
}

int
pk_bucket_allows(struct pk_bucket *b, uint64_t len, uint64_t now_ns)
{
    return b->rate == 0 || shortfall(b, len, now_ns) <= 0;
}

uint64_t
pk_bucket_wait_ms(struct pk_bucket *b, uint64_t len, uint64_t now_ns)
{
    double need;

    if (b->rate == 0 || (need = shortfall(b, len, now_ns)) <= 0)
        return 0;
    return (uint64_t)(need * 1000.0 / (double)b->rate) + 1;
}

void
pk_bucket_charge(struct pk_bucket *b, uint64_t len, uint64_t now_ns)
{
    if (b->rate == 0)
        return;
    refill(b, now_ns);
    b->tokens -= (double)len;
}
