/* A string-keyed open-addressing hash table (keys are borrowed, not copied). */
#ifndef DAGEXEC_STRMAP_H
#define DAGEXEC_STRMAP_H

#include <stddef.h>

struct strmap;

/* A new empty map sized for about n keys. */
struct strmap *strmap_new(size_t n);
/* Free the table (not the keys). NULL is fine. */
void strmap_free(struct strmap *m);
/* Insert key -> value. Returns 0, or 1 (and leaves the map as it was) when
 * the key is already there; *old then holds its value when old is not NULL.
 * The key must stay valid as long as the map. */
int strmap_put(struct strmap *m, const char *key, size_t value, size_t *old);
/* Insert key -> value, or replace the key and value already there. Returns
 * 0 when inserted, 1 when replaced. */
int strmap_set(struct strmap *m, const char *key, size_t value);
/* Look key up: 1 and *value, or 0 when absent. */
int strmap_get(const struct strmap *m, const char *key, size_t *value);
/* Number of keys. */
size_t strmap_count(const struct strmap *m);

#endif
