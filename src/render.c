#include "config.h"

#include "render.h"
