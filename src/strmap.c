#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "xmalloc.h"

/* Open addressing with linear probing; capacity a power of two, at most 70%
 * full. A slot is empty when its key is NULL. */
struct strmap_slot {
	const char	*key;
	size_t		 value;
};

struct strmap {
	struct strmap_slot	*slot;
	size_t			 cap;		/* power of two */
	size_t			 count;
};

/* FNV-1a, 64 bits. */
static uint64_t
strmap_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	/* Mix every bit into the low ones the index uses (murmur3 fmix64):
	 * keys such as "n00017" differ in their last bytes only. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static size_t
strmap_capacity(size_t n)
{
	size_t cap = 16;

	while (cap - cap / 10 * 3 <= n) {	/* keep n below 70% */
		if (cap > SIZE_MAX / 4)
			break;
		cap *= 2;
	}
	return cap;
}

struct strmap *
strmap_new(size_t n)
{
	struct strmap *m = xmalloc(sizeof *m);

	m->cap = strmap_capacity(n);
	m->slot = xcalloc(m->cap, sizeof *m->slot);
	m->count = 0;
	return m;
}

void
strmap_free(struct strmap *m)
{
	if (m == NULL)
		return;
	free(m->slot);
	free(m);
}

static struct strmap_slot *
strmap_lookup(const struct strmap *m, const char *key, uint64_t h)
{
	size_t mask = m->cap - 1, i = (size_t)h & mask;
	struct strmap_slot *s;

	for (;;) {
		s = &m->slot[i];
		/* no hash kept in the slot: 16 bytes, not 24, a slot of a
		 * million-node manifest's ids; a probe compares the key */
		if (s->key == NULL || strcmp(s->key, key) == 0)
			return s;
		i = (i + 1) & mask;
	}
}

static void
strmap_grow(struct strmap *m)
{
	struct strmap_slot *old = m->slot, *s;
	size_t oldcap = m->cap, i;

	m->cap *= 2;
	m->slot = xcalloc(m->cap, sizeof *m->slot);
	for (i = 0; i < oldcap; i++) {
		if (old[i].key == NULL)
			continue;
		s = strmap_lookup(m, old[i].key, strmap_hash(old[i].key));
		*s = old[i];
	}
	free(old);
}

int
strmap_put(struct strmap *m, const char *key, size_t value, size_t *old)
{
	uint64_t h = strmap_hash(key);
	struct strmap_slot *s;

	s = strmap_lookup(m, key, h);
	if (s->key != NULL) {
		if (old != NULL)
			*old = s->value;
		return 1;
	}
	if ((m->count + 1) * 10 > m->cap * 7) {
		strmap_grow(m);
		s = strmap_lookup(m, key, h);
	}
	s->key = key;
	s->value = value;
	m->count++;
	return 0;
}

int
strmap_set(struct strmap *m, const char *key, size_t value)
{
	uint64_t h = strmap_hash(key);
	struct strmap_slot *s;

	s = strmap_lookup(m, key, h);
	if (s->key != NULL) {
		s->key = key;
		s->value = value;
		return 1;
	}
	return strmap_put(m, key, value, NULL);
}

int
strmap_get(const struct strmap *m, const char *key, size_t *value)
{
	const struct strmap_slot *s;

	s = strmap_lookup(m, key, strmap_hash(key));
	if (s->key == NULL)
		return 0;
	if (value != NULL)
		*value = s->value;
	return 1;
}

size_t
strmap_count(const struct strmap *m)
{
	return m->count;
}
