/*
 * rng.h: a small seeded generator (splitmix64) for the property tests, so
 * that every run draws the same cases. Include once per suite; seed it by
 * setting rng_state.
 */
#ifndef TESTS_RNG_H
#define TESTS_RNG_H

#include <stdint.h>

static uint64_t rng_state;

static uint32_t
rng(void)
{
	uint64_t z;

	z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

#endif
