#include "config.h"

#include "manifest.h"
