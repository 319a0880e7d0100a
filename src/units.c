#include "config.h"

#include "units.h"
