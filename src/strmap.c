#include "config.h"

#include "strmap.h"
