#include "config.h"

#include "sched.h"
