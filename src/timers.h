/* timers.h: keeping the engine's timer heap small. See timers.c. */
#pragma once

struct engine;

/* Drops stale timer entries when the heap has grown by a quarter since the last time. */
void timers_compact(struct engine *e);
