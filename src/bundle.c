#include "config.h"

#include "bundle.h"
