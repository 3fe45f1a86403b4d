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

int
pk_bucket_allows(struct pk_bucket *b, uint64_t len, uint64_t now_ns)
{
    double need;

    if (b->rate == 0)
        return 1;
    refill(b, now_ns);
    need = (double)len < b->burst ? (double)len : b->burst;
    return b->tokens >= need;
}

uint64_t
pk_bucket_wait_ms(struct pk_bucket *b, uint64_t len, uint64_t now_ns)
{
    double need;

    if (b->rate == 0)
        return 0;
    refill(b, now_ns);
    need = ((double)len < b->burst ? (double)len : b->burst) - b->tokens;
    return need <= 0 ? 0 : (uint64_t)(need * 1000.0 / (double)b->rate) + 1;
}

void
pk_bucket_charge(struct pk_bucket *b, uint64_t len, uint64_t now_ns)
{
    if (b->rate == 0)
        return;
    refill(b, now_ns);
    b->tokens -= (double)len;
}
