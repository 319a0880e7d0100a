#include "config.h"

#include "spawn.h"
