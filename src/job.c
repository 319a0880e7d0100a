#include "config.h"

#include "job.h"
