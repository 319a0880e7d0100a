#include "config.h"

#include "timeline.h"
